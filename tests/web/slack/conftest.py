"""Signed Slack requests built from the corpus, a Slack Web API stand-in, and an app wired to both."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from slack_sdk.signature import SignatureVerifier
from werkzeug.test import TestResponse

from service.models import Team
from service.teams.registry import create_team
from service.web.extensions import runtime_of
from service.web.slack.routes import SLACK_HANDLER
from tests.conftest import corpus_file
from tests.jobs.helpers import run_jobs
from tests.standins.slack_api import SlackStandIn

SIGNING_SECRET = "test-slack-signing-secret"
BOT_TOKEN = "xoxb-111-222-standinbot"
WORKSPACE = "T111"  # the corpus payloads' team
USER = "W111"  # the corpus payloads' user
CHANNEL = "C111"


def load_json(name: str) -> dict[str, Any]:
    return json.loads(corpus_file("slack", name).read_text())


def command_fields(command: str, text: str, **changes: str) -> dict[str, str]:
    """The corpus slash command, re-addressed to one of our commands."""
    fields = dict(parse_qsl(corpus_file("slack", "slash_command.form-urlencoded.txt").read_text().strip()))
    fields.update(command=command, text=text, **changes)
    return fields


def signed_headers(
    body: str, content_type: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body),
    }


class SlackSender:
    """Sends requests the way Slack does: JSON events, form commands, ``payload=`` interactivity."""

    def __init__(self, client: FlaskClient, standin: SlackStandIn) -> None:
        self.client = client
        self.standin = standin
        self._triggers = 0

    def raw(self, body: str, content_type: str, **sign: Any) -> TestResponse:
        return self.client.post(
            "/slack/events", data=body.encode(), headers=signed_headers(body, content_type, **sign)
        )

    def event(self, payload: dict[str, Any], **sign: Any) -> TestResponse:
        return self.raw(json.dumps(payload), "application/json", **sign)

    def command(self, command: str, text: str, **changes: str) -> TestResponse:
        self._triggers += 1
        defaults = {
            "response_url": self.standin.response_url(f"commands/{self._triggers}"),
            "trigger_id": f"111.{self._triggers}.trigger",
        }
        fields = command_fields(command, text, **{**defaults, **changes})
        return self.raw(urlencode(fields), "application/x-www-form-urlencoded")

    def interaction(self, payload: dict[str, Any]) -> TestResponse:
        return self.raw(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def event_payload(event: dict[str, Any], event_id: str, team: str = WORKSPACE) -> dict[str, Any]:
    """The corpus event envelope around another event."""
    payload = copy.deepcopy(load_json("event_callback_reaction_added.json"))
    payload.update(event=event, event_id=event_id, team_id=team)
    return payload


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until ``predicate`` is truthy: Bolt finishes a listener after it acknowledged."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for the listener")


def eventually(app: Flask, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Run queued jobs until ``predicate`` holds.

    Bolt acknowledges events itself and runs their listeners after answering, so a job may be
    enqueued a moment after the response: poll rather than sleep.
    """
    deadline = time.monotonic() + timeout
    while True:
        run_jobs(app)
        value = predicate()
        if value or time.monotonic() > deadline:
            assert value, "timed out waiting for the listener's work"
            return value
        time.sleep(0.02)


def add_team(app: Flask, slug: str = "payments", name: str = "Payments") -> int:
    with runtime_of(app).database.transaction() as session:
        return create_team(session, slug, name).id


def team(app: Flask, slug: str = "payments") -> Team:
    with runtime_of(app).database.sessions() as session:
        from sqlalchemy import select

        return session.scalars(select(Team).where(Team.slug == slug)).one()


@pytest.fixture
def slack_standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(rate_per_channel_per_s=None) as standin:
        # The corpus user is the workspace's primary owner, so the admin-only commands are theirs.
        standin.add_user(
            USER,
            email="owner@example.com",
            tz="Europe/Berlin",
            real_name="Primary Owner",
            is_primary_owner=True,
        )
        yield standin


@pytest.fixture
def slack_app(make_app: Callable[..., Flask], slack_standin: SlackStandIn) -> Iterator[Flask]:
    app = make_app(
        "sqlite",
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack_standin.url + "/api/",
    )
    yield app
    # Bolt runs listeners in its own threads after the ack: wait for them, so that no listener of this
    # test queues work after the next test has installed its own runtime.
    handler = app.extensions.get(SLACK_HANDLER)
    if handler is not None:
        handler.app.listener_runner.listener_executor.shutdown(wait=True)


@pytest.fixture
def slack(slack_app: Flask, slack_standin: SlackStandIn) -> SlackSender:
    return SlackSender(slack_app.test_client(), slack_standin)


@pytest.fixture
def linked(slack_app: Flask, slack: SlackSender) -> int:
    """A team whose channel C111 is connected; returns the team id."""
    team_id = add_team(slack_app)
    assert slack.command("/sprintwins", "connect payments").status_code == 200
    run_jobs(slack_app)
    slack.standin.reset()
    return team_id
