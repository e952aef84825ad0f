"""A team's sprints as the dashboard draws them, from the API's sprint and scope read functions.

Committed and completed come from ``service.progress.sprint_scope`` exactly as ``GET
/api/v1/teams/<slug>/sprints`` reports them; the burn-up adds when each in-scope issue got done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.charts import BurnDay
from service.domain.sprint_scope import ScopeSource, ScopeSummary
from service.domain.sprints import SprintState
from service.models import Sprint, Ticket, sprint_tickets
from service.progress import sprint_scope
from service.progress.refs import sprint_ref_of

VELOCITY_SPRINTS = 8
MAX_BURN_DAYS = 60  # a sprint is weeks long; this bounds the chart whatever dates Jira sends


@dataclass(frozen=True)
class SprintFigures:
    sprint: Sprint
    scope: ScopeSummary

    @property
    def by_points(self) -> bool:
        return self.scope.committed_points > 0

    @property
    def committed(self) -> float:
        return self.scope.committed_points if self.by_points else self.scope.committed_issues

    @property
    def completed(self) -> float:
        return self.scope.completed_points if self.by_points else self.scope.completed_issues

    @property
    def unit(self) -> str:
        return "points" if self.by_points else "issues"


def team_sprint_rows(session: Session, team_id: int) -> list[Sprint]:
    """The team's sprints, newest first, in the order and with the filter of ``queries.team_sprints``,
    without the totals: the feed's sprint filter needs only their names."""
    query = (
        select(Sprint)
        .where(Sprint.team_id == team_id, Sprint.state != "deleted")
        .order_by(Sprint.start_at.desc().nulls_last(), Sprint.id.desc())
    )
    return list(session.scalars(query))


def charted_sprint_figures(
    session: Session, sprints: list[Sprint], closed: int = VELOCITY_SPRINTS
) -> list[SprintFigures]:
    """Figures of the sprints a page charts, newest first: the running ones and the last ``closed``
    closed ones. Scope is derived issue by issue, so a team's two years of sprints are not all read
    for the few the page draws (``current_sprint`` and ``velocity`` find theirs among these)."""
    running = [s for s in sprints if s.state == SprintState.ACTIVE.value]
    finished = [s for s in sprints if s.state == SprintState.CLOSED.value][:closed]
    scopes = sprint_scope.scope_for_sprints(session, [s.id for s in running + finished])
    return [SprintFigures(s, scopes[s.id]) for s in sprints if s.id in scopes]


def current_sprint(figures: list[SprintFigures]) -> SprintFigures | None:
    """The active sprint that started last (a team with two boards may run two)."""
    active = [f for f in figures if f.sprint.state == SprintState.ACTIVE.value]
    return active[0] if active else None


def velocity(figures: list[SprintFigures]) -> list[SprintFigures]:
    """The last closed sprints, oldest first."""
    closed = [f for f in figures if f.sprint.state == SprintState.CLOSED.value]
    return list(reversed(closed[:VELOCITY_SPRINTS]))


def sprint_ref(team_slug: str, sprint: Sprint) -> str:
    return sprint_ref_of(team_slug, sprint.jira_id, sprint.name)


def _done_moments(session: Session, figures: SprintFigures) -> list[tuple[datetime, float]]:
    """When each in-scope issue got done, with its points: the stored scope when it came from Jira,
    else the sprint's tickets (the scope inferred from events is those tickets)."""
    sprint = figures.sprint
    if figures.scope.source == ScopeSource.JIRA.value:
        entries = sprint_scope.scope_entries(session, sprint)
        return [(e.done_at, e.points or 0.0) for e in entries if e.in_scope and e.done and e.done_at]
    rows = session.execute(
        select(Ticket.done_at, Ticket.points)
        .join(sprint_tickets, sprint_tickets.c.ticket_id == Ticket.id)
        .where(sprint_tickets.c.sprint_id == sprint.id, Ticket.done.is_(True), Ticket.done_at.is_not(None))
    )
    return [(done_at, points or 0.0) for done_at, points in rows if done_at is not None]


def burn_days(session: Session, figures: SprintFigures, zone: ZoneInfo, today: date) -> list[BurnDay]:
    """Done so far against committed, for each of the sprint's days up to today (or its end)."""
    sprint = figures.sprint
    if sprint.start_at is None:
        return []
    first = sprint.start_at.astimezone(zone).date()
    ends = [d.astimezone(zone).date() for d in (sprint.completed_at, sprint.end_at) if d is not None]
    last = min([today, *ends[:1]]) if ends else today
    last = min(last, first + timedelta(days=MAX_BURN_DAYS))
    if last < first:
        return []
    done_on: dict[date, float] = {}
    for done_at, points in _done_moments(session, figures):
        day = max(done_at.astimezone(zone).date(), first)  # done before the start counts from day one
        done_on[day] = done_on.get(day, 0.0) + (points if figures.by_points else 1)
    days: list[BurnDay] = []
    running = 0.0
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        running += done_on.get(day, 0)
        days.append(BurnDay(day, running, figures.committed))
    return days


def team_sprint(session: Session, team_id: int, jira_sprint_id: int) -> Sprint | None:
    """The team's sprint with Jira's id ``jira_sprint_id``, if it has one."""
    query = select(Sprint).where(Sprint.team_id == team_id, Sprint.jira_id == jira_sprint_id)
    return session.scalars(query).first()
