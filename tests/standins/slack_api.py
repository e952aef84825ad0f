"""A local stand-in for the Slack Web API, spoken to through the real `slack_sdk.WebClient`.

Point a client at it with ``WebClient(token="xoxb-...", base_url=standin.url + "/api/")``.

It speaks the wire format the SDK expects: POST (or GET) to ``/api/<method>`` with a form,
multipart or JSON body, ``Authorization: Bearer <token>``, and answers HTTP 200 with
``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``. The exceptions are the ones real
clients must cope with: HTTP 429 + ``Retry-After`` when ``chat.postMessage`` exceeds the
per-channel rate (Slack allows about one message per second per channel), and injected 5xx.

Every request is recorded (`calls`); posted messages are kept for assertions (`messages()`).
Configuration attributes (`users`, `missing_channels`, ...) are plain sets and dicts meant to
be filled before the traffic starts.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from werkzeug.wrappers import Request, Response

from tests.standins import LocalHTTPServer
from tests.standins.slack_openid import SlackOpenID

__all__ = ["SlackCall", "SlackStandIn", "SlackWorkspace"]

# Request headers worth asserting on; the rest (Host, Content-Length, ...) is noise.
RECORDED_HEADERS = ("Authorization", "Content-Type", "User-Agent")
DEFAULT_BOT_SCOPES = "channels:read,chat:write,commands,im:write,users:read,users:read.email"
# Epoch seconds of the first `ts` handed out; real-looking and far from "now"-dependent asserts.
_FIRST_TS_MICROS = 1_700_000_000 * 1_000_000


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
class _TokenOwner:
    token: str
    workspace: SlackWorkspace
    user_id: str
    is_bot: bool


@dataclass(frozen=True)
class _OAuthGrant:
    workspace: SlackWorkspace
    user_id: str
    scope: str
    user_scope: str
    redirect_uri: str | None


@dataclass
class _Reply:
    body: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def _ok(**fields: Any) -> _Reply:
    return _Reply({"ok": True, **fields})


def _error(code: str) -> _Reply:
    return _Reply({"ok": False, "error": code})


def _maybe_json(value: Any) -> Any:
    """Blocks, views and attachments arrive as JSON strings when the body is form-encoded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class SlackStandIn(LocalHTTPServer):
    """A threaded HTTP server that answers Slack Web API methods.

    Args:
        rate_per_channel_per_s: accepted `chat.postMessage` per channel per second; None disables.
        workspace: identity of the default workspace (used by tokens not issued via OAuth).
        client_id / client_secret: the app credentials `oauth.v2.access` and `apps.uninstall` expect.
        clock: monotonic clock used for rate limiting (injectable for deterministic tests).
    """

    def __init__(
        self,
        *,
        rate_per_channel_per_s: float | None = 1.0,
        workspace: SlackWorkspace | None = None,
        client_id: str = "1111111111.2222222222",
        client_secret: str = "standin-client-secret",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.rate_per_channel_per_s = rate_per_channel_per_s
        self.workspace = workspace or SlackWorkspace(
            team_id="T0STANDIN", team_name="Sprint Wins Test", bot_user_id="U0BOTUSER", bot_id="B0BOTID"
        )
        self.client_id = client_id
        self.client_secret = client_secret
        self._clock = clock
        # Sign in with Slack: consent, openid.connect.token and the keys at /openid/connect/keys.
        self.openid = SlackOpenID()

        # Configuration, filled by tests before traffic.
        self.missing_channels: set[str] = set()
        self.not_in_channels: set[str] = set()
        self.channel_names: dict[str, str] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.users_by_email: dict[str, str] = {}  # email -> user id (details come from `users`)
        self.valid_tokens: set[str] | None = None  # None: any xoxb-/xoxp- token is accepted
        self.revoked_tokens: set[str] = set()
        # (channel, ts) of messages people wrote (not posted through here), for chat.getPermalink.
        self.user_messages: set[tuple[str, str]] = set()
        # The workspaces an org-wide (Enterprise Grid) install covers, for auth.teams.list: id -> name.
        self.org_teams: dict[str, str] = {}

        self._lock = threading.RLock()
        self._token_owners: dict[str, _TokenOwner] = {}
        self._oauth_grants: dict[str, _OAuthGrant] = {}
        self._used_oauth_codes: set[str] = set()
        self._issued_tokens = 0
        self._faults: dict[str, deque[int]] = defaultdict(deque)
        self._handlers: dict[str, Callable[[dict[str, Any], _TokenOwner | None], _Reply]] = {
            "auth.test": self._auth_test,
            "auth.revoke": self._auth_revoke,
            "auth.teams.list": self._auth_teams_list,
            "apps.uninstall": self._apps_uninstall,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        self._reset_traffic()

    # -- configuration helpers ---------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        email: str | None = None,
        tz: str = "UTC",
        name: str | None = None,
        real_name: str | None = None,
        is_bot: bool = False,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
    ) -> None:
        """Register a user for `users.info` and, when `email` is given, `users.lookupByEmail`.

        The role flags are Slack's: a primary owner is also an owner and an admin, as Slack reports.
        """
        with self._lock:
            self.users[user_id] = {
                "name": name or user_id.lower(),
                "real_name": real_name or name or user_id,
                "tz": tz,
                "email": email,
                "is_bot": is_bot,
                "is_admin": is_admin or is_owner or is_primary_owner,
                "is_owner": is_owner or is_primary_owner,
                "is_primary_owner": is_primary_owner,
            }
            if email:
                self.users_by_email[email] = user_id

    def add_oauth_code(
        self,
        code: str,
        *,
        team_id: str,
        team_name: str,
        user_id: str,
        scope: str = DEFAULT_BOT_SCOPES,
        user_scope: str = "",
        redirect_uri: str | None = None,
    ) -> None:
        """Make `code` exchangeable (once) by `oauth.v2.access` for an install into `team_id`."""
        suffix = team_id.removeprefix("T")
        workspace = SlackWorkspace(
            team_id=team_id,
            team_name=team_name,
            bot_user_id=f"U{suffix}BOT",
            bot_id=f"B{suffix}BOT",
            app_id=self.workspace.app_id,
        )
        with self._lock:
            self._oauth_grants[code] = _OAuthGrant(workspace, user_id, scope, user_scope, redirect_uri)

    def fail_next(self, method: str, status: int = 500, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP `status` (a 5xx, typically)."""
        with self._lock:
            self._faults[method].extend([status] * times)

    # -- recorded traffic --------------------------------------------------------------------------

    @property
    def calls(self) -> list[SlackCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call.method == method]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Accepted `chat.postMessage` messages (as updated by `chat.update`), oldest first.

        Each is a dict with channel, text, blocks (parsed), ts, thread_ts and accepted_at
        (the stand-in's clock when it was accepted).
        """
        with self._lock:
            return [dict(m) for m in self._messages if channel is None or m["channel"] == channel]

    def uploaded_files(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Files shared through `files.completeUploadExternal`: id, name, title, channel, content (text)."""
        with self._lock:
            return [dict(f) for f in self._files if channel is None or f["channel"] == channel]

    def ephemeral_messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._ephemerals if channel is None or m["channel"] == channel]

    def published_views(self) -> dict[str, dict[str, Any]]:
        """The latest view published to each user's App Home, by user id."""
        with self._lock:
            return {user: dict(view) for user, view in self._home_views.items()}

    def opened_views(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(v) for v in self._modal_views.values()]

    def accepted_count(self) -> int:
        """How many `chat.postMessage` calls were accepted."""
        with self._lock:
            return len(self._messages)

    def rejected_429_count(self) -> int:
        """How many requests were answered with HTTP 429."""
        with self._lock:
            return self._rejected_429

    def response_url(self, name: str = "cmd") -> str:
        """A ``response_url`` served here: what is POSTed to it is kept in `responses()`."""
        return f"{self.url}/hooks/{name}"

    def responses(self) -> list[dict[str, Any]]:
        """JSON bodies POSTed to `response_url` addresses (slash command and action replies)."""
        with self._lock:
            return [dict(r) for r in self._responses]

    def reset(self) -> None:
        """Forget recorded traffic, messages, rate-limit windows and pending faults (not configuration)."""
        with self._lock:
            self._reset_traffic()

    def _reset_traffic(self) -> None:
        self._calls: list[SlackCall] = []
        self._messages: list[dict[str, Any]] = []
        self._ephemerals: list[dict[str, Any]] = []
        self._responses: list[dict[str, Any]] = []
        self._home_views: dict[str, dict[str, Any]] = {}
        self._modal_views: dict[str, dict[str, Any]] = {}
        self._next_allowed_post: dict[str, float] = {}
        self._rejected_429 = 0
        self._last_ts_micros = _FIRST_TS_MICROS
        self._view_counter = 0
        self._faults.clear()
        self._files: list[dict[str, Any]] = []
        self._pending_uploads: dict[str, dict[str, Any]] = {}

    # -- HTTP entry point --------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/hooks/"):
            return self._response_url(request)
        if request.path == "/openid/connect/keys":
            return Response(json.dumps(self.openid.jwks()), mimetype="application/json")
        if request.path.startswith("/upload/"):
            return self._upload(request)
        if not request.path.startswith("/api/"):
            return Response("Not Found", status=404, mimetype="text/plain")
        method = request.path.removeprefix("/api/").strip("/")
        params = self._request_params(request)
        headers = {name: request.headers[name] for name in RECORDED_HEADERS if name in request.headers}
        with self._lock:
            self._calls.append(SlackCall(method, params, headers))
            reply = self._dispatch(method, params, request)
            if reply.status == 429:
                self._rejected_429 += 1
        return Response(
            json.dumps(reply.body),
            status=reply.status,
            headers=reply.headers,
            mimetype="application/json",
        )

    def _response_url(self, request: Request) -> Response:
        """Slack answers a response_url POST with plain ``ok``; the JSON body is the message."""
        body = request.get_json(silent=True)
        if request.method != "POST" or not isinstance(body, dict):
            return Response("invalid_payload", status=400, mimetype="text/plain")
        with self._lock:
            self._responses.append({**body, "path": request.path})
        return Response("ok", status=200, mimetype="text/plain")

    def _upload(self, request: Request) -> Response:
        """The upload URL `files.getUploadURLExternal` hands out: the raw body is the file."""
        file_id = request.path.removeprefix("/upload/")
        content = request.get_data()
        with self._lock:
            pending = self._pending_uploads.get(file_id)
            if request.method != "POST" or pending is None:
                return Response("not_found", status=404, mimetype="text/plain")
            pending["content"] = content.decode("utf-8", errors="replace")
        return Response("OK - " + str(len(content)), status=200, mimetype="text/plain")

    @staticmethod
    def _request_params(request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.args.items())
        params.update(request.form.items())
        body = request.get_json(silent=True) if request.is_json else None
        if isinstance(body, dict):
            params.update(body)
        return params

    def _dispatch(self, method: str, params: dict[str, Any], request: Request) -> _Reply:
        faults = self._faults.get(method)
        if faults:
            return _Reply({"ok": False, "error": "fatal_error"}, status=faults.popleft())
        if method == "oauth.v2.access":
            return self._oauth_v2_access(params, request)
        if method == "openid.connect.token":
            if (refused := self._app_credentials_error(params, request)) is not None:
                return refused
            return _Reply(self.openid.token(params, self.client_id))
        handler = self._handlers.get(method)
        if handler is None:
            return _error("unknown_method")
        owner_or_error = self._authenticate(params, request)
        if isinstance(owner_or_error, _Reply):
            return owner_or_error
        return handler(params, owner_or_error)

    def _authenticate(self, params: Mapping[str, Any], request: Request) -> _TokenOwner | _Reply:
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
        token = token or str(params.get("token", ""))
        if not token:
            return _error("not_authed")
        if token in self.revoked_tokens:
            return _error("token_revoked")
        if token in self._token_owners:
            return self._token_owners[token]
        if self.valid_tokens is not None:
            if token not in self.valid_tokens:
                return _error("invalid_auth")
        elif not token.startswith(("xoxb-", "xoxp-")):
            return _error("invalid_auth")
        is_bot = token.startswith("xoxb-")
        user_id = self.workspace.bot_user_id if is_bot else "U0INSTALLER"
        return _TokenOwner(token, self.workspace, user_id, is_bot)

    # -- helpers -----------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        # Unique and strictly increasing even when many messages land in the same microsecond.
        now_micros = int(time.time() * 1_000_000)
        self._last_ts_micros = max(self._last_ts_micros + 100, now_micros)
        seconds, micros = divmod(self._last_ts_micros, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _resolve_channel(self, channel: str) -> str:
        """Posting to a user id delivers to the DM with that user, as Slack does."""
        if channel.startswith(("U", "W")):
            return self._dm_channel_id(channel)
        return channel

    @staticmethod
    def _dm_channel_id(user_id: str) -> str:
        return "D" + user_id[1:]

    def _channel_error(self, channel: str) -> _Reply | None:
        if not channel or channel in self.missing_channels:
            return _error("channel_not_found")
        if channel in self.not_in_channels:
            return _error("not_in_channel")
        return None

    def _rate_limited(self, channel: str) -> _Reply | None:
        """ "Next allowed time" per channel: one accepted post per 1/rate seconds."""
        if not self.rate_per_channel_per_s:
            return None
        now = self._clock()
        next_allowed = self._next_allowed_post.get(channel)
        if next_allowed is not None and now < next_allowed:
            retry_after = max(1, math.ceil(next_allowed - now))
            return _Reply(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
            )
        self._next_allowed_post[channel] = now + 1.0 / self.rate_per_channel_per_s
        return None

    def _find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        for message in self._messages:
            if message["channel"] == channel and message["ts"] == ts:
                return message
        return None

    def _permalink(self, workspace: SlackWorkspace, channel: str, ts: str, thread_ts: str | None) -> str:
        link = f"{workspace.url}archives/{channel}/p{ts.replace('.', '')}"
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return link

    def _user_object(self, user_id: str, workspace: SlackWorkspace) -> dict[str, Any]:
        details = self.users.get(user_id, {})
        tz = str(details.get("tz") or "UTC")
        try:
            offset = datetime.now(ZoneInfo(tz)).utcoffset()
        except ZoneInfoNotFoundError:
            offset = None
        profile: dict[str, Any] = {
            "real_name": details.get("real_name", user_id),
            "display_name": details.get("name", user_id.lower()),
        }
        if details.get("email"):
            profile["email"] = details["email"]
        return {
            "id": user_id,
            "team_id": workspace.team_id,
            "name": details.get("name", user_id.lower()),
            "real_name": details.get("real_name", user_id),
            "deleted": False,
            "is_bot": bool(details.get("is_bot", False)),
            "is_admin": bool(details.get("is_admin", False)),
            "is_owner": bool(details.get("is_owner", False)),
            "is_primary_owner": bool(details.get("is_primary_owner", False)),
            "tz": tz,
            "tz_label": tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": profile,
        }

    # -- methods -----------------------------------------------------------------------------------

    def _auth_test(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        assert owner is not None
        ws = owner.workspace
        body: dict[str, Any] = {
            "url": ws.url,
            "team": ws.team_name,
            "user": "sprintwins" if owner.is_bot else owner.user_id.lower(),
            "team_id": ws.team_id,
            "user_id": owner.user_id,
            "is_enterprise_install": False,
        }
        if owner.is_bot:
            body["bot_id"] = ws.bot_id
        return _ok(**body)

    def _auth_teams_list(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        """The org's workspaces, ``limit`` at a time behind an opaque ``cursor``."""
        teams = [{"id": team_id, "name": name} for team_id, name in sorted(self.org_teams.items())]
        limit = max(1, min(int(params.get("limit") or 100), 1000))
        offset = int(params.get("cursor") or 0)
        more = offset + limit < len(teams)
        return _ok(
            teams=teams[offset : offset + limit],
            response_metadata={"next_cursor": str(offset + limit) if more else ""},
        )

    def _auth_revoke(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        assert owner is not None
        if str(params.get("test", "")).lower() not in {"1", "true"}:
            self.revoked_tokens.add(owner.token)
        return _ok(revoked=True)

    def _apps_uninstall(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        assert owner is not None
        if params.get("client_id") != self.client_id:
            return _error("invalid_client_id")
        if params.get("client_secret") != self.client_secret:
            return _error("bad_client_secret")
        # Uninstalling revokes every token of the workspace, not only the calling one.
        self.revoked_tokens.add(owner.token)
        for token, token_owner in self._token_owners.items():
            if token_owner.workspace.team_id == owner.workspace.team_id:
                self.revoked_tokens.add(token)
        return _ok()

    def _chat_post_message(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        assert owner is not None
        channel = self._resolve_channel(str(params.get("channel", "")))
        if (error := self._channel_error(channel)) is not None:
            return error
        text, blocks = params.get("text"), _maybe_json(params.get("blocks"))
        if not text and not blocks and not params.get("attachments"):
            return _error("no_text")
        if (limited := self._rate_limited(channel)) is not None:
            return limited
        ts = self._next_ts()
        thread_ts = params.get("thread_ts") or None
        message = {
            "channel": channel,
            "text": text or "",
            "blocks": blocks,
            "ts": ts,
            "thread_ts": str(thread_ts) if thread_ts else None,
            "accepted_at": self._clock(),
            "metadata": _maybe_json(params.get("metadata")) or None,
        }
        self._messages.append(message)
        wire_message: dict[str, Any] = {
            "type": "message",
            "text": message["text"],
            "user": owner.workspace.bot_user_id,
            "bot_id": owner.workspace.bot_id,
            "ts": ts,
        }
        if blocks:
            wire_message["blocks"] = blocks
        if thread_ts:
            wire_message["thread_ts"] = str(thread_ts)
        return _ok(channel=channel, ts=ts, message=wire_message)

    def _chat_post_ephemeral(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        channel = self._resolve_channel(str(params.get("channel", "")))
        if (error := self._channel_error(channel)) is not None:
            return error
        if not params.get("user"):
            return _error("user_not_found")
        ts = self._next_ts()
        self._ephemerals.append(
            {
                "channel": channel,
                "user": params["user"],
                "text": params.get("text") or "",
                "blocks": _maybe_json(params.get("blocks")),
                "ts": ts,
            }
        )
        return _ok(message_ts=ts)

    def _chat_update(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        channel = str(params.get("channel", ""))
        if (error := self._channel_error(channel)) is not None:
            return error
        message = self._find_message(channel, str(params.get("ts", "")))
        if message is None:
            return _error("message_not_found")
        if "text" in params:
            message["text"] = params["text"] or ""
        if "blocks" in params:
            message["blocks"] = _maybe_json(params["blocks"])
        return _ok(
            channel=channel,
            ts=message["ts"],
            text=message["text"],
            message={"text": message["text"], "blocks": message["blocks"]},
        )

    def _chat_get_permalink(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        assert owner is not None
        channel = str(params.get("channel", ""))
        if (error := self._channel_error(channel)) is not None:
            return error
        message_ts = str(params.get("message_ts", ""))
        message = self._find_message(channel, message_ts)
        if message is None and (channel, message_ts) in self.user_messages:
            message = {"ts": message_ts, "thread_ts": None}
        if message is None:
            return _error("message_not_found")
        permalink = self._permalink(owner.workspace, channel, message["ts"], message["thread_ts"])
        return _ok(channel=channel, permalink=permalink)

    def _conversations_info(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        channel = str(params.get("channel", ""))
        if not channel or channel in self.missing_channels:
            return _error("channel_not_found")
        is_im = channel.startswith("D")
        return _ok(
            channel={
                "id": channel,
                "name": self.channel_names.get(channel, channel.lower()),
                "is_channel": not is_im,
                "is_im": is_im,
                "is_private": channel.startswith("G"),
                "is_archived": False,
                "is_member": channel not in self.not_in_channels,
            }
        )

    def _conversations_history(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        """Messages posted here, newest first, between ``oldest`` and ``latest`` (exclusive, as Slack).

        Message ``metadata`` is returned only with ``include_all_metadata``, as Slack does; pages
        follow ``limit`` and an opaque ``cursor``.
        """
        assert owner is not None
        channel = str(params.get("channel", ""))
        if (error := self._channel_error(channel)) is not None:
            return error
        oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or math.inf)
        limit = max(1, min(int(params.get("limit") or 100), 999))
        offset = int(params.get("cursor") or 0)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in {"1", "true"}
        found = [
            m
            for m in reversed(self._messages)
            if m["channel"] == channel and oldest < float(m["ts"]) < latest and not m["thread_ts"]
        ]
        page = found[offset : offset + limit]
        wire: list[dict[str, Any]] = []
        for message in page:
            item: dict[str, Any] = {
                "type": "message",
                "text": message["text"],
                "user": owner.workspace.bot_user_id,
                "bot_id": owner.workspace.bot_id,
                "ts": message["ts"],
            }
            if message["blocks"]:
                item["blocks"] = message["blocks"]
            if message.get("files"):
                item["files"] = message["files"]
            if with_metadata and message.get("metadata"):
                item["metadata"] = message["metadata"]
            wire.append(item)
        has_more = offset + limit < len(found)
        return _ok(
            messages=wire,
            has_more=has_more,
            response_metadata={"next_cursor": str(offset + limit) if has_more else ""},
        )

    def _conversations_open(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        if params.get("channel"):
            return _ok(channel={"id": str(params["channel"])})
        users = [u.strip() for u in str(params.get("users", "")).split(",") if u.strip()]
        if not users:
            return _error("users_list_not_supplied")
        if len(users) > 8:
            return _error("too_many_users")
        if len(users) == 1:
            channel_id = self._dm_channel_id(users[0])
        else:
            channel_id = "G" + "".join(sorted(u[1:] for u in users))[:20]
        return _ok(channel={"id": channel_id})

    def _users_info(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        assert owner is not None
        user_id = str(params.get("user", ""))
        if user_id not in self.users:
            return _error("user_not_found")
        return _ok(user=self._user_object(user_id, owner.workspace))

    def _users_lookup_by_email(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        assert owner is not None
        user_id = self.users_by_email.get(str(params.get("email", "")))
        if user_id is None:
            return _error("users_not_found")
        return _ok(user=self._user_object(user_id, owner.workspace))

    def _store_view(self, view: Any, owner: _TokenOwner, view_id: str | None = None) -> dict[str, Any]:
        parsed = _maybe_json(view)
        if not isinstance(parsed, dict):
            parsed = {}
        if view_id is None:
            self._view_counter += 1
            view_id = f"V{self._view_counter:08d}"
        return {
            **parsed,
            "id": view_id,
            "team_id": owner.workspace.team_id,
            "app_id": owner.workspace.app_id,
            "bot_id": owner.workspace.bot_id,
            "hash": f"{int(time.time())}.{self._view_counter:08d}",
        }

    def _views_publish(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        assert owner is not None
        user_id = str(params.get("user_id", ""))
        view = _maybe_json(params.get("view"))
        if not user_id:
            return _error("invalid_arguments")
        if not isinstance(view, dict) or view.get("type") != "home":
            return _error("invalid_arguments")
        stored = self._store_view(view, owner)
        self._home_views[user_id] = stored
        return _ok(view=stored)

    def _views_open(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        assert owner is not None
        view = _maybe_json(params.get("view"))
        if not params.get("trigger_id") and not params.get("interactivity_pointer"):
            return _error("invalid_arguments")
        if not isinstance(view, dict):
            return _error("invalid_arguments")
        stored = self._store_view(view, owner)
        self._modal_views[stored["id"]] = stored
        return _ok(view=stored)

    def _views_update(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        assert owner is not None
        view = _maybe_json(params.get("view"))
        view_id = params.get("view_id")
        external_id = params.get("external_id")
        if not view_id and external_id:
            matching = (v["id"] for v in self._modal_views.values() if v.get("external_id") == external_id)
            view_id = next(matching, None)
        if not view_id or view_id not in self._modal_views:
            return _error("not_found")
        stored = self._store_view(view, owner, view_id=str(view_id))
        self._modal_views[stored["id"]] = stored
        return _ok(view=stored)

    def _files_get_upload_url(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            return _error("invalid_arguments")
        file_id = f"F{len(self._files) + len(self._pending_uploads) + 1:08d}"
        self._pending_uploads[file_id] = {"id": file_id, "name": str(params["filename"]), "content": None}
        return _ok(upload_url=f"{self.url}/upload/{file_id}", file_id=file_id)

    def _files_complete_upload(self, params: dict[str, Any], owner: _TokenOwner | None) -> _Reply:
        """Share uploaded files in ``channel_id`` as one message (with ``initial_comment``), as Slack does."""
        files = _maybe_json(params.get("files"))
        if not isinstance(files, list) or not files:
            return _error("invalid_arguments")
        pending = [self._pending_uploads.get(str(f.get("id"))) for f in files if isinstance(f, dict)]
        if len(pending) != len(files) or any(p is None or p["content"] is None for p in pending):
            return _error("file_not_found")
        channel = self._resolve_channel(str(params.get("channel_id") or ""))
        if channel and (error := self._channel_error(channel)) is not None:
            return error
        shared = []
        for item, upload in zip(files, pending, strict=True):
            assert upload is not None
            del self._pending_uploads[upload["id"]]
            title = str(item.get("title") or upload["name"])
            self._files.append({**upload, "title": title, "channel": channel or None})
            shared.append({"id": upload["id"], "name": upload["name"], "title": title})
        if channel:
            self._messages.append(
                {
                    "channel": channel,
                    "text": str(params.get("initial_comment") or ""),
                    "blocks": None,
                    "ts": self._next_ts(),
                    "thread_ts": None,
                    "accepted_at": self._clock(),
                    "metadata": None,
                    "files": shared,
                }
            )
        return _ok(files=shared)

    def _app_credentials_error(self, params: dict[str, Any], request: Request) -> _Reply | None:
        """The app's client id and secret, as form fields or HTTP Basic auth; None when they are right."""
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return _error("invalid_client_id")
            client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id:
            return _error("invalid_client_id")
        if client_secret != self.client_secret:
            return _error("bad_client_secret")
        return None

    def _oauth_v2_access(self, params: dict[str, Any], request: Request) -> _Reply:
        if (refused := self._app_credentials_error(params, request)) is not None:
            return refused
        code = str(params.get("code", ""))
        if code in self._used_oauth_codes:
            return _error("code_already_used")
        grant = self._oauth_grants.get(code)
        if grant is None:
            return _error("invalid_code")
        if grant.redirect_uri is not None and params.get("redirect_uri") != grant.redirect_uri:
            return _error("bad_redirect_uri")
        self._used_oauth_codes.add(code)

        ws = grant.workspace
        self._issued_tokens += 1
        serial = f"{self._issued_tokens:04d}"
        bot_token = f"xoxb-{ws.team_id}-{serial}-standinbot"
        self._token_owners[bot_token] = _TokenOwner(bot_token, ws, ws.bot_user_id, is_bot=True)
        authed_user: dict[str, Any] = {"id": grant.user_id}
        if grant.user_scope:
            user_token = f"xoxp-{ws.team_id}-{serial}-standinuser"
            self._token_owners[user_token] = _TokenOwner(user_token, ws, grant.user_id, is_bot=False)
            authed_user.update(scope=grant.user_scope, access_token=user_token, token_type="user")
        if self.valid_tokens is not None:
            self.valid_tokens.update(self._token_owners)
        return _ok(
            access_token=bot_token,
            token_type="bot",
            scope=grant.scope,
            bot_user_id=ws.bot_user_id,
            app_id=ws.app_id,
            team={"id": ws.team_id, "name": ws.team_name},
            enterprise=None,
            authed_user=authed_user,
            is_enterprise_install=False,
        )
