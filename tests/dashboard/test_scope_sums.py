"""A sprint list's scope summed by the database agrees with the scope rules applied issue by issue.

``scope_for_sprints`` lets the database sum the tickets of sprints that stored no scope yet (the
``/sprints`` list, the overview's running sprints); the rules it must agree with are
``reconcile_scope`` then ``summarize_scope`` over the same tickets. Each sprint below is one case of
those rules: not started, started, no start, closed with work finished after the close, no points,
no tickets at all, and one with a stored scope (which keeps the issue-by-issue path).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from service.domain.sprint_scope import (
    ObservedIssue,
    ScopeSource,
    ScopeSummary,
    reconcile_scope,
    summarize_scope,
)
from service.models import Sprint, Team, Ticket, sprint_tickets
from service.progress import sprint_scope
from service.progress.scope_sums import TicketTotals
from service.web.extensions import runtime_of
from service.wins import queries
from tests.conftest import AppFactory

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
START = NOW - timedelta(days=5)

# (name, start, completed_at, tickets: (points, done, done_at, created_at))
SPRINTS: list[
    tuple[
        str,
        datetime | None,
        datetime | None,
        list[tuple[float | None, bool, datetime | None, datetime | None]],
    ]
] = [
    (
        "started, some created after the start",
        START,
        None,
        [
            (3.0, True, START + timedelta(days=1), START - timedelta(days=3)),
            (5.0, False, None, START - timedelta(days=2)),
            (2.0, True, START + timedelta(days=2), START + timedelta(days=1)),  # added
            (None, False, None, START + timedelta(hours=1)),  # added, no points
            (1.5, True, None, None),  # done with no moment, created when nobody knows
        ],
    ),
    (
        "not started yet: everything seen is planning",
        NOW + timedelta(days=1),
        None,
        [(8.0, False, None, NOW - timedelta(days=1)), (1.0, True, NOW, NOW + timedelta(hours=1))],
    ),
    (
        "no start at all",
        None,
        None,
        [(2.0, True, NOW - timedelta(days=1), NOW - timedelta(days=9)), (None, False, None, None)],
    ),
    (
        "closed, some work finished after the close",
        START - timedelta(days=14),
        START - timedelta(days=1),
        [
            (3.0, True, START - timedelta(days=2), START - timedelta(days=20)),
            (5.0, True, START, START - timedelta(days=20)),  # done after the close: not completed in it
            (2.0, True, START - timedelta(days=1), START - timedelta(days=3)),  # done at the close, added
            (1.0, False, None, START - timedelta(days=15)),
        ],
    ),
    (
        "counted in issues: no points anywhere",
        START,
        None,
        [(None, True, START, START), (None, False, None, None)],
    ),
    ("no tickets at all", START, None, []),
]


def _expected(sprint: Sprint, tickets: list[Ticket]) -> ScopeSummary:
    observed = [
        ObservedIssue(t.issue_key, t.points, t.done, t.done_at if t.done else None, t.jira_created_at)
        for t in sorted(tickets, key=lambda t: t.issue_key)
    ]
    entries = reconcile_scope({}, observed, sprint_start=sprint.start_at, now=NOW).values()
    return summarize_scope(entries, completed_by=sprint.completed_at, source=ScopeSource.EVENTS.value)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_summed_scope_matches_the_rules_issue_by_issue(make_app: AppFactory, backend: str) -> None:
    app = make_app(backend)
    expected: dict[int, ScopeSummary] = {}
    with runtime_of(app).database.transaction() as session:
        team = Team(slug="sums", name="Sums", timezone="UTC")
        session.add(team)
        session.flush()
        n = 0
        for jira_id, (name, start, completed, tickets) in enumerate(SPRINTS, start=1):
            sprint = Sprint(
                team_id=team.id,
                jira_id=jira_id,
                name=name,
                state="closed" if completed else "active",
                start_at=start,
                completed_at=completed,
            )
            session.add(sprint)
            rows = []
            for points, done, done_at, created in tickets:
                n += 1
                rows.append(
                    Ticket(
                        team_id=team.id,
                        issue_key=f"SUM-{n}",
                        project_key="SUM",
                        points=points,
                        done=done,
                        done_at=done_at,
                        jira_created_at=created,
                    )
                )
            session.add_all(rows)
            session.flush()
            if rows:
                session.execute(
                    insert(sprint_tickets), [{"sprint_id": sprint.id, "ticket_id": t.id} for t in rows]
                )
            expected[sprint.id] = _expected(sprint, rows)
        team_id = team.id
    with runtime_of(app).database.sessions() as session:
        ids = list(session.scalars(select(Sprint.id).order_by(Sprint.id)))
        assert sprint_scope.scope_for_sprints(session, ids, NOW) == expected
        # The cases differ from each other, so a sum that ignored a rule would show.
        assert len({(s.committed_points, s.completed_issues, s.added_issues) for s in expected.values()}) >= 5
        assert any(s.added_issues for s in expected.values()) and any(s.estimated for s in expected.values())
        # A sprint asked for alone, or among unknown ids, has the same figures.
        assert sprint_scope.scope_for_sprints(session, [ids[0], 999_999], NOW) == {ids[0]: expected[ids[0]]}
        _, totals = sprint_scope.scope_and_totals(session, ids, NOW)
        assert totals == {sprint_id: _totals(session, sprint_id) for sprint_id in ids}
        _same_as_the_two_reads(session, team_id)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_stored_scope_keeps_its_commitments_beside_summed_sprints(
    make_app: AppFactory, backend: str
) -> None:
    """An events refresh stored a sprint's scope before a ticket arrived: that ticket is an addition
    there (the issue-by-issue path), while a sprint with nothing stored sees the same kind of ticket as
    committed (a first look)."""
    app = make_app(backend)
    with runtime_of(app).database.transaction() as session:
        team = Team(slug="kept", name="Kept", timezone="UTC")
        session.add(team)
        session.flush()
        stored, fresh = (
            Sprint(team_id=team.id, jira_id=jira_id, name=f"S{jira_id}", state="active", start_at=START)
            for jira_id in (1, 2)
        )
        session.add_all([stored, fresh])
        first = Ticket(team_id=team.id, issue_key="KEP-1", project_key="KEP", points=3.0)
        session.add(first)
        session.flush()
        session.execute(insert(sprint_tickets), [{"sprint_id": stored.id, "ticket_id": first.id}])
        sprint_scope.store_events_scope(session, stored, now=START - timedelta(days=1))
        later = [Ticket(team_id=team.id, issue_key=f"KEP-{n}", project_key="KEP", points=2.0) for n in (2, 3)]
        session.add_all(later)
        session.flush()
        session.execute(
            insert(sprint_tickets),
            [
                {"sprint_id": stored.id, "ticket_id": later[0].id},
                {"sprint_id": fresh.id, "ticket_id": later[1].id},
            ],
        )
        ids = [stored.id, fresh.id]
        team_id = team.id
    with runtime_of(app).database.sessions() as session:
        found = sprint_scope.scope_for_sprints(session, ids, NOW)
        _, totals = sprint_scope.scope_and_totals(session, ids, NOW)
        assert totals == {ids[0]: TicketTotals(2, 0, 5.0, 0.0), ids[1]: TicketTotals(1, 0, 2.0, 0.0)}
        _same_as_the_two_reads(session, team_id)
    assert (found[ids[0]].committed_issues, found[ids[0]].added_issues) == (1, 1)
    assert (found[ids[1]].committed_issues, found[ids[1]].added_issues) == (1, 0)
    assert found[ids[0]].committed_points == 3.0 and found[ids[1]].committed_points == 2.0


def _totals(session: Session, sprint_id: int) -> TicketTotals:
    rows = session.execute(
        select(Ticket.done, Ticket.points)
        .join(sprint_tickets, sprint_tickets.c.ticket_id == Ticket.id)
        .where(sprint_tickets.c.sprint_id == sprint_id)
    ).all()
    return TicketTotals(
        len(rows),
        sum(1 for done, _ in rows if done),
        float(sum(points or 0.0 for _, points in rows)),
        float(sum(points or 0.0 for done, points in rows if done)),
    )


def _same_as_the_two_reads(session: Session, team_id: int) -> None:
    """The sprint list's one read gives what ``team_sprints`` and ``scope_for_sprints`` give apart."""
    apart = queries.team_sprints(session, team_id)
    scopes = sprint_scope.scope_for_sprints(session, [s.sprint.id for s in apart])
    together = queries.team_sprints_with_scope(session, team_id)
    assert together == [(s, scopes[s.sprint.id]) for s in apart] and len(together) >= 2
