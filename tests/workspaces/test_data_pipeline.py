"""Two workspaces receive the same Jira history for project ``ORB``: each gets its own, nothing is shared.

Each workspace has its own Jira site, and two sites number their issues, sprints, accounts and
deliveries independently: ``ORB-1``, sprint 7 and ``acc-ada`` in one are not those of the other. The
deliveries go through the real inbox writer with each workspace's id and are processed by the real
worker (the drain job, the recorder, the follow-up recomputes), on SQLite and on Postgres with RQ.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from jobs.inbox import request_processing
from service.intake.inbox import Delivery
from service.models import (
    DEFAULT_WORKSPACE_ID,
    InboundEvent,
    Member,
    Sprint,
    Team,
    TeamSource,
    Ticket,
    Win,
    sprint_tickets,
)
from service.models.scope import SprintScopeSource
from service.teams import registry
from service.web.extensions import runtime_of
from service.workspaces.registry import create_workspace
from tests.conftest import AppFactory
from tests.jobs.helpers import issue_payload, run_jobs, sprint_object, sprint_payload

T0 = 1_763_900_000_000  # 2025-11-23, in payload milliseconds
HOUR = 3_600_000
SPRINT = 7
RESOLVED = "webhook-issue-updated-resolved.json"
CREATED = "webhook-issue-created.json"


def orb_history() -> list[tuple[str, dict[str, Any]]]:
    """A sprint of project ORB on board 1: started, three issues in it, two of them done, closed."""
    in_sprint = [sprint_object(SPRINT, board=1)]
    closed_sprint = [sprint_object(SPRINT, board=1, state="closed")]
    return [
        ("sprint-started", sprint_payload("started", SPRINT, T0, board=1)),
        *(
            (
                f"created-{n}",
                issue_payload(CREATED, key=f"ORB-{n}", timestamp=T0 + n * HOUR, sprints=in_sprint),
            )
            for n in (1, 2, 3)
        ),
        (
            "done-1",
            issue_payload(
                RESOLVED,
                key="ORB-1",
                timestamp=T0 + 10 * HOUR,
                assignee=("acc-ada", "Ada"),
                points=3,
                sprints=in_sprint,
            ),
        ),
        (
            "done-2",
            issue_payload(
                RESOLVED,
                key="ORB-2",
                timestamp=T0 + 11 * HOUR,
                assignee=("acc-bob", "Bob"),
                points=5,
                sprints=in_sprint,
            ),
        ),
        ("sprint-closed", sprint_payload("closed", SPRINT, T0 + 20 * HOUR, board=1, state="closed")),
        # ORB-3 was still open when the sprint closed; Jira lists it in the closed sprint too.
        ("touched-3", issue_payload(CREATED, key="ORB-3", timestamp=T0 + 21 * HOUR, sprints=closed_sprint)),
    ]


def deliveries(workspace_id: int) -> list[Delivery]:
    return [
        Delivery(
            "jira",
            delivery_id,
            str(payload.get("webhookEvent", "")),
            json.dumps(payload),
            None,
            workspace_id=workspace_id,
        )
        for delivery_id, payload in orb_history()
    ]


def store_and_process(app: Flask, batch: list[Delivery]) -> list[bool]:
    """Store the deliveries as the webhook does (one group commit), then let the worker drain them."""
    rt = runtime_of(app)
    stored = rt.inbox_writer.store_group(batch)
    request_processing(rt.queue)
    run_jobs(app)
    return [s.new for s in stored]


def outside_view(app: Flask, workspace_id: int) -> dict[str, Any]:
    """A workspace's data as the outside world names it (slugs, keys, Jira ids, accounts): row ids
    differ between workspaces by construction, and nothing compared may depend on them."""
    with runtime_of(app).database.sessions() as session:
        teams = {t.id: t.slug for t in session.scalars(select(Team).where(Team.workspace_id == workspace_id))}
        members = {
            m.id: m.jira_account_id
            for m in session.scalars(select(Member).where(Member.workspace_id == workspace_id))
        }
        tickets = session.scalars(select(Ticket).where(Ticket.workspace_id == workspace_id)).all()
        sprints = session.scalars(select(Sprint).where(Sprint.workspace_id == workspace_id)).all()
        wins = session.scalars(select(Win).where(Win.workspace_id == workspace_id)).all()
        claims = session.scalars(select(TeamSource).where(TeamSource.workspace_id == workspace_id)).all()
        return {
            "teams": sorted(teams.values()),
            "members": sorted(str(ref) for ref in members.values()),
            "claims": sorted((teams[c.team_id], c.kind, c.key) for c in claims),
            "tickets": sorted(
                (teams[t.team_id], t.issue_key, t.done, t.points, members.get(t.assignee_id)) for t in tickets
            ),
            "sprints": sorted((teams[s.team_id], s.jira_id, s.state) for s in sprints),
            "wins": sorted(
                (
                    teams[w.team_id],
                    w.kind,
                    w.source,
                    w.source_key,
                    w.status,
                    w.title,
                    members.get(w.member_id),
                )
                for w in wins
            ),
        }


def assert_nothing_shared(app: Flask, workspace_ids: list[int]) -> None:
    """Every row that points at another row points inside its own workspace."""
    with runtime_of(app).database.sessions() as session:
        team_ws = dict(session.execute(select(Team.id, Team.workspace_id)).all())
        member_ws = dict(session.execute(select(Member.id, Member.workspace_id)).all())
        sprint_ws = dict(session.execute(select(Sprint.id, Sprint.workspace_id)).all())
        ticket_ws = dict(session.execute(select(Ticket.id, Ticket.workspace_id)).all())
        for ticket in session.scalars(select(Ticket)):
            assert team_ws[ticket.team_id] == ticket.workspace_id, ticket.issue_key
            assert ticket.assignee_id is None or member_ws[ticket.assignee_id] == ticket.workspace_id
        for sprint in session.scalars(select(Sprint)):
            assert team_ws[sprint.team_id] == sprint.workspace_id, sprint.jira_id
        for win in session.scalars(select(Win)):
            assert team_ws[win.team_id] == win.workspace_id, win.source_key
            assert win.member_id is None or member_ws[win.member_id] == win.workspace_id, win.source_key
        for claim in session.scalars(select(TeamSource)):
            assert team_ws[claim.team_id] == claim.workspace_id, claim.key
        for sprint_id, ticket_id in session.execute(select(sprint_tickets)):
            assert sprint_ws[sprint_id] == ticket_ws[ticket_id]
        assert set(team_ws.values()) == set(workspace_ids)
        assert set(member_ws.values()) == set(workspace_ids)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_workspaces_with_the_same_jira_history_each_keep_their_own(
    make_app: AppFactory, backend: str, request: pytest.FixtureRequest
) -> None:
    redis = request.getfixturevalue("redis_url") if backend == "postgres" else None
    app = make_app(backend, redis=redis)
    with runtime_of(app).database.transaction() as session:
        other = create_workspace(session, "other", "Other Inc").id

    assert all(store_and_process(app, deliveries(DEFAULT_WORKSPACE_ID)))
    first = outside_view(app, DEFAULT_WORKSPACE_ID)
    # The same deliveries (same ids, same bodies) from the other workspace's site are new there.
    assert all(store_and_process(app, deliveries(other)))
    # And a retry of either is a duplicate in its own workspace only.
    assert not any(store_and_process(app, deliveries(other)[:2] + deliveries(DEFAULT_WORKSPACE_ID)[:2]))

    second = outside_view(app, other)
    assert second == first  # identical histories, identical outcomes
    assert first["teams"] == ["orb"]
    assert [key for _, key, *_ in first["tickets"]] == ["ORB-1", "ORB-2", "ORB-3"]
    assert first["members"] == ["5c5f880629be9642ba529340", "acc-ada", "acc-bob"]  # the corpus's actor too
    assert first["sprints"] == [("orb", SPRINT, "closed")]
    kinds = Counter(kind for _, kind, *_ in first["wins"])
    assert kinds["ticket"] == 2 and kinds["sprint_started"] == 1 and kinds["sprint_closed"] == 1
    assert kinds["badge"] >= 1  # the recompute ran in each workspace (first wins are badges)

    # The worker applied the later workspace's events to its own rows: the first is as it was.
    assert outside_view(app, DEFAULT_WORKSPACE_ID) == first
    assert_nothing_shared(app, [DEFAULT_WORKSPACE_ID, other])
    with runtime_of(app).database.sessions() as session:
        states = Counter(
            tuple(row) for row in session.execute(select(InboundEvent.workspace_id, InboundEvent.state))
        )
        # Each started sprint's scope was refreshed in its own workspace (inferred from its events).
        scoped = session.execute(
            select(Sprint.workspace_id, SprintScopeSource.source).join(
                SprintScopeSource, SprintScopeSource.sprint_id == Sprint.id
            )
        )
        assert sorted(tuple(row) for row in scoped) == [(DEFAULT_WORKSPACE_ID, "events"), (other, "events")]
    assert states == {(DEFAULT_WORKSPACE_ID, "processed"): 8, (other, "processed"): 8}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_claiming_a_project_moves_only_the_workspaces_own_history(make_app: AppFactory, backend: str) -> None:
    app = make_app(backend)
    with runtime_of(app).database.transaction() as session:
        other = create_workspace(session, "other", "Other Inc").id
    store_and_process(app, deliveries(DEFAULT_WORKSPACE_ID))
    store_and_process(app, deliveries(other))
    before = outside_view(app, DEFAULT_WORKSPACE_ID)

    with runtime_of(app).database.transaction() as session:
        registry.create_team(session, "platform", workspace_id=other)
        registry.attach(session, "platform", "project", "ORB", workspace_id=other)
        registry.attach(session, "platform", "board", "1", workspace_id=other)

    moved = outside_view(app, other)
    assert {team for team, *_ in moved["tickets"]} == {"platform"}
    assert {team for team, *_ in moved["sprints"]} == {"platform"}
    assert {team for team, kind, *_ in moved["wins"] if kind in ("ticket", "sprint_closed")} == {"platform"}
    assert outside_view(app, DEFAULT_WORKSPACE_ID) == before  # the implicit workspace's ORB stayed put
    assert_nothing_shared(app, [DEFAULT_WORKSPACE_ID, other])
