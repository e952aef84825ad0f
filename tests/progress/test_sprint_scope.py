"""Sprint scope: the refresh job against the Jira stand-in, and the events-only fallback.

The pure rules are tested in ``tests/domain/test_sprint_scope.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from integrations.jira.parse import parse_event
from jobs import scope as scope_jobs
from jobs.queue import RQJobQueue, connect_redis
from service.domain.events import IssueChanged, IssueCommented, SprintAction, SprintChanged, SprintRef
from service.domain.sprint_scope import ScopeSummary
from service.models import JiraPointsField, SprintScopeItem, SprintScopeSource
from service.progress import sprint_scope as scope
from service.web.extensions import runtime_of
from tests.conftest import AppFactory, post_jira
from tests.jobs.helpers import issue_payload, run_jobs, sprint_object, sprint_payload
from tests.standins.jira_api import JiraStandIn
from tests.standins.jira_board import BOARD, jira_settings

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
BEFORE, AFTER, LATER = START - timedelta(days=1), START + timedelta(hours=1), START + timedelta(days=2)
START_MS = int(START.timestamp() * 1000)


# -- the refresh job against the stand-in ---------------------------------------------------------------


def _start_sprint_by_webhook(app: Flask, sprint_id: int = 12) -> None:
    payload = sprint_payload("started", sprint_id, START_MS, board=BOARD, name=f"Sprint {sprint_id}")
    payload["sprint"]["startDate"] = "2026-11-02T09:00:00.000Z"  # START, as the stand-in's sprint 12
    assert post_jira(app.test_client(), payload, delivery_id=f"start-{sprint_id}").status_code == 202
    run_jobs(app)


def _scope_rows(app: Flask) -> list[tuple[Any, ...]]:
    with runtime_of(app).database.sessions() as session:
        rows = session.scalars(select(SprintScopeItem).order_by(SprintScopeItem.issue_key))
        return [
            (
                r.issue_key,
                r.points,
                r.committed,
                r.added_at,
                r.removed_at,
                r.done,
                r.done_at,
                r.assignee_id,
                r.source,
            )
            for r in rows
        ]


def _origin(app: Flask) -> tuple[str, str | None, datetime]:
    with runtime_of(app).database.sessions() as session:
        origin = session.scalars(select(SprintScopeSource)).one()
        return origin.source, origin.points_field, origin.changed_at


def _summary(app: Flask, sprint_jira_id: int = 12) -> ScopeSummary:
    with runtime_of(app).database.sessions() as session:
        sprint = scope.sprint_by_jira_id(session, sprint_jira_id)
        assert sprint is not None
        return scope.scope_for_sprint(session, sprint)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_refresh_stores_scope_and_is_idempotent(
    make_app: AppFactory, standin: JiraStandIn, backend: str
) -> None:
    app = make_app(backend, **jira_settings(standin))
    _start_sprint_by_webhook(app)
    standin.add_issue(
        "SRCH-1",
        [12],
        points=3,
        status_category="done",
        assignee="ada",
        resolutiondate="2026-11-03T10:00:00Z",
    )
    standin.add_issue("SRCH-2", [12], points=5)
    standin.add_issue("SRCH-3", [12], points=None, created="2026-11-03T12:00:00Z")  # created mid-sprint

    first = scope_jobs.refresh_sprint_scope(12)
    rows = _scope_rows(app)
    source, points_field, changed_at = _origin(app)
    again = scope_jobs.refresh_sprint_scope(12)

    assert (first["status"], first["issues"], first["changed"]) == ("stored", 3, 3)
    assert (again["issues"], again["changed"]) == (3, 0)
    assert _scope_rows(app) == rows
    assert _origin(app) == (source, points_field, changed_at)  # nothing new: not even the time moved
    assert (source, points_field) == ("jira", standin.flavour.points_field_id)
    assert [(r[0], r[1], r[2], r[5]) for r in rows] == [
        ("SRCH-1", 3.0, True, True),
        ("SRCH-2", 5.0, True, False),
        ("SRCH-3", None, False, False),
    ]
    assert rows[0][6] == datetime(2026, 11, 3, 10, tzinfo=UTC)
    assert rows[0][7] is not None  # ada became a member
    summary = _summary(app)
    assert (summary.source, summary.committed_issues, summary.committed_points) == ("jira", 2, 8.0)
    assert (summary.completed_issues, summary.completed_points, summary.added_issues) == (1, 3.0, 1)
    # The points field was resolved once, from the board, and is remembered for the next refresh.
    assert len(standin.calls_to(f"/rest/agile/1.0/board/{BOARD}/configuration")) == 1
    assert standin.calls_to("/rest/api/2/field") == []
    with runtime_of(app).database.sessions() as session:
        cached = session.scalars(select(JiraPointsField)).one()
        assert (cached.site, cached.board_id, cached.field_id) == (
            standin.url,
            BOARD,
            standin.flavour.points_field_id,
        )


def test_refresh_sees_scope_change_and_completion(make_app: AppFactory, standin: JiraStandIn) -> None:
    app = make_app("sqlite", **jira_settings(standin))
    _start_sprint_by_webhook(app)
    standin.add_issue("SRCH-1", [12], points=3)
    standin.add_issue("SRCH-2", [12], points=5)
    scope_jobs.refresh_sprint_scope(12)

    standin.add_issue("SRCH-1", [12], points=3, status_category="done", resolutiondate="2026-11-04T10:00:00Z")
    standin.add_issue("SRCH-2", [], points=5)  # moved out of the sprint
    standin.add_issue("SRCH-4", [12], points=2)  # pulled in
    result = scope_jobs.refresh_sprint_scope(12)

    assert result["changed"] == 3
    summary = _summary(app)
    assert (summary.committed_issues, summary.committed_points) == (1, 3.0)
    assert (summary.completed_issues, summary.completed_points) == (1, 3.0)
    assert (summary.added_issues, summary.removed_issues) == (1, 1)


def test_a_sprint_gone_from_jira_empties_its_scope(make_app: AppFactory, standin: JiraStandIn) -> None:
    app = make_app("sqlite", **jira_settings(standin))
    _start_sprint_by_webhook(app, 77)
    standin.add_sprint(77, BOARD, "Sprint 77", "active", start=START)
    standin.add_issue("SRCH-9", [77], points=1)
    scope_jobs.refresh_sprint_scope(77)
    with standin._lock:  # the stand-in has no deletion API; Jira answers 404 for a deleted sprint
        del standin._sprints[77]

    assert scope_jobs.refresh_sprint_scope(77)["status"] == "gone from Jira"
    assert [row[4] is not None for row in _scope_rows(app)] == [True]


def test_a_sprint_we_do_not_know_is_left_alone(make_app: AppFactory, standin: JiraStandIn) -> None:
    make_app("sqlite", **jira_settings(standin))

    assert scope_jobs.refresh_sprint_scope(12) == {"sprint": 12, "status": "unknown sprint"}
    assert standin.calls == []


def test_refresh_requests_are_unique_per_sprint_per_minute(redis_url: str) -> None:
    # Real RQ on Redis: the jobs wait in the queue (nothing works it here) and the flush removes them.
    queue = RQJobQueue(connect_redis(redis_url), "scope-test")
    minute = 1_800_000_000.0

    assert scope_jobs.request_scope_refresh([12, 13, 12], queue, now=minute) == [12, 13]
    assert scope_jobs.request_scope_refresh([12], queue, now=minute + 59) == []
    assert scope_jobs.request_scope_refresh([12], queue, now=minute + 60) == [12]
    period = int(minute // 60)
    assert sorted(queue.rq.job_ids) == [
        f"scope-refresh-12-{period}",
        f"scope-refresh-12-{period + 1}",
        f"scope-refresh-13-{period}",
    ]
    job = queue.rq.fetch_job(f"scope-refresh-13-{period}")
    assert job is not None and (job.func_name, job.args) == ("jobs.scope.refresh_sprint_scope", [13])


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], set()),
        ([SprintChanged(0, START, SprintAction.STARTED, SprintRef(12), None)], {12}),
        ([SprintChanged(0, START, SprintAction.UPDATED, SprintRef(12), None)], {12}),
        ([SprintChanged(0, START, SprintAction.CLOSED, SprintRef(12), None)], set()),
        ([IssueCommented(0, START, "SRCH-1", "SRCH")], set()),
    ],
)
def test_scope_refresh_targets(events: list[Any], expected: set[int]) -> None:
    assert scope_jobs.scope_refresh_targets(events) == expected


def test_scope_refresh_targets_of_an_issue_moving_between_sprints() -> None:
    # The corpus payload's changelog names the sprints ("Sprint 1" -> "Sprint 2") without ids.
    sprint = [sprint_object(12, board=BOARD)]
    moved = issue_payload(
        "webhook-issue-updated-sprint.json", key="SRCH-1", timestamp=START_MS, sprints=sprint
    )
    event = parse_event(moved, received_at_ms=START_MS)
    assert isinstance(event, IssueChanged) and event.sprint_move is not None
    edited = issue_payload("webhook-issue-updated-started-working.json", timestamp=START_MS, sprints=sprint)

    assert scope_jobs.scope_refresh_targets([event]) == {12}
    assert scope_jobs.scope_refresh_targets([parse_event(edited, received_at_ms=START_MS)]) == set()


# -- no credentials: inferred from events ---------------------------------------------------------------


def _deliver_sprint_issues(app: Flask) -> None:
    client = app.test_client()
    _start_sprint_by_webhook(app)
    sprint = [sprint_object(12, board=BOARD)]
    deliveries = [
        issue_payload(
            "webhook-issue-created.json", key="SRCH-1", timestamp=START_MS + 1000, points=3, sprints=sprint
        ),
        issue_payload(
            "webhook-issue-created.json", key="SRCH-2", timestamp=START_MS + 2000, points=5, sprints=sprint
        ),
        issue_payload(
            "webhook-issue-updated-resolved.json",
            key="SRCH-1",
            timestamp=START_MS + 3000,
            points=3,
            sprints=sprint,
            assignee=("acc-ada", "Ada"),
        ),
    ]
    for n, payload in enumerate(deliveries):
        payload["issue"]["fields"]["created"] = "2026-10-30T10:00:00.000+0000"  # planned before the start
        assert post_jira(client, payload, delivery_id=f"issue-{n}").status_code == 202
    run_jobs(app)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_without_credentials_scope_is_inferred_from_events(make_app: AppFactory, backend: str) -> None:
    app = make_app(backend)
    _deliver_sprint_issues(app)

    live = _summary(app)
    result = scope_jobs.refresh_sprint_scope(12)
    stored = _summary(app)

    assert (live.source, live.committed_issues, live.committed_points) == ("events", 2, 8.0)
    assert (live.completed_issues, live.completed_points) == (1, 3.0)
    assert (result["source"], result["issues"], result["changed"]) == ("events", 2, 2)
    assert stored == live
    assert scope_jobs.refresh_sprint_scope(12)["changed"] == 0
    response = app.test_client().get("/api/v1/teams/srch/sprints/12/scope")
    assert response.status_code == 200
    assert response.json["scope_source"] == "events"
    assert (response.json["committed_issues"], response.json["completed_points"]) == (2, 3.0)


def test_scope_endpoint_with_jira_lists_the_issues(make_app: AppFactory, standin: JiraStandIn) -> None:
    app = make_app("sqlite", **jira_settings(standin))
    _deliver_sprint_issues(app)
    standin.add_issue("SRCH-1", [12], points=3, status_category="done", resolutiondate="2026-11-02T09:00:03Z")
    standin.add_issue("SRCH-2", [12], points=5)
    scope_jobs.refresh_sprint_scope(12)
    client = app.test_client()

    body = client.get("/api/v1/teams/srch/sprints/12/scope").json

    assert body["scope_source"] == "jira"
    assert (body["committed_issues"], body["committed_points"], body["completed_issues"]) == (2, 8.0, 1)
    assert [(i["issue_key"], i["committed"], i["done"]) for i in body["issues"]] == [
        ("SRCH-1", True, True),
        ("SRCH-2", True, False),
    ]
    assert client.get("/api/v1/teams/srch/sprints/99/scope").status_code == 404
    assert client.get("/api/v1/teams/nope/sprints/12/scope").status_code == 404


def test_a_ticket_event_newer_than_the_stored_scope_has_the_last_word(
    make_app: AppFactory, standin: JiraStandIn
) -> None:
    app = make_app("sqlite", **jira_settings(standin))
    _start_sprint_by_webhook(app)
    standin.add_issue("SRCH-1", [12], points=3)
    scope_jobs.refresh_sprint_scope(12)
    assert _summary(app).completed_issues == 0

    sprint = [sprint_object(12, board=BOARD)]
    later_ms = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp() * 1000)
    resolved = issue_payload(
        "webhook-issue-updated-resolved.json", key="SRCH-1", timestamp=later_ms, points=3, sprints=sprint
    )
    post_jira(app.test_client(), resolved, delivery_id="resolved-later")
    run_jobs(app)

    assert (_summary(app).source, _summary(app).completed_issues, _summary(app).completed_points) == (
        "jira",
        1,
        3.0,
    )
