"""Sprint milestones: progress through committed scope, velocity records and other sprint moments.

Progress is measured by points when the sprint committed points (> 0) and every finished
committed issue carries points; otherwise by issue count. Mixing estimated and unestimated
issues in one percentage would make "50%" mean nothing, and counting is always well defined.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Literal

from service.domain.progress_inputs import IssueAge, RecordedWin
from service.domain.sprint_scope import SprintScope
from service.domain.sprint_tally import PROGRESS_STEPS, SprintTally
from service.domain.team_rules import TeamRules
from service.domain.wins import WinDraft, WinKind, WinSource

PROGRESS_NAMES: frozenset[str] = frozenset(
    {*(f"progress_{step}" for step in PROGRESS_STEPS), "scope_done_early"}
)


def milestone_draft(
    name: str,
    sprint_ref: str,
    title: str,
    occurred_at: datetime,
    member_ref: str | None = None,
    **details: object,
) -> WinDraft:
    return WinDraft(
        kind=WinKind.MILESTONE,
        source=WinSource.ENGINE,
        source_key=f"milestone:{sprint_ref}:{name}",
        title=title,
        occurred_at=occurred_at,
        member_ref=member_ref,
        details={"milestone": name, "sprint_ref": sprint_ref, **details},
    )


def confirm_sprint_goal(scope: SprintScope, by_member_ref: str, at: datetime) -> SprintScope:
    """The Slack "goal met" button: record who confirmed the sprint goal, and when.

    The first confirmation stands, so a double click (or a retried job) changes nothing.
    """
    if at.tzinfo is None:
        raise ValueError("at: must be a timezone-aware datetime")
    if not by_member_ref:
        raise ValueError("by_member_ref: must name who confirmed the goal")
    if scope.goal_met_confirmed_at is not None:
        return scope
    return replace(scope, goal_met_confirmed_at=at, goal_met_confirmed_by=by_member_ref)


def progress_basis(scope: SprintScope) -> Literal["points", "count"]:
    return SprintTally.of(scope).basis


def progress_milestones(
    scope: SprintScope, enabled: frozenset[str], tally: SprintTally | None = None
) -> list[WinDraft]:
    """progress_25/50/75/100, each at the done_at of the issue that crossed it, and scope_done_early.

    ``tally`` is ``SprintTally.of(scope)`` when the caller already has it.
    """
    if not enabled & PROGRESS_NAMES:
        return []
    tally = tally or SprintTally.of(scope)
    drafts: list[WinDraft] = []
    for crossing in tally.crossings:
        step, done_at, key = crossing.step, crossing.done_at, crossing.issue_key
        name = f"progress_{step}"
        if name in enabled:
            drafts.append(
                milestone_draft(
                    name,
                    scope.sprint_ref,
                    f"{scope.name}: {step}% of the committed scope done",
                    done_at,
                    basis=tally.basis,
                    trigger_issue_key=key,
                )
            )
        if step == 100 and "scope_done_early" in enabled and scope.end is not None and done_at < scope.end:
            drafts.append(
                milestone_draft(
                    "scope_done_early",
                    scope.sprint_ref,
                    f"{scope.name}: all committed scope done before the sprint ends",
                    done_at,
                    basis=tally.basis,
                    trigger_issue_key=key,
                )
            )
    return drafts


def completed_points(scope: SprintScope) -> float:
    """Points of every issue finished in the sprint by its completion (committed or added later)."""
    return SprintTally.of(scope).completed_points


def velocity_best_drafts(sprints: Iterable[SprintScope], window: int) -> list[WinDraft]:
    """velocity_best for each closed sprint that beats every one of the previous ``window`` closed sprints."""
    return _velocity_best([(s, SprintTally.of(s)) for s in sprints if s.completed_at is not None], window)


def _velocity_best(closed: list[tuple[SprintScope, SprintTally]], window: int) -> list[WinDraft]:
    closed.sort(key=_completion_order)
    velocities = [t.completed_points for _, t in closed]
    drafts: list[WinDraft] = []
    for i, (sprint, _) in enumerate(closed):
        previous = velocities[max(0, i - window) : i]
        if previous and velocities[i] > max(previous):
            assert sprint.completed_at is not None  # closed sprints only
            drafts.append(
                milestone_draft(
                    "velocity_best",
                    sprint.sprint_ref,
                    f"{sprint.name}: best velocity in {len(previous) + 1} sprints",
                    sprint.completed_at,
                    points=velocities[i],
                    previous_best=max(previous),
                    compared_sprints=len(previous),
                )
            )
    return drafts


def _completion_order(pair: tuple[SprintScope, SprintTally]) -> tuple[datetime, str]:
    sprint = pair[0]
    assert sprint.completed_at is not None  # closed sprints only
    return (sprint.completed_at, sprint.sprint_ref)


def oldest_open_closings(issue_ages: Iterable[IssueAge]) -> dict[str, datetime]:
    """Issues that were the oldest open issue at the moment they were closed, with that moment.

    An issue qualifies when every older issue was already closed by then, i.e. its done_at is
    at least the latest done_at of all older issues (an open one counts as "never").
    """
    ordered = sorted(issue_ages, key=lambda a: (a.created_at, a.issue_key))
    closings: dict[str, datetime] = {}
    latest_older_done: datetime | None = None
    any_older_open = False
    for age in ordered:
        done_at = age.done_at
        if (
            done_at is not None
            and not any_older_open
            and (latest_older_done is None or latest_older_done <= done_at)
        ):
            closings[age.issue_key] = done_at
        if done_at is None:
            any_older_open = True
        elif latest_older_done is None or done_at > latest_older_done:
            latest_older_done = done_at
    return closings


def oldest_open_closed_draft(scope: SprintScope, closings: Mapping[str, datetime]) -> WinDraft | None:
    done = scope.done
    # Look up from the smaller side, C-level: a sprint and the closings both run to thousands.
    if len(closings) < len(done):
        keys = list(filter(done.__contains__, closings))
    else:
        keys = list(filter(closings.__contains__, done))
    if not keys:
        return None
    at, key = min(zip(map(closings.__getitem__, keys), keys, strict=True))
    return milestone_draft(
        "oldest_open_closed",
        scope.sprint_ref,
        f"{scope.name}: closed {key}, the oldest open ticket",
        at,
        issue_key=key,
    )


def sprint_goal_met_draft(scope: SprintScope) -> WinDraft | None:
    if scope.goal_met_confirmed_at is None:
        return None
    return milestone_draft(
        "sprint_goal_met",
        scope.sprint_ref,
        f"{scope.name}: sprint goal met",
        scope.goal_met_confirmed_at,
        confirmed_by=scope.goal_met_confirmed_by,
    )


def first_win_of_sprint_draft(win: RecordedWin, sprint_name: str | None) -> WinDraft:
    assert win.sprint_ref is not None
    return milestone_draft(
        "first_win_of_sprint",
        win.sprint_ref,
        f"First win of {sprint_name or 'the sprint'}",
        win.occurred_at,
        member_ref=win.member_ref,
        trigger_win_id=win.id,
    )


def sprint_milestones(
    sprints: Sequence[SprintScope],
    rules: TeamRules,
    issue_ages: Iterable[IssueAge] = (),
    *,
    tallies: Sequence[SprintTally] | None = None,
) -> list[WinDraft]:
    """Every milestone that follows from the sprints alone (first_win_of_sprint needs the wins).

    ``tallies`` holds ``SprintTally.of`` each sprint, in the same order, when the caller
    already has them (a recompute shares them with sprint_finisher).
    """
    enabled = rules.enabled_milestones
    if tallies is None:
        tallies = [SprintTally.of(s) for s in sprints]
    drafts: list[WinDraft] = []
    for sprint, tally in zip(sprints, tallies, strict=True):
        drafts += progress_milestones(sprint, enabled, tally)
    if "velocity_best" in enabled:
        closed = [(s, t) for s, t in zip(sprints, tallies, strict=True) if s.completed_at is not None]
        drafts += _velocity_best(closed, rules.velocity_window)
    if "oldest_open_closed" in enabled:
        closings = oldest_open_closings(issue_ages)
        if closings:
            drafts += [d for s in sprints if (d := oldest_open_closed_draft(s, closings)) is not None]
    if "sprint_goal_met" in enabled:
        drafts += [d for s in sprints if (d := sprint_goal_met_draft(s)) is not None]
    return drafts


def relevant_issue_ages(ages: Iterable[IssueAge]) -> list[IssueAge]:
    """The few issues that can change ``oldest_open_closings``, from ages in created_at order.

    An issue is "the oldest open one" when closed only if every older issue was closed by then,
    i.e. its done_at is at least every older done_at. So an issue whose done_at is below the
    latest done_at of the strictly older issues can neither qualify nor move that maximum, and
    nothing created after the first still-open issue can qualify. Issues that share a created_at
    are all kept (whatever their order) so the result does not depend on how the database sorts
    ties. This keeps the engine's work proportional to the record-setters, not to all tickets.
    """
    kept: list[IssueAge] = []
    older_max: datetime | None = None  # max done_at over strictly older created_at groups
    group_at: datetime | None = None
    group_max: datetime | None = None
    open_at: datetime | None = None  # created_at of the first open issue met
    for age in ages:
        if age.created_at != group_at:
            if open_at is not None:
                break
            if group_max is not None and (older_max is None or group_max > older_max):
                older_max = group_max
            group_at, group_max = age.created_at, None
        if age.done_at is None:
            open_at = age.created_at
            kept.append(age)
            continue
        if group_max is None or age.done_at > group_max:
            group_max = age.done_at
        if older_max is None or age.done_at >= older_max:
            kept.append(age)
    return kept
