"""The Slack stand-in's state: configuration, recorded traffic and helpers every API method group shares.

The groups of Web API methods (auth, messaging, users, views and files) are mixins over
:class:`SlackStandInState`, so they all see the same locks, records and configuration;
`tests.standins.slack_api.SlackStandIn` puts them together and dispatches requests to them.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from tests.standins import LocalHTTPServer
from tests.standins.slack_openid import SlackOpenID
from tests.standins.slack_records import (
    DEFAULT_BOT_SCOPES,
    FIRST_TS_MICROS,
    OAuthGrant,
    Reply,
    SlackCall,
    SlackWorkspace,
    TokenOwner,
    error_reply,
)

__all__ = ["SlackStandInState"]


class SlackStandInState(LocalHTTPServer):
    """What the stand-in knows and remembers; the arguments are documented on `SlackStandIn`."""

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
        self._token_owners: dict[str, TokenOwner] = {}
        self._oauth_grants: dict[str, OAuthGrant] = {}
        self._used_oauth_codes: set[str] = set()
        self._issued_tokens = 0
        self._faults: dict[str, deque[int]] = defaultdict(deque)
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
            self._oauth_grants[code] = OAuthGrant(workspace, user_id, scope, user_scope, redirect_uri)

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
        self._last_ts_micros = FIRST_TS_MICROS
        self._view_counter = 0
        self._faults.clear()
        self._files: list[dict[str, Any]] = []
        self._pending_uploads: dict[str, dict[str, Any]] = {}

    # -- helpers shared by the API methods ---------------------------------------------------------

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

    def _channel_error(self, channel: str) -> Reply | None:
        if not channel or channel in self.missing_channels:
            return error_reply("channel_not_found")
        if channel in self.not_in_channels:
            return error_reply("not_in_channel")
        return None
