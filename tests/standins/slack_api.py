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

The state lives in `slack_state`, the records in `slack_records`, and each group of API methods
in a mixin of its own (`slack_auth`, `slack_messaging`, `slack_users`, `slack_views_and_files`);
this module puts them together and routes each request to its method.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cached_property
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.standins.slack_auth import SlackAuthMethods
from tests.standins.slack_messaging import SlackMessagingMethods
from tests.standins.slack_records import DEFAULT_BOT_SCOPES as DEFAULT_BOT_SCOPES
from tests.standins.slack_records import (
    RECORDED_HEADERS,
    Reply,
    SlackCall,
    SlackWorkspace,
    TokenOwner,
    error_reply,
)
from tests.standins.slack_users import SlackUsersMethods
from tests.standins.slack_views_and_files import SlackViewsAndFilesMethods

__all__ = ["SlackCall", "SlackStandIn", "SlackWorkspace"]


class SlackStandIn(SlackAuthMethods, SlackMessagingMethods, SlackUsersMethods, SlackViewsAndFilesMethods):
    """A threaded HTTP server that answers Slack Web API methods.

    Args:
        rate_per_channel_per_s: accepted `chat.postMessage` per channel per second; None disables.
        workspace: identity of the default workspace (used by tokens not issued via OAuth).
        client_id / client_secret: the app credentials `oauth.v2.access` and `apps.uninstall` expect.
        clock: monotonic clock used for rate limiting (injectable for deterministic tests).
    """

    @cached_property
    def _handlers(self) -> dict[str, Callable[[dict[str, Any], TokenOwner | None], Reply]]:
        """Methods that need a token; those the app calls with its client secret are routed in `_dispatch`."""
        return {
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

    @staticmethod
    def _request_params(request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.args.items())
        params.update(request.form.items())
        body = request.get_json(silent=True) if request.is_json else None
        if isinstance(body, dict):
            params.update(body)
        return params

    def _dispatch(self, method: str, params: dict[str, Any], request: Request) -> Reply:
        faults = self._faults.get(method)
        if faults:
            return Reply({"ok": False, "error": "fatal_error"}, status=faults.popleft())
        if method == "oauth.v2.access":
            return self._oauth_v2_access(params, request)
        if method == "openid.connect.token":
            if (refused := self._app_credentials_error(params, request)) is not None:
                return refused
            return Reply(self.openid.token(params, self.client_id))
        handler = self._handlers.get(method)
        if handler is None:
            return error_reply("unknown_method")
        owner_or_error = self._authenticate(params, request)
        if isinstance(owner_or_error, Reply):
            return owner_or_error
        return handler(params, owner_or_error)
