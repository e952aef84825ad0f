"""The records the Slack stand-in keeps and answers with: calls, workspaces, tokens, grants, replies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "DEFAULT_BOT_SCOPES",
    "FIRST_TS_MICROS",
    "RECORDED_HEADERS",
    "OAuthGrant",
    "Reply",
    "SlackCall",
    "SlackWorkspace",
    "TokenOwner",
    "error_reply",
    "maybe_json",
    "ok_reply",
]

# Request headers worth asserting on; the rest (Host, Content-Length, ...) is noise.
RECORDED_HEADERS = ("Authorization", "Content-Type", "User-Agent")
DEFAULT_BOT_SCOPES = "channels:read,chat:write,commands,im:write,users:read,users:read.email"
# Epoch seconds of the first `ts` handed out; real-looking and far from "now"-dependent asserts.
FIRST_TS_MICROS = 1_700_000_000 * 1_000_000


class SlackCall(NamedTuple):
    """One request as the stand-in saw it."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True)
class SlackWorkspace:
    """The identity `auth.test` reports for tokens of one workspace (team)."""

    team_id: str
    team_name: str
    bot_user_id: str
    bot_id: str
    app_id: str = "A0STANDIN"

    @property
    def domain(self) -> str:
        return "".join(ch for ch in self.team_name.lower() if ch.isalnum()) or self.team_id.lower()

    @property
    def url(self) -> str:
        return f"https://{self.domain}.slack.com/"


@dataclass(frozen=True)
class TokenOwner:
    """Who a token speaks for: the workspace, and the bot or person behind it."""

    token: str
    workspace: SlackWorkspace
    user_id: str
    is_bot: bool


@dataclass(frozen=True)
class OAuthGrant:
    """What one OAuth code installs, once exchanged through `oauth.v2.access`."""

    workspace: SlackWorkspace
    user_id: str
    scope: str
    user_scope: str
    redirect_uri: str | None


@dataclass
class Reply:
    """An answer to one Web API call: the JSON body, the HTTP status and extra headers."""

    body: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def ok_reply(**fields: Any) -> Reply:
    return Reply({"ok": True, **fields})


def error_reply(code: str) -> Reply:
    return Reply({"ok": False, "error": code})


def maybe_json(value: Any) -> Any:
    """Blocks, views and attachments arrive as JSON strings when the body is form-encoded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
