"""Poison deliveries through the real endpoint and a real worker: parked at once, neighbours recorded.

Each bad value here once crashed the worker; the crash re-ran the batch row by row and took five
attempts before the row was parked. Now the parser bounds every field, and whatever the database
still refuses is parked as failed, with its reason, on the first attempt.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from service.models import InboundEvent, Member, Sprint
from service.web.extensions import runtime_of
from tests.conftest import AppFactory, post_jira
from tests.jobs.helpers import BACKENDS, issue_payload, run_jobs, sprint_payload, ticket, wins

T0 = 1_763_900_000_000
RESOLVED = "webhook-issue-updated-resolved.json"


@pytest.fixture(params=BACKENDS)
def pipeline_app(request: pytest.FixtureRequest, make_app: AppFactory) -> Flask:
    if request.param == "postgres":
        return make_app("postgres", redis=request.getfixturevalue("redis_url"))
    return make_app("sqlite")


def inbox(app: Flask) -> dict[str, InboundEvent]:
    with runtime_of(app).database.sessions() as session:
        return {row.delivery_id: row for row in session.scalars(select(InboundEvent))}


def resolved(key: str, **fields: Any) -> dict[str, Any]:
    payload = issue_payload(RESOLVED, key=key, timestamp=T0, assignee=("acc-ada", "Ada"))
    payload["issue"]["fields"].update(fields)
    return payload


def deliver_with_neighbours(app: Flask, poison: dict[str, Any]) -> None:
    client = app.test_client()
    for did, payload in [
        ("good-1", resolved("GOOD-1")),
        ("poison", poison),
        ("good-2", resolved("GOOD-2")),
    ]:
        assert post_jira(client, payload, delivery_id=did).status_code == 202
    run_jobs(app)  # no job fails: nothing is left for a retry


def assert_neighbours_recorded(app: Flask) -> None:
    rows = inbox(app)
    assert (rows["good-1"].state, rows["good-2"].state) == ("processed", "processed")
    assert {w.source_key for w in wins(app, "ticket")} >= {"GOOD-1", "GOOD-2"}


def _long_key() -> dict[str, Any]:
    payload = resolved("GOOD-3")
    payload["issue"]["key"] = "K" * 30 + "-" + "1" * 40
    return payload


def _long_account() -> dict[str, Any]:
    return resolved("POI-1", assignee={"accountId": "a" * 129, "displayName": "Long"})


PARKED = [
    pytest.param(_long_key, "issue.key is longer than 64", id="over-long-issue-key"),
    pytest.param(_long_account, "accountId is longer than 128", id="over-long-account-id"),
    pytest.param(lambda: sprint_payload("started", 2**63, T0), "no sprint.id", id="sprint-id-past-64-bits"),
]


@pytest.mark.parametrize(("make_poison", "reason"), PARKED)
def test_a_field_out_of_bounds_is_parked_on_the_first_attempt(
    pipeline_app: Flask, make_poison: Any, reason: str
) -> None:
    deliver_with_neighbours(pipeline_app, make_poison())
    poison = inbox(pipeline_app)["poison"]
    assert poison.state == "failed"
    assert reason in (poison.error or "")
    assert_neighbours_recorded(pipeline_app)


def test_values_that_crashed_the_worker_are_bounded_and_recorded(pipeline_app: Flask) -> None:
    """NUL anywhere, dates past year 9999 or before 1970, over-long names, emails and sprint names."""
    sprints = [
        {"id": 7, "name": "S\x00" + "s" * 300, "state": "active", "goal": "g\x00", "boardId": 2**64 - 1}
    ]
    poison = resolved(
        "POI-1",
        summary="nul\x00 summary",
        labels=["a\x00b"],
        created=10**17,
        assignee={"accountId": "acc-\x00long", "displayName": "N" * 300, "emailAddress": "e" * 400},
        status={"name": "Done\x00" + "d" * 200, "statusCategory": {"key": "done"}},
        issuetype={"name": "t\x00" * 100},
        project={"key": "POI", "name": "P" * 300},
        customfield_10020=sprints,
        customfield_10016="1e999",
    )
    deliver_with_neighbours(pipeline_app, poison)
    assert inbox(pipeline_app)["poison"].state == "processed"
    assert_neighbours_recorded(pipeline_app)
    saved = ticket(pipeline_app, "POI-1")
    assert (saved.summary, saved.labels, saved.jira_created_at, saved.points) == (
        "nul summary",
        ["ab"],
        None,
        None,
    )
    assert saved.status_name is not None and len(saved.status_name) == 100
    with runtime_of(pipeline_app).database.sessions() as session:
        member = session.scalars(select(Member).where(Member.jira_account_id == "acc-long")).one()
        assert (len(member.display_name), member.email) == (200, None)
        sprint = session.scalars(select(Sprint).where(Sprint.jira_id == 7)).one()
        assert (len(sprint.name), sprint.goal, sprint.board_id) == (200, "g", None)


def _refuse_tickets_keyed(app: Flask, key: str) -> None:
    """Make the database itself refuse one ticket's row, as it refuses a value that does not fit."""
    database = runtime_of(app).database
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            connection.execute(
                text(
                    "CREATE OR REPLACE FUNCTION refuse_ticket() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'value too long' USING ERRCODE = 'string_data_right_truncation'; "
                    "END $$ LANGUAGE plpgsql"
                )
            )
            connection.execute(text("DROP TRIGGER IF EXISTS refuse_ticket ON tickets"))
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_ticket BEFORE INSERT ON tickets FOR EACH ROW "
                    f"WHEN (NEW.issue_key = '{key}') EXECUTE FUNCTION refuse_ticket()"
                )
            )
        else:  # SQLite says "string or blob too big", its DataError
            connection.execute(
                text(
                    f"CREATE TRIGGER refuse_ticket BEFORE INSERT ON tickets WHEN NEW.issue_key = '{key}' "
                    "BEGIN SELECT zeroblob(2000000000); END"
                )
            )


def _drop_refusal(app: Flask) -> None:
    database = runtime_of(app).database
    with database.engine.begin() as connection:
        on = " ON tickets" if database.dialect == "postgresql" else ""
        connection.execute(text(f"DROP TRIGGER IF EXISTS refuse_ticket{on}"))


def test_a_row_the_database_refuses_is_parked_once_and_its_batch_recorded(pipeline_app: Flask) -> None:
    _refuse_tickets_keyed(pipeline_app, "POI-9")
    try:
        deliver_with_neighbours(pipeline_app, resolved("POI-9"))
    finally:
        _drop_refusal(pipeline_app)
    poison = inbox(pipeline_app)["poison"]
    assert (poison.state, poison.attempts) == ("failed", 1)
    assert "DataError" in (poison.error or "") or "StringDataRightTruncation" in (poison.error or "")
    assert_neighbours_recorded(pipeline_app)
