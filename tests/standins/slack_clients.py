"""Real `slack_sdk.WebClient`s pointed at a Slack stand-in, for the stand-in's own tests."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from tests.standins.slack_api import SlackStandIn

__all__ = ["BOT_TOKEN", "client_for"]

BOT_TOKEN = "xoxb-123-456-standin"


def client_for(standin: SlackStandIn, token: str | None = BOT_TOKEN, **kwargs: Any) -> WebClient:
    return WebClient(token=token, base_url=standin.url + "/api/", timeout=5, **kwargs)
