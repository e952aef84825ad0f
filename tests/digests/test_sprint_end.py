"""When a sprint closes, the team's channel gets one sprint-end celebration."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from jobs import digests as digest_jobs
from service.models import SlackPost
from service.models.digests import StoredDigest
from service.web.extensions import runtime_of
from tests.digests.conftest import Seed
from tests.standins.slack_api import SlackStandIn

CLOSED = datetime(2026, 11, 20, 16, tzinfo=UTC)


def _sprint_with_win(seed: Seed, team_id: int) -> tuple[int, int]:
    sprint_id = seed.closed_sprint(
        team_id, 42, done=3, open_=1, completed_at=CLOSED, goal="Ship <search> & filters"
    )
    win_id = seed.win(
        team_id, "Sprint 42 closed", CLOSED, kind="sprint_closed", points=9, source_key="sprint:42"
    )
    seed.win(team_id, "Search results page", CLOSED - timedelta(days=2), points=5)
    return sprint_id, win_id


def test_the_celebration_is_posted_once_with_the_goal_button(
    slack_app: Flask, seed: Seed, standin: SlackStandIn
) -> None:
    team_id = seed.team()
    seed.link(team_id, "C0WINS", schedule="sprint-end")
    seed.link(team_id, "C0OFF", schedule="off")  # "off" also silences the celebration
    sprint_id, win_id = _sprint_with_win(seed, team_id)

    first = digest_jobs.celebrate_sprint_end(sprint_id)
    second = digest_jobs.celebrate_sprint_end(sprint_id)

    [message] = standin.messages("C0WINS")
    assert standin.messages("C0OFF") == []
    assert (
        [d["state"] for d in first["deliveries"]] == [d["state"] for d in second["deliveries"]] == ["posted"]
    )
    header = message["blocks"][0]["text"]["text"]
    assert header == ":checkered_flag: Sprint 42 is done: 3 issues, 9 points"
    assert "Ship &lt;search&gt; &amp; filters" in message["text"]
    [button] = next(b for b in message["blocks"] if b["type"] == "actions")["elements"]
    assert (button["action_id"], button["value"]) == ("sprint_goal_met", str(sprint_id))
    with runtime_of(slack_app).database.sessions() as session:
        [post] = session.scalars(select(SlackPost))
        [row] = session.scalars(select(StoredDigest))
    assert (post.ts, post.win_id, post.digest_id) == (
        message["ts"],
        win_id,
        row.id,
    )  # reactions cheer the win
    assert (row.kind, row.period_key) == ("sprint_end", f"sprint-end:{sprint_id}")


def test_an_open_sprint_is_not_celebrated(slack_app: Flask, seed: Seed, standin: SlackStandIn) -> None:
    team_id = seed.team()
    seed.link(team_id)
    with runtime_of(slack_app).database.transaction() as session:
        from service.models import Sprint

        sprint = Sprint(team_id=team_id, jira_id=7, name="Sprint 7", state="active")
        session.add(sprint)
        session.flush()
        sprint_id = sprint.id

    assert digest_jobs.celebrate_sprint_end(sprint_id)["state"] == "not_closed"
    assert standin.messages() == []


def test_the_tick_catches_up_a_recent_sprint_nobody_celebrated(
    make_app: Callable[..., Flask], standin: SlackStandIn, redis_url: str
) -> None:
    app = make_app(
        "sqlite",
        redis=redis_url,
        slack_bot_token="xoxb-1",
        slack_signing_secret="s",
        slack_api_url=standin.url + "/api/",
    )
    seed = Seed(app)
    team_id = seed.team()
    seed.link(team_id, schedule="sprint-end")
    sprint_id, _ = _sprint_with_win(seed, team_id)

    assert digest_jobs.schedule_tick("2026-11-21T09:00:00+00:00")["enqueued"] == [f"sprint-end-{sprint_id}"]
    assert digest_jobs.request_sprint_end(sprint_id) is False  # the hook finds it already requested
    assert digest_jobs.schedule_tick("2026-11-23T09:00:00+00:00")["enqueued"] == []  # too old to catch up


def test_without_slack_the_celebration_is_rendered_and_stored(make_app: Callable[..., Flask]) -> None:
    app = make_app("sqlite")
    seed = Seed(app)
    team_id = seed.team()
    sprint_id, _ = _sprint_with_win(seed, team_id)

    [delivery] = digest_jobs.celebrate_sprint_end(sprint_id)["deliveries"]

    assert delivery["state"] == "rendered" and delivery["channel"] == "console"
    with runtime_of(app).database.sessions() as session:
        [row] = session.scalars(select(StoredDigest))
    assert row.state == "rendered" and "Sprint 42 is done" in row.text
