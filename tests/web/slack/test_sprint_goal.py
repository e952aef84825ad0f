"""The sprint-end celebration's "Sprint goal met" button: stored once, celebrated once by the engine."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from jobs import digests as digest_jobs
from service.digests import sprint_goal
from service.models import Member, Sprint, Win
from service.teams.registry import create_team
from service.web.extensions import runtime_of
from tests.jobs.helpers import run_jobs
from tests.web.slack.conftest import CHANNEL, USER, WORKSPACE, SlackSender, eventually, load_json

CLOSED_AT = datetime(2026, 11, 20, 16, tzinfo=UTC)
SPRINT_NAME = "Sprint <42> & co"


def add_sprint(app: Flask, team_id: int, *, state: str = "closed", jira_id: int = 42) -> int:
    with runtime_of(app).database.transaction() as session:
        sprint = Sprint(
            team_id=team_id,
            jira_id=jira_id,
            name=SPRINT_NAME,
            state=state,
            goal="Ship search",
            start_at=CLOSED_AT - timedelta(days=14),
            end_at=CLOSED_AT,
            completed_at=CLOSED_AT if state == "closed" else None,
        )
        session.add(sprint)
        session.flush()
        return sprint.id


def celebrated_button(app: Flask, slack: SlackSender, sprint_id: int) -> tuple[dict[str, Any], str]:
    """Post the real sprint-end celebration and return its button and the message's ts."""
    assert digest_jobs.request_sprint_end(sprint_id, runtime_of(app).queue)
    run_jobs(app)
    [message] = slack.standin.messages(CHANNEL)
    [button] = next(b for b in message["blocks"] if b["type"] == "actions")["elements"]
    return button, message["ts"]


def click(button: dict[str, Any], message_ts: str, user: str = USER) -> dict[str, Any]:
    """The corpus block_actions payload, as Slack sends it when ``user`` clicks ``button``."""
    payload = copy.deepcopy(load_json("block_actions.json"))
    payload["user"]["id"] = user
    payload["container"].update(message_ts=message_ts, is_ephemeral=False)
    payload["actions"][0].update(
        action_id=button["action_id"], block_id="sprint_goal", value=button["value"], text=button["text"]
    )
    return payload


def ephemerals_containing(slack: SlackSender, text: str) -> Callable[[], list[dict[str, Any]]]:
    return lambda: [m for m in slack.standin.ephemeral_messages(CHANNEL) if text in m["text"]]


def goal_milestones(app: Flask) -> list[Win]:
    with runtime_of(app).database.sessions() as session:
        return [
            w
            for w in session.scalars(select(Win).where(Win.kind == "milestone"))
            if w.details.get("milestone") == "sprint_goal_met"
        ]


def stored(app: Flask, sprint_id: int) -> Sprint:
    with runtime_of(app).database.sessions() as session:
        sprint = session.get(Sprint, sprint_id)
        assert sprint is not None
        return sprint


def slack_member_id(app: Flask, user: str) -> int:
    with runtime_of(app).database.sessions() as session:
        return session.scalars(
            select(Member.id).where(Member.slack_team_id == WORKSPACE, Member.slack_user_id == user)
        ).one()


def test_clicking_the_button_records_the_goal_and_the_engine_celebrates_it_once(
    slack_app: Flask, slack: SlackSender, linked: int
) -> None:
    sprint_id = add_sprint(slack_app, linked)
    button, ts = celebrated_button(slack_app, slack, sprint_id)
    assert (button["action_id"], button["value"]) == ("sprint_goal_met", str(sprint_id))

    before = datetime.now(UTC)
    response = slack.interaction(click(button, ts))

    assert response.status_code == 200 and response.get_data() == b""
    [answer] = eventually(slack_app, ephemerals_containing(slack, "Sprint goal marked as met — nice work!"))
    assert answer["user"] == USER
    assert "Sprint &lt;42&gt; &amp; co" in answer["text"]  # the sprint's name, escaped
    [milestone] = eventually(slack_app, lambda: goal_milestones(slack_app))
    row = stored(slack_app, sprint_id)
    clicker = slack_member_id(slack_app, USER)
    assert row.goal_met_by_member_id == clicker
    assert row.goal_met_at is not None and row.goal_met_at >= before
    assert milestone.team_id == linked and milestone.source == "engine"
    # Named by outside ids: the sprint by Jira's id, the person by their stable identity.
    assert milestone.details["sprint_ref"] == "42"
    assert milestone.details["confirmed_by"] == f"payments:slack:{WORKSPACE}:{USER}"
    assert milestone.occurred_at == row.goal_met_at

    # A second click (a double click, or a teammate) changes nothing: the first confirmation stands.
    slack.standin.add_user("W222", real_name="Bea")
    slack.interaction(click(button, ts))
    slack.interaction(click(button, ts, user="W222"))

    eventually(slack_app, ephemerals_containing(slack, "already confirmed by you"))
    [by_teammate] = eventually(slack_app, ephemerals_containing(slack, f"already confirmed by <@{USER}>"))
    assert by_teammate["user"] == "W222"
    run_jobs(slack_app)
    assert [w.id for w in goal_milestones(slack_app)] == [milestone.id]
    again = stored(slack_app, sprint_id)
    assert (again.goal_met_at, again.goal_met_by_member_id) == (row.goal_met_at, clicker)


def test_an_open_sprint_is_refused_with_a_clear_message(
    slack_app: Flask, slack: SlackSender, linked: int
) -> None:
    sprint_id = add_sprint(slack_app, linked, state="active")
    button = {
        "action_id": "sprint_goal_met",
        "value": str(sprint_id),
        "text": {"type": "plain_text", "text": "Yes, goal met :tada:", "emoji": True},
    }

    assert slack.interaction(click(button, "1700000000.000100")).status_code == 200

    [answer] = eventually(slack_app, ephemerals_containing(slack, "hasn't closed yet"))
    assert answer["text"].startswith("Sprint &lt;42&gt; &amp; co hasn't closed yet")
    run_jobs(slack_app)
    assert stored(slack_app, sprint_id).goal_met_at is None
    assert goal_milestones(slack_app) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("999999", "couldn't find that sprint"),
        ("not-a-sprint", "couldn't find that sprint"),
        ("99999999999999999999", "couldn't find that sprint"),
    ],
)
def test_a_value_that_names_no_sprint_is_answered(
    slack_app: Flask, slack: SlackSender, linked: int, value: str, expected: str
) -> None:
    button = {"action_id": "sprint_goal_met", "value": value, "text": {"type": "plain_text", "text": "Yes"}}

    slack.interaction(click(button, "1700000000.000100"))

    eventually(slack_app, ephemerals_containing(slack, expected))


def test_another_teams_sprint_cannot_be_confirmed_from_this_channel(
    slack_app: Flask, slack: SlackSender, linked: int
) -> None:
    with runtime_of(slack_app).database.transaction() as session:
        other_team = create_team(session, "search", "Search").id
    sprint_id = add_sprint(slack_app, other_team, jira_id=77)
    button = {
        "action_id": "sprint_goal_met",
        "value": str(sprint_id),
        "text": {"type": "plain_text", "text": "Y"},
    }

    slack.interaction(click(button, "1700000000.000100"))

    eventually(slack_app, ephemerals_containing(slack, "isn't connected to that sprint's team"))
    assert stored(slack_app, sprint_id).goal_met_at is None


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_confirm_sprint_goal_first_confirmation_wins(make_app: Callable[..., Flask], backend: str) -> None:
    app = make_app(backend)
    database = runtime_of(app).database
    with database.transaction() as session:
        team_id = create_team(session, "payments", "Payments").id
        first, second = Member(display_name="Ann"), Member(display_name="Bo")
        session.add_all([first, second])
        session.flush()
        first_id, second_id = first.id, second.id
    closed = add_sprint(app, team_id)
    active = add_sprint(app, team_id, state="active", jira_id=43)
    at = CLOSED_AT + timedelta(hours=1)

    with database.transaction() as session:
        assert sprint_goal.confirm_sprint_goal(session, closed, first_id, at) is True
        assert sprint_goal.confirm_sprint_goal(session, closed, second_id, at + timedelta(minutes=1)) is False
        with pytest.raises(sprint_goal.SprintNotClosed, match="hasn't closed yet"):
            sprint_goal.confirm_sprint_goal(session, active, first_id, at)
        with pytest.raises(sprint_goal.SprintNotFound):
            sprint_goal.confirm_sprint_goal(session, 424242, first_id, at)
        with pytest.raises(ValueError, match="timezone-aware"):
            sprint_goal.confirm_sprint_goal(session, closed, first_id, at.replace(tzinfo=None))

    with database.sessions() as session:
        confirmation = sprint_goal.goal_confirmation(session, closed)
    assert confirmation is not None
    assert confirmation.confirmed_at == at
    assert confirmation.confirmed_by is not None and confirmation.confirmed_by.id == first_id
