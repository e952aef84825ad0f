"""What a digest says about sprints: which ones it shows, and how far along each one is (its burn-up)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.domain.digest_lines import SprintProgress
from service.domain.schedule import load_timezone
from service.domain.sprints import SprintState
from service.models import Sprint, Ticket, sprint_tickets


def active_sprint(session: Session, team_id: int) -> Sprint | None:
    return session.scalars(
        select(Sprint)
        .where(Sprint.team_id == team_id, Sprint.state == SprintState.ACTIVE)
        .order_by(Sprint.start_at.desc().nulls_last(), Sprint.id.desc())
        .limit(1)
    ).first()


def sprints_to_show(session: Session, team_id: int, start: datetime, end: datetime) -> list[Sprint]:
    """The sprints a digest over [start, end) shows: the active ones, then those that closed in the period.

    Ordered by start (then id), so the same period always lists them in the same order.
    """
    return list(
        session.scalars(
            select(Sprint)
            .where(
                Sprint.team_id == team_id,
                (Sprint.state == SprintState.ACTIVE)
                | (
                    (Sprint.state == SprintState.CLOSED)
                    & (Sprint.completed_at >= start)
                    & (Sprint.completed_at < end)
                ),
            )
            .order_by(Sprint.start_at.asc().nulls_first(), Sprint.id)
        )
    )


def latest_sprint(session: Session, team_id: int) -> Sprint | None:
    """The active sprint, or else the most recently closed one."""
    return (
        active_sprint(session, team_id)
        or session.scalars(
            select(Sprint)
            .where(Sprint.team_id == team_id, Sprint.state == SprintState.CLOSED)
            .order_by(Sprint.completed_at.desc().nulls_last(), Sprint.id.desc())
            .limit(1)
        ).first()
    )


def sprint_progress(session: Session, sprint: Sprint, *, now: datetime, tz_name: str) -> SprintProgress:
    committed, done, done_estimated, points_total, points_done = session.execute(
        select(
            func.count(),
            func.count().filter(Ticket.done.is_(True)),
            func.count().filter(Ticket.done.is_(True), Ticket.points.is_not(None)),
            func.coalesce(func.sum(Ticket.points), 0.0),
            func.coalesce(func.sum(Ticket.points).filter(Ticket.done.is_(True)), 0.0),
        )
        .select_from(sprint_tickets)
        .join(Ticket, Ticket.id == sprint_tickets.c.ticket_id)
        .where(sprint_tickets.c.sprint_id == sprint.id)
    ).one()
    points_total, points_done = float(points_total or 0.0), float(points_done or 0.0)
    # The basis the sprint's progress milestones use (``service.domain.sprint_tally``): points when the
    # sprint committed points and every finished issue carries some, the issue count otherwise.
    by_points = points_total > 0 and done_estimated == done
    if by_points:
        percent = 100.0 * points_done / points_total
    else:
        percent = 100.0 * done / committed if committed else 0.0
    days_left: int | None = None
    if sprint.state == SprintState.ACTIVE and sprint.end_at is not None:
        tz = load_timezone(tz_name)
        days_left = max(0, (sprint.end_at.astimezone(tz).date() - now.astimezone(tz).date()).days)
    return SprintProgress(
        name=sprint.name or f"Sprint {sprint.jira_id or sprint.id}",
        percent_done=percent,
        done_points=points_done,
        committed_points=points_total,
        done_issues=int(done or 0),
        committed_issues=int(committed or 0),
        days_left=days_left,
        goal=sprint.goal,
        basis="points" if by_points else "count",
    )
