"""Tokens and app credentials for the Slack stand-in: who is calling, and `auth.*`, `apps.*`, `oauth.*`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request

from tests.standins.slack_records import Reply, TokenOwner, error_reply, ok_reply
from tests.standins.slack_state import SlackStandInState

__all__ = ["SlackAuthMethods"]


class SlackAuthMethods(SlackStandInState):
    """Who a token belongs to, what an OAuth code installs, and revoking or uninstalling."""

    def _authenticate(self, params: Mapping[str, Any], request: Request) -> TokenOwner | Reply:
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
        token = token or str(params.get("token", ""))
        if not token:
            return error_reply("not_authed")
        if token in self.revoked_tokens:
            return error_reply("token_revoked")
        if token in self._token_owners:
            return self._token_owners[token]
        if self.valid_tokens is not None:
            if token not in self.valid_tokens:
                return error_reply("invalid_auth")
        elif not token.startswith(("xoxb-", "xoxp-")):
            return error_reply("invalid_auth")
        is_bot = token.startswith("xoxb-")
        user_id = self.workspace.bot_user_id if is_bot else "U0INSTALLER"
        return TokenOwner(token, self.workspace, user_id, is_bot)

    def _auth_test(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
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
        return ok_reply(**body)

    def _auth_teams_list(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        """The org's workspaces, ``limit`` at a time behind an opaque ``cursor``."""
        teams = [{"id": team_id, "name": name} for team_id, name in sorted(self.org_teams.items())]
        limit = max(1, min(int(params.get("limit") or 100), 1000))
        offset = int(params.get("cursor") or 0)
        more = offset + limit < len(teams)
        return ok_reply(
            teams=teams[offset : offset + limit],
            response_metadata={"next_cursor": str(offset + limit) if more else ""},
        )

    def _auth_revoke(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        assert owner is not None
        if str(params.get("test", "")).lower() not in {"1", "true"}:
            self.revoked_tokens.add(owner.token)
        return ok_reply(revoked=True)

    def _apps_uninstall(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        assert owner is not None
        if params.get("client_id") != self.client_id:
            return error_reply("invalid_client_id")
        if params.get("client_secret") != self.client_secret:
            return error_reply("bad_client_secret")
        # Uninstalling revokes every token of the workspace, not only the calling one.
        self.revoked_tokens.add(owner.token)
        for token, token_owner in self._token_owners.items():
            if token_owner.workspace.team_id == owner.workspace.team_id:
                self.revoked_tokens.add(token)
        return ok_reply()

    def _app_credentials_error(self, params: dict[str, Any], request: Request) -> Reply | None:
        """The app's client id and secret, as form fields or HTTP Basic auth; None when they are right."""
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return error_reply("invalid_client_id")
            client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id:
            return error_reply("invalid_client_id")
        if client_secret != self.client_secret:
            return error_reply("bad_client_secret")
        return None

    def _oauth_v2_access(self, params: dict[str, Any], request: Request) -> Reply:
        if (refused := self._app_credentials_error(params, request)) is not None:
            return refused
        code = str(params.get("code", ""))
        if code in self._used_oauth_codes:
            return error_reply("code_already_used")
        grant = self._oauth_grants.get(code)
        if grant is None:
            return error_reply("invalid_code")
        if grant.redirect_uri is not None and params.get("redirect_uri") != grant.redirect_uri:
            return error_reply("bad_redirect_uri")
        self._used_oauth_codes.add(code)

        ws = grant.workspace
        self._issued_tokens += 1
        serial = f"{self._issued_tokens:04d}"
        bot_token = f"xoxb-{ws.team_id}-{serial}-standinbot"
        self._token_owners[bot_token] = TokenOwner(bot_token, ws, ws.bot_user_id, is_bot=True)
        authed_user: dict[str, Any] = {"id": grant.user_id}
        if grant.user_scope:
            user_token = f"xoxp-{ws.team_id}-{serial}-standinuser"
            self._token_owners[user_token] = TokenOwner(user_token, ws, grant.user_id, is_bot=False)
            authed_user.update(scope=grant.user_scope, access_token=user_token, token_type="user")
        if self.valid_tokens is not None:
            self.valid_tokens.update(self._token_owners)
        return ok_reply(
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
