"""The sprint-end celebration's "Sprint goal met" button, stored on the sprint row.

The rule (who may confirm, that the first confirmation stands) is the domain's
``milestones.confirm_sprint_goal``; this module reads the row into a ``SprintScope``, asks it, and
writes the answer with a conditional UPDATE, so two clicks racing each other still leave exactly
one confirmation. The progress engine turns the stored confirmation into the ``sprint_goal_met``
milestone (``service.progress.load`` feeds it in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from service.domain import milestones
from service.domain.sprint_scope import SprintScope
from service.domain.sprints import SprintState
from service.models.teams import Member
from service.models.work import Sprint
from service.progress.refs import member_ref, sprint_ref


class SprintNotFound(LookupError):
    """No such sprint (deleted in Jira and forgotten since, or a value we never posted)."""


class SprintNotClosed(ValueError):
    """The goal can only be confirmed once the sprint is over; the message is raw text for people."""


@dataclass(frozen=True, slots=True)
class GoalConfirmation:
    """A sprint's confirmation as people are told about it."""

    sprint_id: int
    team_id: int
    sprint_name: str
    confirmed_at: datetime | None
    confirmed_by: Member | None  # None when nobody confirmed yet, or that person was forgotten


def confirm_sprint_goal(session: Session, sprint_id: int, member_id: int, at: datetime) -> bool:
    """Record that ``member_id`` confirmed the goal of the closed sprint ``sprint_id`` at ``at``.

    Returns True if this call recorded it, False if the goal was already confirmed (by anyone);
    raises ``SprintNotFound`` or ``SprintNotClosed`` otherwise.
    """
    row = session.execute(
        select(
            Sprint.team_id,
            Sprint.name,
            Sprint.state,
            Sprint.start_at,
            Sprint.end_at,
            Sprint.completed_at,
            Sprint.goal_met_at,
            Sprint.goal_met_by_member_id,
        ).where(Sprint.id == sprint_id)
    ).first()
    if row is None:
        raise SprintNotFound(f"no sprint with id {sprint_id}")
    if row.state != SprintState.CLOSED:
        raise SprintNotClosed(
            f"{row.name or 'This sprint'} hasn't closed yet: its goal can be confirmed once it is over."
        )
    # Only the confirmation matters to the rule, so the scope carries no issues.
    scope = SprintScope(
        sprint_ref=sprint_ref(sprint_id),
        name=row.name,
        start=row.start_at,
        end=row.end_at,
        completed_at=row.completed_at,
        committed_issues=frozenset(),
        committed_points=0.0,
        done={},
        assignees={},
        goal_met_confirmed_at=row.goal_met_at,
        goal_met_confirmed_by=(
            member_ref(row.team_id, row.goal_met_by_member_id)
            if row.goal_met_by_member_id is not None
            else None
        ),
    )
    confirmed = milestones.confirm_sprint_goal(scope, member_ref(row.team_id, member_id), at)
    if confirmed.goal_met_confirmed_at == scope.goal_met_confirmed_at:
        return False
    # The WHERE repeats the checks: a concurrent click that got here first, or a sprint reopened
    # in between, makes this update touch nothing.
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Sprint)
            .where(Sprint.id == sprint_id, Sprint.state == SprintState.CLOSED, Sprint.goal_met_at.is_(None))
            .values(goal_met_at=confirmed.goal_met_confirmed_at, goal_met_by_member_id=member_id)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount == 1


def goal_confirmation(session: Session, sprint_id: int) -> GoalConfirmation | None:
    """The sprint's confirmation (or its absence), with the person who confirmed; None if no sprint."""
    sprint = session.get(Sprint, sprint_id, populate_existing=True)  # after an UPDATE in this session
    if sprint is None:
        return None
    by = session.get(Member, sprint.goal_met_by_member_id) if sprint.goal_met_by_member_id else None
    return GoalConfirmation(sprint.id, sprint.team_id, sprint.name, sprint.goal_met_at, by)
