"""When a ticket becomes a win, stays one, or stops being one."""

from __future__ import annotations

import enum
from dataclasses import dataclass

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
