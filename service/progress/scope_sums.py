"""A sprint's scope and ticket totals summed by the database, for sprints that stored no scope yet.

Such a sprint's scope is a first look at its tickets (``reconcile_scope`` with nothing stored, then
``summarize_scope``): every ticket in scope, committed unless the sprint had started and the ticket was
created after the start. A team's sprint list holds thousands of tickets, so one grouped statement sums
them here (index-only through ``ix_tickets_sprint_scope`` on Postgres) rather than a ``ScopeEntry`` per
ticket in Python; ``tests/dashboard/test_scope_sums.py`` holds the two to the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, not_, or_, select
from sqlalchemy.orm import Session

from service.domain.sprint_scope import ScopeSource, ScopeSummary
from service.models import Sprint, Ticket, sprint_tickets


@dataclass(frozen=True, slots=True)
class TicketTotals:
    """A sprint's tickets as they are, whatever its scope: ``GET /sprints``' issue and point totals."""

    issues_total: int = 0
    issues_done: int = 0
    points_total: float = 0.0
    points_done: float = 0.0


def first_look_summaries(
    session: Session, sprint_ids: Sequence[int], now: datetime, totals: dict[int, TicketTotals] | None
) -> dict[int, ScopeSummary]:
    """``summarize_scope(reconcile_scope({}, <the sprint's tickets>, ...))`` for sprints with no stored
    scope, counted by the database: on a first look every ticket is in scope, committed unless the
    sprint has started and the ticket was created after its start, and completed when done before the
    sprint closed (or done with no moment). ``totals`` gets each sprint's ``TicketTotals`` from the
    same rows."""
    if not sprint_ids:
        return {}
    started = and_(Sprint.start_at.is_not(None), Sprint.start_at < now)
    created_late = and_(
        Ticket.jira_created_at.is_not(None),
        Sprint.start_at.is_not(None),
        Ticket.jira_created_at > Sprint.start_at,
    )
    committed = or_(not_(started), not_(created_late))
    completed = and_(
        Ticket.done.is_(True),
        or_(Sprint.completed_at.is_(None), Ticket.done_at.is_(None), Ticket.done_at <= Sprint.completed_at),
    )

    def points(condition: ColumnElement[bool]) -> ColumnElement[float]:
        return func.coalesce(func.sum(Ticket.points).filter(condition), 0.0)

    query = (
        select(
            sprint_tickets.c.sprint_id,
            func.count().filter(committed).label("committed_issues"),
            points(committed).label("committed_points"),
            func.count().filter(completed).label("completed_issues"),
            points(completed).label("completed_points"),
            func.count().filter(and_(committed, completed)).label("committed_completed_issues"),
            points(and_(committed, completed)).label("committed_completed_points"),
            func.count().filter(not_(committed)).label("added_issues"),
            func.count(Ticket.points).label("estimated_issues"),
            *_total_columns(),
        )
        .join(Ticket, Ticket.id == sprint_tickets.c.ticket_id)
        .join(Sprint, Sprint.id == sprint_tickets.c.sprint_id)
        # Both sides named: the planner then reads just these sprints rather than scanning them all.
        .where(sprint_tickets.c.sprint_id.in_(sprint_ids), Sprint.id.in_(sprint_ids))
        .group_by(sprint_tickets.c.sprint_id)
    )
    empty = ScopeSummary(ScopeSource.EVENTS.value, 0, 0.0, 0, 0.0, 0, 0.0, 0, 0, False)
    found = {sprint_id: empty for sprint_id in sprint_ids}
    for row in session.execute(query):
        found[row.sprint_id] = ScopeSummary(
            source=ScopeSource.EVENTS.value,
            committed_issues=int(row.committed_issues),
            committed_points=float(row.committed_points),
            completed_issues=int(row.completed_issues),
            completed_points=float(row.completed_points),
            committed_completed_issues=int(row.committed_completed_issues),
            committed_completed_points=float(row.committed_completed_points),
            added_issues=int(row.added_issues),
            removed_issues=0,
            estimated=int(row.estimated_issues) > 0,
        )
        if totals is not None:
            totals[row.sprint_id] = _totals_of(row)
    if totals is not None:
        for sprint_id in sprint_ids:
            totals.setdefault(sprint_id, TicketTotals())
    return found


def _total_columns() -> list[ColumnElement[Any]]:
    """``queries.team_sprints``' totals: every ticket of the sprint, in scope or not."""
    done = Ticket.done.is_(True)
    return [
        func.count().label("issues_total"),
        func.count().filter(done).label("issues_done"),
        func.coalesce(func.sum(Ticket.points), 0.0).label("points_total"),
        func.coalesce(func.sum(Ticket.points).filter(done), 0.0).label("points_done"),
    ]


def _totals_of(row: Row[Any]) -> TicketTotals:
    return TicketTotals(
        int(row.issues_total), int(row.issues_done), float(row.points_total), float(row.points_done)
    )


def ticket_totals(session: Session, sprint_ids: Sequence[int]) -> dict[int, TicketTotals]:
    if not sprint_ids:
        return {}
    query = (
        select(sprint_tickets.c.sprint_id, *_total_columns())
        .join(Ticket, Ticket.id == sprint_tickets.c.ticket_id)
        .where(sprint_tickets.c.sprint_id.in_(sprint_ids))
        .group_by(sprint_tickets.c.sprint_id)
    )
    found = {sprint_id: TicketTotals() for sprint_id in sprint_ids}
    found.update({row.sprint_id: _totals_of(row) for row in session.execute(query)})
    return found
