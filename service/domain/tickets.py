"""When a ticket becomes a win, stays one, or stops being one."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

from service.domain.events import IssueChanged


class TicketOutcome(enum.StrEnum):
    STALE = "stale"  # older than what we already applied: Jira delivers late and out of order
    COMPLETED = "completed"  # the win becomes (or becomes again) active
    RETRACTED = "retracted"  # reopened or deleted: the win row stays, marked retracted
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class TicketState:
    last_event_ms: int
    win_active: bool


def decide_ticket(previous: TicketState | None, event: IssueChanged) -> TicketOutcome:
    """Apply one issue event to what we know of the ticket.

    Deciding from the current state rather than the event name makes Cloud's
    ``issue_generic`` and Server's ``issue_resolved``/``issue_closed`` behave the same,
    and makes a move between two done statuses (Resolved -> Closed) a no-op.
    """
    if previous is not None and event.timestamp_ms < previous.last_event_ms:
        return TicketOutcome.STALE
    active = previous is not None and previous.win_active
    if event.is_complete and not active:
        return TicketOutcome.COMPLETED
    if not event.is_complete and active:
        return TicketOutcome.RETRACTED
    return TicketOutcome.UNCHANGED


def ticket_title(event: IssueChanged) -> str:
    return f"{event.issue_key}: {event.summary}".strip()


@dataclass(frozen=True, slots=True)
class DoneSpell:
    """When a ticket's current spell of being done began, from its events seen in any order.

    Jira delivers late and out of order, and an event older than the latest changes none of the
    ticket's fields; but it can say when the work was finished. A win is dated by the first "done"
    event after the latest "not done" one, and credited to whoever that event credits, so a reversed
    delivery dates and credits it as the ordered one does. ``done`` holds (timestamp_ms, credited)
    of the done events after ``open_ms`` (``credited`` is the store's id of the person credited), in
    time order; a ticket sees a handful of them.
    """

    open_ms: int = -1  # the latest event that said "not done" (-1: none seen)
    done: tuple[tuple[int, int | None], ...] = ()

    def seen(self, timestamp_ms: int, complete: bool, credited: int | None) -> DoneSpell:
        if timestamp_ms <= self.open_ms:
            return self  # before the latest reopening: it says nothing about the current spell
        if not complete:
            return DoneSpell(timestamp_ms, tuple(d for d in self.done if d[0] > timestamp_ms))
        if any(ms == timestamp_ms for ms, _ in self.done):
            return self
        return DoneSpell(self.open_ms, tuple(sorted((*self.done, (timestamp_ms, credited)))))

    @property
    def began(self) -> tuple[datetime, int | None] | None:
        """When the spell began and whom that event credits; None when no done event is known."""
        if not self.done:
            return None
        ms, credited = self.done[0]
        return datetime.fromtimestamp(ms / 1000, tz=UTC), credited

    def to_json(self) -> dict[str, object]:
        return {"open_ms": self.open_ms, "done": [list(d) for d in self.done]}

    @classmethod
    def from_json(cls, stored: object) -> DoneSpell:
        if not isinstance(stored, dict):
            return cls()
        done = stored.get("done") or []
        return cls(int(stored.get("open_ms", -1)), tuple((int(ms), who) for ms, who in done))
