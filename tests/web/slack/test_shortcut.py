"""The "Celebrate as a win" message shortcut: modal opened, validated, recorded with a permalink."""

from __future__ import annotations

import copy
import json
from typing import Any

from flask import Flask
from sqlalchemy import select

from service.models import Win
from service.web.extensions import runtime_of
from tests.web.slack.conftest import CHANNEL, USER, SlackSender, eventually, load_json, wait_for

MESSAGE_TS = "1583636382.000300"


def shortcut() -> dict[str, Any]:
    payload = copy.deepcopy(load_json("message_shortcut.json"))
    payload["callback_id"] = "celebrate_message"
    payload["message"]["text"] = "<@W222|bea> shipped &lt;!channel&gt; search &amp; filters"
    payload["message"]["user"] = "W222"
    return payload


def submission(opened: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    payload = copy.deepcopy(load_json("view_submission.json"))
    payload["view"].update(
        id=opened["id"],
        callback_id=opened["callback_id"],
        private_metadata=opened["private_metadata"],
        blocks=opened["blocks"],
        state={"values": values},
    )
    return payload


def values(
    title: str, visibility: str = "team", owner: str | None = "W222", detail: str = ""
) -> dict[str, Any]:
    return {
        "title": {"title_input": {"type": "plain_text_input", "value": title}},
        "owner": {"owner_input": {"type": "users_select", "selected_user": owner}},
        "detail": {"detail_input": {"type": "plain_text_input", "value": detail or None}},
        "visibility": {
            "visibility_input": {"type": "radio_buttons", "selected_option": {"value": visibility}}
        },
    }


def test_shortcut_opens_a_prefilled_modal_and_submission_records_the_win(
    slack_app: Flask, slack: SlackSender, linked: int
) -> None:
    slack.standin.user_messages.add((CHANNEL, MESSAGE_TS))
    slack.standin.add_user("W222", real_name="Bea")

    assert slack.interaction(shortcut()).status_code == 200
    [opened] = wait_for(slack.standin.opened_views)
    [title_block] = [b for b in opened["blocks"] if b["block_id"] == "title"]
    assert title_block["element"]["initial_value"] == "@bea shipped <!channel> search & filters"
    [owner_block] = [b for b in opened["blocks"] if b["block_id"] == "owner"]
    assert owner_block["element"]["initial_user"] == "W222"

    response = slack.interaction(
        submission(opened, values("Bea shipped search", visibility="private", detail="Huge for support"))
    )
    assert response.status_code == 200 and response.get_data() == b""

    def recorded() -> list[Win]:
        with runtime_of(slack_app).database.sessions() as session:
            return list(session.scalars(select(Win).where(Win.source != "engine")))

    [win] = eventually(slack_app, recorded)
    assert win.kind == "kudos" and win.visibility == "private"
    assert win.url == f"https://sprintwinstest.slack.com/archives/{CHANNEL}/p{MESSAGE_TS.replace('.', '')}"
    assert win.member is not None and win.member.slack_user_id == "W222"
    assert win.details["kudos_from"]["slack_user_id"] == USER
    assert win.details["detail"] == "Huge for support"
    [confirmation] = eventually(slack_app, slack.standin.ephemeral_messages)
    assert confirmation["user"] == USER and "Only you will see it" in confirmation["text"]


def test_an_empty_title_comes_back_as_a_field_error(slack: SlackSender, linked: int) -> None:
    slack.interaction(shortcut())
    [opened] = wait_for(slack.standin.opened_views)

    response = slack.interaction(submission(opened, values("   ")))

    body = response.get_json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"title"}


def test_in_an_unlinked_channel_the_modal_says_to_connect_first(slack: SlackSender) -> None:
    slack.interaction(shortcut())

    [opened] = wait_for(slack.standin.opened_views)
    assert "callback_id" not in opened
    assert "/sprintwins connect &lt;team&gt;" in json.dumps(opened["blocks"])
