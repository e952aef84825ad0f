"""Counted wins in order, cut into the team's local days: what every progress rule reads."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import compress, count, islice
from operator import attrgetter, eq, ge, lt, not_

from service.domain.calendar import TeamCalendar
from service.domain.progress_inputs import RecordedWin
from service.domain.team_rules import TeamRules
from service.domain.win_columns import WinColumns, WinRows
from service.domain.wins import COUNTED_KINDS, WinKind, WinStatus

_get_occurred_at = attrgetter("occurred_at")
_get_member = attrgetter("member_ref")
_get_id = attrgetter("id")


@dataclass(frozen=True, slots=True)
class DaySlice:
    """The counted wins of one local day: ``timeline.wins[start:end]``."""

    ordinal: int
    start: int
    end: int
    members: frozenset[str | None]  # who has a counted win that day (None: team-level wins)


@dataclass(frozen=True, slots=True)
class WinTimeline:
    """Counted wins in (occurred_at, id) order, cut into local days of the team's zone.

    Built once per recompute. Columns (``occurred``, ``members``, and the ones behind ``kinds``,
    ``is_bug``, ``kudos_from`` and ``sprint_refs``) let the rules find "the n-th win of a person"
    with ``list.index`` and C-level ``map`` instead of looping over a million objects in Python.
    Built from ``WinColumns``, ``wins`` builds each win only when a rule looks at it.
    """

    wins: Sequence[RecordedWin]
    occurred: Sequence[datetime]
    members: Sequence[str | None]
    days: Sequence[DaySlice]
    columns: WinColumns | None = None  # the counted wins as columns, when built from columns

    @classmethod
    def build(
        cls, wins: Iterable[RecordedWin] | WinColumns, calendar: TeamCalendar, rules: TeamRules
    ) -> WinTimeline:
        if isinstance(wins, WinColumns):
            return cls._from_columns(wins, calendar, rules)
        counted = _counted(wins, rules)
        occurred = _sort_by_instant_then_id(counted)
        _require_aware(occurred)
        members = list(map(_get_member, counted))
        return cls(counted, occurred, members, _cut_into_days(occurred, members, calendar))

    @classmethod
    def _from_columns(cls, columns: WinColumns, calendar: TeamCalendar, rules: TeamRules) -> WinTimeline:
        counted = _counted_columns(columns, rules)
        counted = _columns_in_order(counted)
        occurred = counted.occurred_at
        _require_aware(occurred)
        members = counted.member_refs
        days = _cut_into_days(occurred, members, calendar)
        return cls(WinRows(counted), occurred, members, days, counted)

    def _column(self, name: str, attr: str) -> Sequence[object]:
        if self.columns is not None:
            return getattr(self.columns, name)  # type: ignore[no-any-return]
        return list(map(attrgetter(attr), self.wins))

    @property
    def kinds(self) -> Sequence[WinKind]:
        return self._column("kinds", "kind")  # type: ignore[return-value]

    @property
    def is_bug(self) -> Sequence[bool]:
        return self._column("is_bug", "is_bug")  # type: ignore[return-value]

    @property
    def kudos_from(self) -> Sequence[str | None]:
        return self._column("kudos_from", "kudos_from")  # type: ignore[return-value]

    @property
    def sprint_refs(self) -> Sequence[str | None]:
        return self._column("sprint_refs", "sprint_ref")  # type: ignore[return-value]

    def index_at(self, instant: datetime) -> int:
        """Index of the first win at or after ``instant``."""
        return bisect_left(self.occurred, instant)

    def nth_of_member(self, member_ref: str, n: int, start: int = 0, end: int | None = None) -> int | None:
        """Index of the n-th (1-based) win of ``member_ref`` within [start, end), or None."""
        stop = len(self.members) if end is None else end
        i = start - 1
        try:
            for _ in range(n):
                i = self.members.index(member_ref, i + 1, stop)
        except ValueError:
            return None
        return i


def _require_aware(occurred: Sequence[datetime]) -> None:
    if occurred and (occurred[0].tzinfo is None or occurred[-1].tzinfo is None):
        raise ValueError("wins must have timezone-aware occurred_at")


def _counted(wins: Iterable[RecordedWin], rules: TeamRules) -> list[RecordedWin]:
    active = WinStatus.ACTIVE
    kinds = COUNTED_KINDS
    if rules.counts_every_ticket:
        return [w for w in wins if w.status == active and w.kind in kinds]
    ticket = WinKind.TICKET
    memo: dict[tuple[object, ...], bool] = {}
    out: list[RecordedWin] = []
    for w in wins:
        if w.status != active or w.kind not in kinds:
            continue
        if w.kind == ticket:
            # Teams have a handful of distinct ticket shapes, so memoising the rule check is cheap.
            key = (w.issue_type, w.labels, w.project_key, w.points, w.is_subtask)
            verdict = memo.get(key)
            if verdict is None:
                verdict = memo[key] = rules.counts(*key)
            if not verdict:
                continue
        out.append(w)
    return out


def _counted_columns(columns: WinColumns, rules: TeamRules) -> WinColumns:
    """``_counted`` for columns (every row is active): the same verdicts, one flag per row."""
    counted_kind = list(map(COUNTED_KINDS.__contains__, columns.kinds))
    if rules.counts_every_ticket:
        return columns if all(counted_kind) else columns.keep(counted_kind)
    labels, projects, subtasks = columns.labels, columns.project_keys, columns.is_subtask
    if labels is None or projects is None or subtasks is None:
        raise ValueError("these rules filter tickets: the columns must carry labels, projects and subtasks")
    memo: dict[tuple[object, ...], bool] = {}

    def counts(kind: WinKind, *shape: object) -> bool:
        if kind != WinKind.TICKET:
            return kind in COUNTED_KINDS
        verdict = memo.get(shape)
        if verdict is None:
            verdict = memo[shape] = rules.counts(*shape)  # type: ignore[arg-type]
        return verdict

    return columns.keep(
        map(counts, columns.kinds, columns.issue_types, labels, projects, columns.points, subtasks)
    )


def _columns_in_order(columns: WinColumns) -> WinColumns:
    """The rows in (occurred_at, id) order; one comparison pass when they already are (the store's order)."""
    occurred, ids = columns.occurred_at, columns.ids
    not_increasing = compress(count(), map(ge, occurred, islice(occurred, 1, None)))
    if all(occurred[i] == occurred[i + 1] and ids[i] < ids[i + 1] for i in not_increasing):
        return columns
    order = sorted(range(len(columns)), key=lambda i: (occurred[i], ids[i]))
    return columns.select(order)


def _sort_by_instant_then_id(wins: list[RecordedWin]) -> list[datetime]:
    """Sort ``wins`` in place by (occurred_at, id); returns the occurred_at column.

    Sorting on the datetime alone (no tuple keys) is several times faster; the rare runs of
    equal instants are then ordered by id locally.
    """
    occurred = list(map(_get_occurred_at, wins))
    # One comparison pass (touching a million datetimes is the cost): the store hands wins over
    # in order, so every neighbour pair is either increasing or a tie to order by id.
    increasing = list(map(lt, occurred, islice(occurred, 1, None)))
    not_increasing = list(compress(count(), map(not_, increasing)))
    if any(occurred[i] != occurred[i + 1] for i in not_increasing):
        wins.sort(key=_get_occurred_at)
        occurred = list(map(_get_occurred_at, wins))
        tie_starts = list(compress(count(), map(eq, occurred, islice(occurred, 1, None))))
    else:
        tie_starts = not_increasing
    i = 0
    while i < len(tie_starts):
        first = tie_starts[i]
        last = first + 1
        while i + 1 < len(tie_starts) and tie_starts[i + 1] == last:
            i += 1
            last += 1
        wins[first : last + 1] = sorted(wins[first : last + 1], key=_get_id)
        i += 1
    return occurred


def _cut_into_days(
    occurred: Sequence[datetime], members: Sequence[str | None], calendar: TeamCalendar
) -> list[DaySlice]:
    # One time-zone conversion per local day that has wins, not per win: local dates are
    # monotone in the instant, so each day is a contiguous run found by bisection.
    days: list[DaySlice] = []
    i, n = 0, len(occurred)
    one_day = timedelta(days=1)
    while i < n:
        day = calendar.local_date(occurred[i])
        # max(): in the few zones whose clocks fall back across midnight, never stall.
        j = max(i + 1, bisect_left(occurred, calendar.start_of_day(day + one_day), i, n))
        days.append(DaySlice(day.toordinal(), i, j, frozenset(members[i:j])))
        i = j
    return days
