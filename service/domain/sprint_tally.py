"""What the sprint rules read from one sprint's issues: progress crossings, velocity, who finished.

Derived once per sprint (``SprintTally.of``) so that a store can keep it between recomputes for the
sprints whose issues did not change.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate, compress, count, islice, repeat
from operator import and_, is_not, itemgetter, le, mul
from typing import Literal

from service.domain.sprint_scope import SprintScope

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
