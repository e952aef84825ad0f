"""A sprint's scope: which issues it committed to, which were added or removed, which got done.

``SprintScope`` is a sprint as the progress engine reads it. The rest are the rules of a stored
scope: how a new look at a sprint's issues (from Jira's Agile API, or inferred from the webhook
events seen) changes it (``reconcile_scope``), and how Jira's sprint report counts it
(``summarize_scope``).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.domain.sprint_tally import SprintTally


class ScopeSource(enum.StrEnum):
    """Where a sprint's committed scope came from."""

    JIRA = "jira"  # Jira's Agile API (the sprint report), when credentials are configured
    EVENTS = "events"  # inferred from the webhook events we observed


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
class ObservedIssue:
    """An issue seen in a sprint right now, from REST or from our tickets."""

    issue_key: str
    points: float | None
    done: bool
    done_at: datetime | None
    created_at: datetime | None = None
    assignee_id: int | None = None


@dataclass(frozen=True, slots=True)
class ScopeEntry:
    issue_key: str
    points: float | None
    committed: bool
    added_at: datetime | None
    removed_at: datetime | None
    done: bool
    done_at: datetime | None
    assignee_id: int | None

    @property
    def in_scope(self) -> bool:
        return self.removed_at is None


def reconcile_scope(
    stored: Mapping[str, ScopeEntry],
    observed: Iterable[ObservedIssue],
    *,
    sprint_start: datetime | None,
    now: datetime,
) -> dict[str, ScopeEntry]:
    """What the sprint's scope is after seeing ``observed`` at ``now``, given what we stored before.

    Committed means in the sprint when it started. Before the start everything seen is committed
    (that is planning). After it, an issue we first see is an addition, except on the very first
    look: with no earlier snapshot we assume what is there was there, unless the issue was created
    after the start. Issues that leave keep their row with ``removed_at``; coming back clears it.
    """
    first_look = not stored
    started = sprint_start is not None and now > sprint_start
    result: dict[str, ScopeEntry] = {}
    for issue in observed:
        before = stored.get(issue.issue_key)
        if before is not None:
            committed = before.committed
            if before.removed_at is not None and started and _at_or_before(before.removed_at, sprint_start):
                committed = False  # it had left before the start, so it was not in scope then
            entry = dataclasses.replace(before, committed=committed, removed_at=None)
        else:
            created_late = (
                issue.created_at is not None and sprint_start is not None and issue.created_at > sprint_start
            )
            committed = (not started) or (first_look and not created_late)
            if committed:
                added_at = sprint_start if sprint_start is not None and started else now
            else:
                added_at = issue.created_at if first_look and issue.created_at is not None else now
            entry = ScopeEntry(
                issue.issue_key, None, committed, added_at, None, False, None, issue.assignee_id
            )
        result[issue.issue_key] = dataclasses.replace(
            entry, points=issue.points, done=issue.done, done_at=issue.done_at, assignee_id=issue.assignee_id
        )
    for key, before in stored.items():
        if key not in result:
            result[key] = (
                before if before.removed_at is not None else dataclasses.replace(before, removed_at=now)
            )
    return result


def _at_or_before(moment: datetime, bound: datetime | None) -> bool:
    return bound is not None and moment <= bound


@dataclass(frozen=True, slots=True)
class ScopeSummary:
    source: str  # "jira" | "events"
    committed_issues: int
    committed_points: float
    completed_issues: int  # done issues in scope, committed or added
    completed_points: float
    committed_completed_issues: int  # the part of the commitment that is done
    committed_completed_points: float
    added_issues: int
    removed_issues: int
    estimated: bool  # some issue in scope carries points: milestones go by points, else by count

    def api_fields(self) -> dict[str, Any]:
        return {
            "committed_issues": self.committed_issues,
            "committed_points": self.committed_points,
            "completed_issues": self.completed_issues,
            "completed_points": self.completed_points,
            "scope_source": self.source,
        }


def summarize_scope(
    entries: Iterable[ScopeEntry], *, completed_by: datetime | None, source: str
) -> ScopeSummary:
    """Committed and completed, in issues and points, as Jira's sprint report counts them.

    Issues removed from the sprint count in neither (descoping is a decision, and 100 % must
    stay reachable). In a closed sprint, work finished after it closed was not done in it.
    """
    entries = list(entries)
    in_scope = [e for e in entries if e.in_scope]
    removed = len(entries) - len(in_scope)

    def completed(entry: ScopeEntry) -> bool:
        if not entry.done:
            return False
        return completed_by is None or entry.done_at is None or entry.done_at <= completed_by

    committed = [e for e in in_scope if e.committed]
    done = [e for e in in_scope if completed(e)]
    committed_done = [e for e in committed if completed(e)]
    return ScopeSummary(
        source=source,
        committed_issues=len(committed),
        committed_points=_points(committed),
        completed_issues=len(done),
        completed_points=_points(done),
        committed_completed_issues=len(committed_done),
        committed_completed_points=_points(committed_done),
        added_issues=sum(1 for e in in_scope if not e.committed),
        removed_issues=removed,
        estimated=any(e.points is not None for e in in_scope),
    )


def _points(entries: Sequence[ScopeEntry]) -> float:
    return float(sum(e.points or 0.0 for e in entries))
