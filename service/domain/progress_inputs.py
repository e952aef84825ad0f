"""The values the progress engine works on, and the calendar arithmetic they share.

Days are handled as proleptic ordinals (``date.toordinal()``) inside the engine: integer
arithmetic is what lets a recompute over a million wins stay within its time budget.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate, compress, count, islice, repeat
from operator import and_, attrgetter, eq, ge, is_not, itemgetter, le, lt, mul, not_
from typing import Any, Literal, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.domain.team_rules import TeamRules
from service.domain.wins import COUNTED_KINDS, WinKind, WinStatus

# Wins that people earn. Engine-made wins (streaks, badges, milestones, challenges) and sprint
# events are excluded so that feeding the engine's own output back in never changes the result.
MON_TO_FRI: frozenset[int] = frozenset(range(5))


@dataclass(frozen=True, slots=True)
class RecordedWin:
    """A stored win as the progress engine sees it."""

    id: int
    kind: WinKind
    status: WinStatus
    member_ref: str | None  # stable person id; None for team-level wins
    occurred_at: datetime  # must be timezone-aware
    points: float | None = None
    source_key: str = ""
    issue_type: str | None = None
    sprint_ref: str | None = None
    is_bug: bool = False
    kudos_from: str | None = None  # for KUDOS wins: who gave it (member_ref is the receiver)
    labels: tuple[str, ...] = ()
    project_key: str | None = None
    is_subtask: bool = False


@dataclass(frozen=True, slots=True)
class SprintScope:
    """What a sprint committed to and what got done, as of now."""

    sprint_ref: str
    name: str
    start: datetime | None
    end: datetime | None
    completed_at: datetime | None
    committed_issues: frozenset[str]
    committed_points: float
    done: Mapping[str, tuple[datetime, float | None]]  # issue key -> (done_at, points)
    assignees: Mapping[str, str | None]  # issue key -> member_ref
    goal_met_confirmed_at: datetime | None = None
    goal_met_confirmed_by: str | None = None
    # ``SprintTally.of`` this scope, when a store kept it from an earlier recompute of the same issues.
    # Such a *summarised* scope leaves ``committed_issues`` and ``assignees`` empty, and holds in ``done``
    # at least the issues that closed as the oldest open one (all that ``oldest_open_closed`` reads there).
    tally: SprintTally | None = None


@dataclass(frozen=True, slots=True)
class StreakFreeze:
    """A day a person protected: it neither breaks nor extends their streak."""

    member_ref: str
    day: date


@dataclass(frozen=True, slots=True)
class IssueAge:
    """When an issue was created and (if so) closed; feeds the oldest_open_closed milestone."""

    issue_key: str
    created_at: datetime
    done_at: datetime | None


_REMAINDER_WEEKDAYS = (6, 0, 1, 2, 3, 4, 5)  # weekday of ordinal 0, 1, ... 6 (ordinal 1 is a Monday)


@dataclass(frozen=True, slots=True)
class TeamCalendar:
    """The team's time zone and working days; all day-level rules are evaluated in it."""

    timezone: str = "UTC"
    holidays: frozenset[date] = frozenset()
    working_weekdays: frozenset[int] = MON_TO_FRI  # date.weekday() numbers, Monday = 0
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _per_week: int = field(init=False, repr=False, compare=False)
    _remainder: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _holiday_ordinals: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            tz = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone: unknown IANA time zone {self.timezone!r}") from exc
        if not self.working_weekdays or not set(self.working_weekdays) <= set(range(7)):
            raise ValueError("working_weekdays: must be a non-empty set of weekday numbers 0 (Mon)..6 (Sun)")
        object.__setattr__(self, "_tz", tz)
        object.__setattr__(self, "_per_week", len(self.working_weekdays))
        # _remainder[r] = working days among the first r days of a 7-day block starting at ordinal 0.
        remainder = [0]
        for weekday in _REMAINDER_WEEKDAYS:
            remainder.append(remainder[-1] + (weekday in self.working_weekdays))
        object.__setattr__(self, "_remainder", tuple(remainder))
        holidays = sorted(d.toordinal() for d in self.holidays if d.weekday() in self.working_weekdays)
        object.__setattr__(self, "_holiday_ordinals", tuple(holidays))

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    def local_date(self, instant: datetime) -> date:
        if instant.tzinfo is None:
            raise ValueError(f"expected a timezone-aware datetime, got naive {instant.isoformat()}")
        return instant.astimezone(self._tz).date()

    def start_of_day(self, day: date) -> datetime:
        """The first instant of ``day`` in the team's zone, in UTC.

        With fold=0 a midnight skipped by a DST jump resolves to the jump itself, which is
        exactly when that local day starts.
        """
        return datetime.combine(day, time(0), tzinfo=self._tz).astimezone(UTC)

    def is_working_ordinal(self, ordinal: int) -> bool:
        if (ordinal + 6) % 7 not in self.working_weekdays:
            return False
        i = bisect_left(self._holiday_ordinals, ordinal)
        return not (i < len(self._holiday_ordinals) and self._holiday_ordinals[i] == ordinal)

    def is_working_day(self, day: date) -> bool:
        return self.is_working_ordinal(day.toordinal())

    def working_rank(self, ordinal: int) -> int:
        """How many working days lie in [0, ordinal]; differences count working days in O(log h)."""
        weeks, rest = divmod(ordinal + 1, 7)
        return weeks * self._per_week + self._remainder[rest] - bisect_right(self._holiday_ordinals, ordinal)

    def working_days_between(self, first: int, last: int) -> int:
        """Working days strictly between two day ordinals."""
        if last - first <= 1:
            return 0
        return self.working_rank(last - 1) - self.working_rank(first)

    def nth_working_day_from(self, day: date, n: int) -> date:
        """The n-th working day counting ``day`` itself if it is one (n ≥ 1)."""
        ordinal = day.toordinal()
        found = 0
        while True:
            if self.is_working_ordinal(ordinal):
                found += 1
                if found == n:
                    return date.fromordinal(ordinal)
            ordinal += 1


# A committed issue finished within its sprint: (done_at, issue key, points).
FinishedIssue = tuple[datetime, str, float | None]
PROGRESS_STEPS: tuple[int, ...] = (25, 50, 75, 100)

_done_at = itemgetter(0)  # of a ``SprintScope.done`` value, and of a FinishedIssue
_points = itemgetter(1)
_finished_key = itemgetter(1)
_finished_points = itemgetter(2)


@dataclass(frozen=True, slots=True)
class Crossing:
    """A progress step reached, and the finished issue that reached it."""

    step: int  # percent of the committed scope
    done_at: datetime
    issue_key: str


@dataclass(frozen=True, slots=True)
class MemberFinish:
    """One person's committed issues in a sprint, and how many of them were finished by its completion."""

    member_ref: str
    committed: int
    finished: int
    last_key: str | None  # the last finished one in (done_at, issue key) order: it completed the set


@dataclass(frozen=True, slots=True)
class SprintTally:
    """What the sprint rules read from one sprint's issues, derived once from its scope.

    A few values per sprint instead of its thousands of issues, so that a store can keep it for the
    sprints whose issues did not change since the last recompute (``SprintScope.tally``).

    ``basis`` and ``crossings``: progress is measured by points when the sprint committed points
    (> 0) and every finished committed issue carries points, otherwise by issue count; each step
    reached is crossed by a committed issue finished by the sprint's completion, in (done_at, issue
    key) order. ``completed_points``: points of every issue finished by completion, committed or added
    later (velocity_best). ``members``: each assignee of committed issues, by member ref
    (sprint_finisher).
    """

    basis: Literal["points", "count"]
    crossings: tuple[Crossing, ...]
    completed_points: float
    members: tuple[MemberFinish, ...]

    @classmethod
    def of(cls, scope: SprintScope) -> SprintTally:
        if scope.tally is not None:
            return scope.tally
        # A sprint holds thousands of issues scattered in memory, so the cost is touching them:
        # each column is taken once, in ``done`` order (the store's, usually by done_at), with
        # C-level ``map``/``compress``.
        done = scope.done
        keys = list(done)
        entries = list(done.values())
        done_ats = list(map(_done_at, entries))
        points = list(map(_points, entries))
        committed = list(map(scope.committed_issues.__contains__, keys))
        rows = zip(done_ats, keys, points, strict=True)
        every_issue_committed = all(committed)
        finished: list[FinishedIssue] = list(rows if every_issue_committed else compress(rows, committed))
        finished.sort()  # plain tuples: keys are unique, so points never decide the order
        completed_at = scope.completed_at
        if completed_at is None:
            late = False
        elif every_issue_committed:
            late = bool(finished) and finished[-1][0] > completed_at  # sorted: the latest is last
        else:
            late = any(map(completed_at.__lt__, done_ats))
        estimated: Iterable[bool] = map(is_not, points, repeat(None))
        if late:
            assert completed_at is not None  # narrows the type
            # Finished after the sprint closed: neither this sprint's progress nor its velocity.
            del finished[bisect_right(finished, completed_at, key=_done_at) :]
            estimated = map(and_, estimated, map(completed_at.__ge__, done_ats))
        basis: Literal["points", "count"] = (
            "points"
            if scope.committed_points > 0 and all(map(is_not, map(_finished_points, finished), repeat(None)))
            else "count"
        )
        crossings = tuple(
            Crossing(step, finished[i][0], finished[i][1]) for step, i in _crossings(scope, finished, basis)
        )
        return cls(basis, crossings, sum(compress(points, estimated)), _member_finishes(scope, finished))


def _crossings(
    scope: SprintScope, finished: Sequence[FinishedIssue], basis: Literal["points", "count"]
) -> list[tuple[int, int]]:
    """(step, index into ``finished`` of the issue that first reached it) for each step reached.

    A step is reached once done * 100 >= step * total, compared that way so 3 of 4 issues is
    exactly 75%, free of float noise. Reaching a step implies reaching every lower one (total
    > 0), so each step's issue is simply the first that satisfies its own comparison.
    """
    crossings: list[tuple[int, int]] = []
    if not scope.committed_issues or not finished:
        return crossings
    if basis == "count":
        # Done is the issue count, an exact float: the n-th issue reaches the step when
        # n * 100 >= step * total, i.e. n = ceil(step * total / 100), no walk needed.
        total = len(scope.committed_issues)
        for step in PROGRESS_STEPS:
            needed = -(-step * total // 100)
            if needed > len(finished):
                break
            crossings.append((step, needed - 1))
        return crossings
    total_points = scope.committed_points
    # The same running float sum, added in the same order, as a loop of ``done += points`` makes.
    running = islice(accumulate(map(_finished_points, finished), initial=0.0), 1, None)
    scaled = list(map(mul, running, repeat(100)))
    start = 0
    for step in PROGRESS_STEPS:
        threshold = step * total_points
        reached = compress(count(start), map(le, repeat(threshold), islice(scaled, start, None)))
        index = next(reached, None)
        if index is None:
            break
        crossings.append((step, index))
        start = index
    return crossings


def _member_finishes(scope: SprintScope, finished: Sequence[FinishedIssue]) -> tuple[MemberFinish, ...]:
    """Each assignee's committed and finished issue counts, and the finished issue that came last."""
    assignees = scope.assignees
    if assignees.keys() == scope.committed_issues:  # as a store builds it: every issue listed is committed
        committed = Counter(assignees.values())  # no lookup per issue: a sprint runs to thousands
    else:
        committed = Counter(map(assignees.get, scope.committed_issues))
    finished_keys = list(map(_finished_key, finished))
    owners = list(map(assignees.get, finished_keys))
    finished_count = Counter(owners)
    last_key = dict(zip(owners, finished_keys, strict=True))  # later entries win: the last in order
    return tuple(
        MemberFinish(member, n, finished_count[member], last_key.get(member))
        for member, n in sorted((m, n) for m, n in committed.items() if m is not None)
    )


def is_counted(win: RecordedWin, rules: TeamRules) -> bool:
    """Whether a single win counts for streaks, badges and challenges."""
    if win.status != WinStatus.ACTIVE or win.kind not in COUNTED_KINDS:
        return False
    if win.kind != WinKind.TICKET:
        return True
    return rules.counts(win.issue_type, win.labels, win.project_key, win.points, win.is_subtask)


def sort_key(win: RecordedWin) -> tuple[datetime, int]:
    return (win.occurred_at, win.id)


_get_occurred_at = attrgetter("occurred_at")
_get_member = attrgetter("member_ref")
_get_id = attrgetter("id")


@dataclass(frozen=True, slots=True)
class WinColumns:
    """Active recorded wins as parallel columns: row ``i`` of every column is one win.

    The form a store hands over a large history in: a handful of long lists costs a fraction of a
    million ``RecordedWin`` objects to build, and the engine only ever needs a few whole wins (the
    ones that trigger a draft), which ``row`` builds on demand. ``recompute`` gives the same result
    for ``WinColumns.of(wins)`` as for ``wins``.

    Source keys are not carried (nothing in the engine reads them); ``row`` leaves them empty.
    ``labels``, ``project_keys`` and ``is_subtask`` are only read by the rules' ticket filters: a
    store may leave them out (None) when the team's rules count every ticket, and ``row`` then gives
    the defaults. Rules that do filter refuse columns without them.
    """

    ids: Sequence[int]
    kinds: Sequence[WinKind]
    member_refs: Sequence[str | None]
    occurred_at: Sequence[datetime]  # timezone-aware
    points: Sequence[float | None]
    issue_types: Sequence[str | None]
    sprint_refs: Sequence[str | None]
    is_bug: Sequence[bool]
    kudos_from: Sequence[str | None]
    labels: Sequence[tuple[str, ...]] | None = None
    project_keys: Sequence[str | None] | None = None
    is_subtask: Sequence[bool] | None = None

    def __post_init__(self) -> None:
        lengths = {len(column) for column in self._present()}
        if len(lengths) > 1:
            raise ValueError(f"columns differ in length: {sorted(lengths)}")
        filters = (self.labels, self.project_keys, self.is_subtask)
        if any(c is None for c in filters) and any(c is not None for c in filters):
            raise ValueError("labels, project_keys and is_subtask come together or not at all")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def has_ticket_filters(self) -> bool:
        return self.labels is not None

    def _present(self) -> Iterator[Sequence[object]]:
        return (column for name in _COLUMNS if (column := getattr(self, name)) is not None)

    @classmethod
    def of(cls, wins: Iterable[RecordedWin]) -> WinColumns:
        """The active wins among ``wins``, in their order (the engine ignores the others anyway)."""
        active = [w for w in wins if w.status == WinStatus.ACTIVE]
        return cls(*(list(map(attrgetter(attr), active)) for attr in _COLUMN_ATTRS))

    def row(self, i: int) -> RecordedWin:
        return RecordedWin(
            self.ids[i],
            self.kinds[i],
            WinStatus.ACTIVE,
            self.member_refs[i],
            self.occurred_at[i],
            self.points[i],
            "",
            self.issue_types[i],
            self.sprint_refs[i],
            self.is_bug[i],
            self.kudos_from[i],
            () if self.labels is None else self.labels[i],
            None if self.project_keys is None else self.project_keys[i],
            False if self.is_subtask is None else self.is_subtask[i],
        )

    def _each(self, change: Callable[[Sequence[Any]], list[Any]]) -> WinColumns:
        return WinColumns(*(None if (c := getattr(self, name)) is None else change(c) for name in _COLUMNS))

    def select(self, positions: Sequence[int]) -> WinColumns:
        """These rows, in this order."""
        return self._each(lambda column: list(map(column.__getitem__, positions)))

    def keep(self, mask: Iterable[bool]) -> WinColumns:
        """The rows whose flag is true."""
        flags = list(mask)
        return self._each(lambda column: list(compress(column, flags)))


_COLUMNS = tuple(f.name for f in fields(WinColumns))
# The RecordedWin attribute behind each column, in the same order.
_COLUMN_ATTRS = (
    "id",
    "kind",
    "member_ref",
    "occurred_at",
    "points",
    "issue_type",
    "sprint_ref",
    "is_bug",
    "kudos_from",
    "labels",
    "project_key",
    "is_subtask",
)


class _RowsOf(Sequence[RecordedWin]):
    """``WinColumns`` seen as a sequence of wins, each built when it is looked at."""

    __slots__ = ("_columns",)

    def __init__(self, columns: WinColumns) -> None:
        self._columns = columns

    def __len__(self) -> int:
        return len(self._columns)

    @overload
    def __getitem__(self, index: int) -> RecordedWin: ...
    @overload
    def __getitem__(self, index: slice) -> list[RecordedWin]: ...
    def __getitem__(self, index: int | slice) -> RecordedWin | list[RecordedWin]:
        if isinstance(index, slice):
            return [self._columns.row(i) for i in range(len(self))[index]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._columns.row(index)


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
        return cls(_RowsOf(counted), occurred, members, days, counted)

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
                i = self.members.index(member_ref, i + 1, stop)  # type: ignore[attr-defined]
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
                verdict = memo[key] = rules.counts(*key)  # type: ignore[arg-type]
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
    occurred: Sequence[datetime], members: list[str | None], calendar: TeamCalendar
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
