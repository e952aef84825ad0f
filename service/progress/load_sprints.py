"""A team's sprints as the progress engine reads them: each one's scope, and the sprints each ticket sat in.

Committed scope comes from Jira's sprint report when the REST refresh stored it (source ``jira``);
otherwise it is inferred from the tickets we saw in the sprint (``events``). Rows are read as
columns per sprint (no ORM objects): a team's sprints hold every one of its tickets.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from itertools import compress, repeat
from operator import is_not
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from service.domain.sprint_scope import ScopeSource, SprintScope
from service.domain.sprint_tally import SprintTally
from service.domain.ticket_sprints import SprintWindow, TicketSprints
from service.models import Sprint, Ticket, sprint_tickets
from service.models.scope import SprintScopeItem, SprintScopeSource
from service.progress.refs import TeamRefs
from service.progress.sql import binary_cursor, inline, is_postgres, stream

# A sprint's issues as columns: keys, done flags, done_at, points, assignee member ids.
ScopeColumns = list[Sequence[Any]]
# A sprint's row as ``sprint_headers`` reads it (id, name, start_at, end_at, completed_at, goal_met_at,
# goal_met_by_member_id, jira_id): what a scope holds besides its issues.
SprintHeader = Row[
    int, str, datetime | None, datetime | None, datetime | None, datetime | None, int | None, int | None
]


def load_sprints(
    session: Session, team_id: int, refs: TeamRefs | None = None
) -> tuple[list[SprintScope], TicketSprints, dict[str, str]]:
    """Sprint scopes, and for each ticket the sprints it sat in (to give its win a sprint).

    Committed scope comes from Jira's sprint report when the REST refresh stored it (source
    ``jira``); otherwise it is inferred from the tickets we saw in the sprint (``events``).
    """
    refs = refs or TeamRefs(session, team_id)
    headers = sprint_headers(session, team_id)
    windows = sprint_windows(headers, refs)
    members = columns_by_sprint(session, event_scope_query(team_id), 6)
    ticket_sprints = TicketSprints.of({sid: columns[0] for sid, columns in members.items()}, windows)
    from_jira = jira_scopes(session, from_jira_ids(session, list(headers)))
    issues = {sid: columns[1:] for sid, columns in members.items()} | from_jira
    people = people_of(refs, issues.values())
    scopes = [scope_of(refs, sid, header, issues.get(sid), people) for sid, header in headers.items()]
    return scopes, ticket_sprints, scope_sources(headers, from_jira, refs)


def sprint_headers(session: Session, team_id: int) -> dict[int, SprintHeader]:
    """The team's sprints (not deleted) by id, in id order: what a scope holds besides its issues."""
    return {
        s.id: s
        for s in session.execute(
            select(
                Sprint.id,
                Sprint.name,
                Sprint.start_at,
                Sprint.end_at,
                Sprint.completed_at,
                Sprint.goal_met_at,
                Sprint.goal_met_by_member_id,
                Sprint.jira_id,
            )
            .where(Sprint.team_id == team_id, Sprint.state != "deleted")
            .order_by(Sprint.id)
        )
    }


def sprint_windows(headers: dict[int, SprintHeader], refs: TeamRefs) -> dict[int, SprintWindow]:
    return {
        sid: SprintWindow(refs.sprint(s.jira_id, s.name), s.start_at, s.completed_at or s.end_at)
        for sid, s in headers.items()
    }


def event_scope_query(
    team_id: int, sprint_ids: Sequence[int] | None = None
) -> Select[int, int, str, bool, datetime | None, float | None, int | None]:
    """Each sprint's tickets as we saw them: sprint id, ticket id, key, done, done_at, points, assignee."""
    query = (
        select(
            sprint_tickets.c.sprint_id,
            Ticket.id,
            Ticket.issue_key,
            Ticket.done,
            Ticket.done_at,
            Ticket.points,
            Ticket.assignee_id,
        )
        .join(Ticket, Ticket.id == sprint_tickets.c.ticket_id)
        .join(Sprint, Sprint.id == sprint_tickets.c.sprint_id)
        .where(Sprint.team_id == team_id, Sprint.state != "deleted")
    )
    return query if sprint_ids is None else query.where(sprint_tickets.c.sprint_id.in_(sprint_ids))


def people_of(refs: TeamRefs, issues: Iterable[ScopeColumns]) -> dict[int, str]:
    return refs.members(m for columns in issues for m in set(columns[4]))


def scope_sources(
    headers: dict[int, SprintHeader], from_jira: Collection[int], refs: TeamRefs
) -> dict[str, str]:
    return {
        refs.sprint(h.jira_id, h.name): (ScopeSource.JIRA if sid in from_jira else ScopeSource.EVENTS).value
        for sid, h in headers.items()
    }


_NO_ISSUES: ScopeColumns = [[], [], [], [], []]


def scope_of(
    refs: TeamRefs,
    sprint_id: int,
    header: SprintHeader,
    issues: ScopeColumns | None,
    people: dict[int, str],
    *,
    tally: SprintTally | None = None,
) -> SprintScope:
    """A sprint's scope from its header and its issues' columns: keys, done, done_at, points, assignees."""
    keys, done, done_at, points, assignees = issues or _NO_ISSUES
    finished = [bool(d) and at is not None for d, at in zip(done, done_at, strict=True)]
    return SprintScope(
        sprint_ref=refs.sprint(header.jira_id, header.name),
        name=header.name,
        start=header.start_at,
        end=header.end_at,
        completed_at=header.completed_at,
        committed_issues=frozenset(keys),
        committed_points=sum(compress(points, map(is_not, points, repeat(None)))),
        done=dict(
            zip(
                compress(keys, finished),
                zip(compress(done_at, finished), compress(points, finished), strict=True),
                strict=True,
            )
        ),
        assignees=dict(zip(keys, map(people.get, assignees), strict=True)),
        goal_met_confirmed_at=header.goal_met_at,
        goal_met_confirmed_by=refs.member_or_none(header.goal_met_by_member_id),
        tally=tally,
    )


def columns_by_sprint(
    session: Session, statement: Select[*tuple[Any, ...]], width: int
) -> dict[int, ScopeColumns]:
    """The statement's rows (a sprint id, then ``width`` values) as columns per sprint.

    Postgres hands over one row per sprint holding an array per column (decoded in C, see
    ``service.progress.load_wins.load_win_columns``); elsewhere the streamed rows are gathered here.
    """
    if not is_postgres(session):
        out: dict[int, ScopeColumns] = {}
        for sprint_id, *values in stream(session, statement):
            columns = out.get(sprint_id)
            if columns is None:
                columns = out[sprint_id] = [[] for _ in range(width)]
            for column, value in zip(columns, values, strict=True):
                column.append(value)  # type: ignore[attr-defined]
        return out
    inner = statement.subquery()
    first, *rest = inner.c
    arrays = select(first, *(func.array_agg(column) for column in rest)).group_by(first)
    with binary_cursor(session) as cursor:
        cursor.execute(inline(session, arrays), {})  # with (no) parameters, psycopg reads the %% it escapes
        return {sprint_id: list(columns) for sprint_id, *columns in cursor.fetchall()}


def all_ticket_sprints(session: Session, team_id: int, windows: dict[int, SprintWindow]) -> TicketSprints:
    query = (
        select(sprint_tickets.c.sprint_id, sprint_tickets.c.ticket_id)
        .join(Sprint, Sprint.id == sprint_tickets.c.sprint_id)
        .where(Sprint.team_id == team_id, Sprint.state != "deleted")
    )
    members = columns_by_sprint(session, query, 1)
    return TicketSprints.of({sid: columns[0] for sid, columns in members.items()}, windows)


def from_jira_ids(session: Session, sprint_ids: list[int]) -> list[int]:
    """The sprints whose committed scope came from Jira's Agile API."""
    if not sprint_ids:
        return []
    return sorted(
        session.scalars(
            select(SprintScopeSource.sprint_id).where(
                SprintScopeSource.sprint_id.in_(sprint_ids),
                SprintScopeSource.source == ScopeSource.JIRA.value,
            )
        )
    )


def jira_scopes(session: Session, from_jira: list[int]) -> dict[int, ScopeColumns]:
    """Committed scope from Jira's Agile API, for these sprints (whose scope came from there)."""
    if not from_jira:
        return {}
    query = select(
        SprintScopeItem.sprint_id,
        SprintScopeItem.issue_key,
        SprintScopeItem.done,
        SprintScopeItem.done_at,
        SprintScopeItem.points,
        SprintScopeItem.assignee_id,
    ).where(
        SprintScopeItem.sprint_id.in_(from_jira),
        SprintScopeItem.committed.is_(True),
        SprintScopeItem.removed_at.is_(None),
    )
    found = columns_by_sprint(session, query, 5)
    return {sid: found.get(sid, [[], [], [], [], []]) for sid in from_jira}
