"""Hostile but correctly signed Slack requests through the real ``/slack/events``: never a 5xx."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.web.slack.routes import SLACK_HANDLER
from tests.standins.slack_api import SlackStandIn
from tests.web.slack.conftest import BOT_TOKEN, SIGNING_SECRET, SlackSender, command_fields, load_json


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def slack_app(
    request: pytest.FixtureRequest, make_app: Callable[..., Flask], slack_standin: SlackStandIn
) -> Iterator[Flask]:
    """The Slack edge on each backend: Postgres refuses values (NUL, out-of-range integers) that
    SQLite stores, so each hostile request is tried against both."""
    app = make_app(
        request.param,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack_standin.url + "/api/",
    )
    yield app
    # Bolt's listeners run in its threads after the ack: none may outlive this test's database.
    handler = app.extensions.get(SLACK_HANDLER)
    if handler is not None:
        handler.app.listener_runner.listener_executor.shutdown(wait=True)


SHAPES = [
    ("event", "event_callback_reaction_added.json"),
    ("event", "event_callback_message.json"),
    ("event", "event_callback_app_mention.json"),
    ("interaction", "block_actions.json"),
    ("interaction", "message_shortcut.json"),
    ("interaction", "view_submission.json"),
]
HOSTILE = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.text(max_size=20),
    st.just("\x00"),
    st.just("x" * 100_000),
    st.just({}),
    st.just([]),
    st.lists(st.integers(), max_size=3),
    st.just(["x"]),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _mutate(payload: Any, path: tuple[Any, ...], value: Any, delete: bool) -> None:
    for step in path[:-1]:
        payload = payload[step]
    if delete and isinstance(payload, dict):
        del payload[path[-1]]
    else:
        payload[path[-1]] = value


@st.composite
def hostile_json(draw: st.DrawFn) -> tuple[str, Any]:
    kind, name = draw(st.sampled_from(SHAPES))
    payload = copy.deepcopy(load_json(name))
    if "view" in payload:
        payload["view"]["callback_id"] = draw(st.sampled_from(["celebrate_message_submit", "view-id"]))
    if kind == "interaction" and "callback_id" in payload and "view" not in payload:
        payload["callback_id"] = "celebrate_message"
    payload["event_id"] = draw(st.text(min_size=1, max_size=8))  # fresh, so dedup does not hide it
    path = draw(st.sampled_from(_paths(payload)))
    _mutate(payload, path, draw(HOSTILE), draw(st.booleans()))
    return kind, payload


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=hostile_json(), truncate=st.integers(min_value=0, max_value=40))
def test_hostile_json_payloads_never_give_a_5xx(
    slack: SlackSender, case: tuple[str, Any], truncate: int
) -> None:
    kind, payload = case
    text = json.dumps(payload)
    if truncate:
        text = text[: len(text) * truncate // 41]  # broken JSON, cut somewhere
    if kind == "event":
        response = slack.raw(text, "application/json")
    else:
        response = slack.raw(urlencode({"payload": text}), "application/x-www-form-urlencoded")
    assert response.status_code < 500, (response.status_code, text[:300])


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    command=st.sampled_from(["/win", "/sprintwins"]),
    field=st.sampled_from(["channel_id", "user_id", "team_id", "text", "response_url", "trigger_id"]),
    value=st.one_of(st.none(), st.just("\x00"), st.just("x" * 50_000), st.text(max_size=20)),
)
def test_hostile_slash_commands_never_give_a_5xx(
    slack: SlackSender, command: str, field: str, value: str | None
) -> None:
    fields = command_fields(command, "help" if command == "/sprintwins" else "shipped it @W111")
    if value is None:
        del fields[field]
    else:
        fields[field] = value
    response = slack.raw(urlencode(fields), "application/x-www-form-urlencoded")
    assert response.status_code < 500, (response.status_code, field, value and value[:50])


def test_malformed_signature_headers_are_401_before_anything_else(slack: SlackSender) -> None:
    for stamp, signature in (("abc", "v0=00"), ("", ""), ("1" * 40, "v0=" + "0" * 64), ("1", "v1=x")):
        response = slack.client.post(
            "/slack/events",
            data=b'{"type": "event_callback", "ev',
            headers={
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": signature,
            },
        )
        assert response.status_code == 401, (stamp, signature)


def test_examples_from_the_field(slack: SlackSender) -> None:
    no_channel = command_fields("/win", "shipped it @W111")
    del no_channel["channel_id"]
    answer = slack.raw(urlencode(no_channel), "application/x-www-form-urlencoded")
    assert answer.status_code == 200 and b"nothing was done" in answer.get_data()

    event = load_json("event_callback_reaction_added.json")
    assert slack.event({**event, "event": "a string"}).status_code == 400
    assert slack.event({**event, "event_id": "Ev\x00"}).status_code == 400
    assert slack.raw('{"type": "event_callback", "ev', "application/json").status_code == 400

    view = load_json("view_submission.json")
    view["view"].update(callback_id="celebrate_message_submit", private_metadata="{}")
    answer = slack.interaction(view)
    assert answer.status_code == 200 and answer.json["response_action"] == "errors"
