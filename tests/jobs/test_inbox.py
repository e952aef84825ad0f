"""Webhook -> inbox -> job -> recorded wins, on SQLite (embedded) and on Postgres + Redis with RQ."""

from __future__ import annotations

import random
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AppFactory, load_jira, post_jira
from tests.jobs.helpers import (
    BACKENDS,
    inbox_states,
    issue_payload,
    run_jobs,
    sprint_object,
    sprint_payload,
    sprints,
    teams,
    ticket,
    wins,
)

T0 = 1_763_900_000_000  # 2025-11-23, in payload milliseconds
RESOLVED = "webhook-issue-updated-resolved.json"
REOPENED = "webhook-issue-updated-reopened.json"


@pytest.fixture(params=BACKENDS)
def pipeline_app(request: pytest.FixtureRequest, make_app: AppFactory) -> Flask:
    if request.param == "postgres":
        return make_app("postgres", redis=request.getfixturevalue("redis_url"))
    return make_app("sqlite")


def deliver(client: FlaskClient, deliveries: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [post_jira(client, payload, delivery_id=did).json["status"] for did, payload in deliveries]


def test_corpus_story_of_one_issue(pipeline_app: Flask) -> None:
    client = pipeline_app.test_client()
    for name in ["webhook-issue-created.json", "webhook-issue-updated-started-working.json", RESOLVED]:
        assert post_jira(client, load_jira(name)).status_code == 202
    run_jobs(pipeline_app)
    [win] = wins(pipeline_app)
    assert (win.kind, win.status, win.source, win.source_key) == ("ticket", "active", "jira", "TES-41")
    assert win.title == "TES-41: Unit test summary 1"
    assert win.url == "https://some-instance-test.atlassian.net/browse/TES-41"
    assert win.details["issue_type"] == "Story"
    assert win.member is not None and win.member.display_name == "Test User"  # no assignee: the actor
    assert int(win.occurred_at.timestamp() * 1000) == 1550286940507
    assert inbox_states(pipeline_app) == ["processed"] * 3
    assert list(teams(pipeline_app)) == ["tes"]


def test_same_deliveries_five_times_out_of_order(pipeline_app: Flask) -> None:
    """Jira retries and reorders; every delivery five times, shuffled, ends where the timestamps say."""
    story = [
        ("d-created", issue_payload("webhook-issue-created.json", timestamp=T0)),
        ("d-started", issue_payload("webhook-issue-updated-started-working.json", timestamp=T0 + 1000)),
        ("d-resolved", issue_payload(RESOLVED, timestamp=T0 + 2000, assignee=("acc-ada", "Ada"), points=5)),
        ("d-reopened", issue_payload(REOPENED, timestamp=T0 + 3000)),
        ("d-again", issue_payload(RESOLVED, timestamp=T0 + 4000, assignee=("acc-bob", "Bob"), points=8)),
    ]
    deliveries = story * 5
    random.Random(7).shuffle(deliveries)
    client = pipeline_app.test_client()
    answers = deliver(client, deliveries)
    assert answers.count("accepted") == 5 and answers.count("duplicate") == 20
    run_jobs(pipeline_app)
    [win] = wins(pipeline_app)
    assert win.status == "active"
    assert win.member is not None and win.member.display_name == "Bob"
    assert win.points == 8
    assert int(win.occurred_at.timestamp() * 1000) == T0 + 4000
    assert set(inbox_states(pipeline_app)) == {"processed"}


def test_reopen_retracts_and_completion_reactivates_the_same_win(pipeline_app: Flask) -> None:
    client = pipeline_app.test_client()
    deliver(client, [("r1", issue_payload(RESOLVED, timestamp=T0, assignee=("acc-ada", "Ada")))])
    run_jobs(pipeline_app)
    [first] = wins(pipeline_app)
    assert first.status == "active"

    deliver(client, [("o1", issue_payload(REOPENED, timestamp=T0 + 10))])
    run_jobs(pipeline_app)
    [retracted] = wins(pipeline_app)
    assert (retracted.id, retracted.status) == (first.id, "retracted")
    assert ticket(pipeline_app, "TES-41").done is False

    deliver(client, [("r2", issue_payload(RESOLVED, timestamp=T0 + 20, assignee=("acc-ada", "Ada")))])
    run_jobs(pipeline_app)
    [again] = wins(pipeline_app)
    assert (again.id, again.status) == (first.id, "active")
    assert int(again.occurred_at.timestamp() * 1000) == T0 + 20


def test_late_resolution_after_reopen_does_not_resurrect(pipeline_app: Flask) -> None:
    client = pipeline_app.test_client()
    deliver(client, [("o1", issue_payload(REOPENED, timestamp=T0 + 10))])
    run_jobs(pipeline_app)
    deliver(client, [("r1", issue_payload(RESOLVED, timestamp=T0))])  # delivered 30 minutes late
    run_jobs(pipeline_app)
    assert wins(pipeline_app) == []
    assert ticket(pipeline_app, "TES-41").done is False


def test_server_resolved_then_closed_is_one_win(pipeline_app: Flask) -> None:
    resolved = issue_payload(RESOLVED, timestamp=T0, status=("Resolved", "done"), resolution="Fixed")
    resolved["issue_event_type_name"] = "issue_resolved"
    closed = issue_payload(RESOLVED, timestamp=T0 + 60_000, status=("Closed", "done"), resolution="Fixed")
    closed["issue_event_type_name"] = "issue_closed"
    closed["changelog"]["items"] = [{"field": "status", "fromString": "Resolved", "toString": "Closed"}]
    deliver(pipeline_app.test_client(), [("s1", resolved), ("s2", closed)])
    run_jobs(pipeline_app)
    [win] = wins(pipeline_app)
    assert win.status == "active"
    assert int(win.occurred_at.timestamp() * 1000) == T0  # the first completion, not the move


def test_resolution_without_done_status_is_complete(pipeline_app: Flask) -> None:
    payload = issue_payload(
        RESOLVED, timestamp=T0, status=("Awaiting deploy", "indeterminate"), resolution="Done"
    )
    deliver(pipeline_app.test_client(), [("x", payload)])
    run_jobs(pipeline_app)
    assert [w.status for w in wins(pipeline_app)] == ["active"]


def test_assignee_gets_the_credit_and_points_are_read(pipeline_app: Flask) -> None:
    payload = issue_payload(RESOLVED, timestamp=T0, assignee=("acc-grace", "Grace Hopper"), points=3)
    deliver(pipeline_app.test_client(), [("a", payload)])
    run_jobs(pipeline_app)
    [win] = wins(pipeline_app)
    assert win.member is not None and win.member.display_name == "Grace Hopper"
    assert win.member.jira_account_id == "acc-grace"
    assert win.points == 3


def test_sprint_started_and_closed_record_team_wins(pipeline_app: Flask) -> None:
    client = pipeline_app.test_client()
    in_sprint = [sprint_object(9)]
    deliveries = [
        ("sp-start", sprint_payload("started", 9, T0, goal="Make onboarding delightful")),
        ("i1", issue_payload(RESOLVED, key="TES-1", timestamp=T0 + 10, points=3, sprints=in_sprint)),
        ("i2", issue_payload(RESOLVED, key="TES-2", timestamp=T0 + 20, points=5, sprints=in_sprint)),
        (
            "i3",
            issue_payload(
                "webhook-issue-updated-started-working.json",
                key="TES-3",
                timestamp=T0 + 30,
                points=2,
                sprints=in_sprint,
            ),
        ),
        ("sp-close", sprint_payload("closed", 9, T0 + 100, state="closed")),
    ]
    deliver(client, deliveries)
    run_jobs(pipeline_app)
    started = wins(pipeline_app, "sprint_started")
    closed = wins(pipeline_app, "sprint_closed")
    assert [w.title for w in started] == ["Sprint 9 started with the goal: Make onboarding delightful"]
    assert [w.title for w in closed] == ["Sprint 9 closed: 2 issues and 8 points done"]
    assert closed[0].details["issues_total"] == 3
    # Sprint events name only a board; the issues' team claims it, so all wins are the project's team.
    assert {w.team_id for w in wins(pipeline_app)} == {teams(pipeline_app)["tes"].id}
    assert sprints(pipeline_app)[9].state == "closed"

    # A completion delivered after the close still counts in the sprint's win.
    deliver(
        client,
        [("i3-late", issue_payload(RESOLVED, key="TES-3", timestamp=T0 + 90, points=2, sprints=in_sprint))],
    )
    run_jobs(pipeline_app)
    [closed_win] = wins(pipeline_app, "sprint_closed")
    assert closed_win.title == "Sprint 9 closed: 3 issues and 10 points done"


def test_sprint_events_out_of_order_keep_the_latest_state(pipeline_app: Flask) -> None:
    deliver(
        pipeline_app.test_client(),
        [
            ("c", sprint_payload("closed", 5, T0 + 100, state="closed")),
            ("s", sprint_payload("started", 5, T0)),
        ],
    )
    run_jobs(pipeline_app)
    assert sprints(pipeline_app)[5].state == "closed"
    assert {w.kind for w in wins(pipeline_app)} == {"sprint_started", "sprint_closed"}


def test_deleted_sprint_retracts_its_wins(pipeline_app: Flask) -> None:
    deliver(
        pipeline_app.test_client(),
        [
            ("s", sprint_payload("started", 6, T0)),
            ("d", sprint_payload("deleted", 6, T0 + 5)),
        ],
    )
    run_jobs(pipeline_app)
    assert [w.status for w in wins(pipeline_app)] == ["retracted"]


def test_changelog_sprint_names_set_membership(pipeline_app: Flask) -> None:
    deliver(
        pipeline_app.test_client(), [("m", issue_payload("webhook-issue-updated-sprint.json", timestamp=T0))]
    )
    run_jobs(pipeline_app)
    listed = pipeline_app.test_client().get("/api/v1/teams/tes/sprints").json["sprints"]
    assert {s["name"]: s["issues_total"] for s in listed} == {"Sprint 1": 0, "Sprint 2": 1}


def test_each_project_gets_its_own_team(pipeline_app: Flask) -> None:
    deliver(
        pipeline_app.test_client(),
        [
            ("a", issue_payload(RESOLVED, key="ABC-1", timestamp=T0)),
            ("b", issue_payload(RESOLVED, key="XYZ-9", timestamp=T0)),
        ],
    )
    run_jobs(pipeline_app)
    found = teams(pipeline_app)
    assert set(found) == {"abc", "xyz"}
    assert {w.team_id for w in wins(pipeline_app)} == {found["abc"].id, found["xyz"].id}


def test_malformed_known_event_is_parked_not_retried_forever(pipeline_app: Flask) -> None:
    client = pipeline_app.test_client()
    deliver(
        client,
        [
            ("bad", {"webhookEvent": "jira:issue_updated", "timestamp": T0, "issue": {"fields": {}}}),
            ("good", issue_payload(RESOLVED, timestamp=T0)),
        ],
    )
    run_jobs(pipeline_app)
    assert inbox_states(pipeline_app) == ["failed", "processed"]
    assert len(wins(pipeline_app)) == 1


def test_many_issues_across_batches(make_app: AppFactory) -> None:
    app = make_app("sqlite", inbox_batch_size=40)
    client = app.test_client()
    deliver(
        client, [(f"k{n}", issue_payload(RESOLVED, key=f"BIG-{n}", timestamp=T0 + n)) for n in range(150)]
    )
    run_jobs(app)
    assert len(wins(app, "ticket")) == 150
    assert set(inbox_states(app)) == {"processed"}
