"""Which recorded wins a recompute reads: a store may hand over those and leave the rest.

``recompute`` walks a team's counted wins in (occurred_at, id) order, but what it makes of them
depends on few of them. Per person (and for team-level wins): the first win of each local day
(streak days and their triggers, comebacks); the first 100 wins (the count badges); the first
``bug_squasher_bugs`` bugs; the first kudos received and the first given. Per sprint: its first
win. Per challenge: every win inside its window. Any set of counted wins that holds all of these,
in the same order, gives exactly the result of the whole history: every rule finds the same win
at the same rank among the ones it looks at, and nothing reads how many wins there are beyond
those ranks. This module says how many first wins and bugs per person, where each local day
begins, and which instants the challenges cover.

That only holds for a team that counts every ticket: with ticket filters the "first" wins are
the first *counted* ones, which only the rules can tell. Stores load such teams in full.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from itertools import pairwise

from service.domain.badges import WIN_COUNT_BADGES
from service.domain.calendar import TeamCalendar
from service.domain.challenges import Challenge
from service.domain.team_rules import TeamRules

_TICK = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)


def day_starts(calendar: TeamCalendar, first: date, last: date) -> list[datetime] | None:
    """When each local day from ``first`` to ``last`` begins, and when ``last`` ends (UTC instants).

    The engine cuts the timeline at these instants, so grouping wins between consecutive starts is
    grouping them by local day, provided every instant in between has the earlier start's date.
    A clock falling back across midnight breaks that (after day D + 1 began, the date reads D
    again for a while, and the engine then gives each such win a day of its own): None, and the
    caller must not select by day.
    """
    starts = [calendar.start_of_day(first + timedelta(days=n)) for n in range((last - first).days + 2)]
    for n, (start, end) in enumerate(pairwise(starts)):
        if not _one_span(calendar, first + timedelta(days=n), start, end):
            return None
    return starts


def _one_span(calendar: TeamCalendar, day: date, start: datetime, end: datetime) -> bool:
    """Whether every instant of [start, end) falls on ``day`` in the team's zone."""
    if end <= start:
        return False
    last = end - _TICK
    if calendar.local_date(start) != day or calendar.local_date(last) != day:
        return False
    # Between offset changes local time only moves forward, so checking both sides of each change
    # covers the whole span.
    return all(
        calendar.local_date(change - _TICK) == day and calendar.local_date(change) == day
        for change in _offset_changes(calendar, start, last)
    )


def _offset_changes(calendar: TeamCalendar, lo: datetime, hi: datetime) -> Iterator[datetime]:
    """Instants in (lo, hi] at which the zone's UTC offset changes, found by bisection.

    Only changes that leave a different offset at the far end are seen: two within one day that
    cancel out (no zone has had such a day) would not be.
    """
    tz = calendar.tz

    def offset(instant: datetime) -> timedelta | None:
        return instant.astimezone(tz).utcoffset()

    while offset(lo) != offset(hi):
        left, right = lo, hi
        while right - left > _TICK:
            middle = left + (right - left) // 2
            if offset(middle) == offset(left):
                left = middle
            else:
                right = middle
        yield right
        lo = right


def ranks_read(rules: TeamRules) -> tuple[int, int]:
    """How many of each person's first counted wins, and of their first bugs, the badges read.

    The highest enabled win-count threshold, and ``bug_squasher_bugs`` if that badge is enabled
    (0 when disabled): the n-th win or bug of a person is then among those handed over, at rank n.
    """
    enabled = rules.enabled_badges
    wins = max((n for name, n in WIN_COUNT_BADGES if name in enabled), default=0)
    return wins, rules.bug_squasher_bugs if "bug_squasher" in enabled else 0


def challenge_spans(challenges: Sequence[Challenge], calendar: TeamCalendar) -> list[datetime]:
    """The instants the challenges' windows cover, as sorted edges ``[start, end, start, end, ...]``.

    Each span is half-open and they are disjoint and apart (overlapping or touching windows are
    merged), so an instant lies in a window exactly when an odd number of edges are at or before it.
    Every win in a window is needed, whoever the challenge is for: a person's challenge may read
    all of the wins of the days it spans, and the others' in there cost little.
    """
    windows = sorted(
        (calendar.start_of_day(c.starts_on), calendar.start_of_day(c.ends_on + _ONE_DAY)) for c in challenges
    )
    edges: list[datetime] = []
    for start, end in windows:
        if end <= start:
            continue  # a window that ends before it starts holds no win
        if edges and start <= edges[-1]:
            edges[-1] = max(edges[-1], end)
        else:
            edges += [start, end]
    return edges
