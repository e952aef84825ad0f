"""Which sprint a ticket's win belongs to, from the sprints the ticket sat in and their time windows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, compress, count, repeat


@dataclass(slots=True)
class SprintWindow:
    ref: str
    start: datetime | None
    end: datetime | None  # completed_at, else the planned end

    def holds(self, instant: datetime) -> bool:
        return (self.start is None or self.start <= instant) and (self.end is None or instant <= self.end)


@dataclass(frozen=True, slots=True)
class TicketSprints:
    """The sprints each ticket sat in, to give its win a sprint."""

    only: dict[int, str] = field(default_factory=dict)  # a ticket in one sprint: that sprint's ref
    several: dict[int, list[SprintWindow]] = field(default_factory=dict)  # the others' windows

    @property
    def any(self) -> bool:
        """Whether any ticket sat in a sprint."""
        return bool(self.only or self.several)

    @classmethod
    def of(cls, tickets: dict[int, Sequence[int]], windows: dict[int, SprintWindow]) -> TicketSprints:
        """From each sprint's ticket ids."""
        only: dict[int, str] = {}
        for sprint_id, ticket_ids in tickets.items():
            only.update(zip(ticket_ids, repeat(windows[sprint_id].ref)))
        if len(only) == sum(map(len, tickets.values())):
            return cls(only)  # the usual case: no ticket sat in two sprints
        several: dict[int, list[SprintWindow]] = {}
        counts = Counter(chain.from_iterable(tickets.values()))
        for sprint_id, ticket_ids in tickets.items():
            for ticket_id in ticket_ids:
                if counts[ticket_id] > 1:
                    several.setdefault(ticket_id, []).append(windows[sprint_id])
        return cls({t: ref for t, ref in only.items() if t not in several}, several)

    def sprint_of(self, ticket_id: int | None, instant: datetime) -> str | None:
        """The sprint a ticket was finished in: the latest-starting one whose window holds the instant."""
        ref = self.only.get(ticket_id)  # type: ignore[arg-type]
        if ref is not None or ticket_id is None:
            return ref
        windows = self.several.get(ticket_id)
        if not windows:
            return None
        holding = [w for w in windows if w.holds(instant)]
        started = holding or [w for w in windows if w.start is None or w.start <= instant] or windows
        return max(
            started, key=lambda w: (w.start or datetime.min.replace(tzinfo=UTC), _ref_order(w.ref))
        ).ref

    def refs(self, ticket_ids: Sequence[int | None], instants: Sequence[datetime]) -> list[str | None]:
        """``sprint_of`` for each (ticket, instant): a lookup, and the windows only where needed."""
        refs: list[str | None] = list(map(self.only.get, ticket_ids))  # type: ignore[arg-type]
        if self.several:
            for i in compress(count(), map(self.several.__contains__, ticket_ids)):
                refs[i] = self.sprint_of(ticket_ids[i], instants[i])
        return refs


def _ref_order(ref: str) -> tuple[int, str]:
    """Jira's sprint ids in number order (later sprints have larger ids), then the unnumbered ones."""
    return (0, ref.rjust(20, "0")) if ref.isdigit() else (1, ref)


# A sprint's issues as columns: keys, done flags, done_at, points, assignee member ids.
