"""People in the Slack stand-in's workspaces: `users.info` and `users.lookupByEmail`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.standins.slack_records import Reply, SlackWorkspace, TokenOwner, error_reply, ok_reply
from tests.standins.slack_state import SlackStandInState

__all__ = ["SlackUsersMethods"]


class SlackUsersMethods(SlackStandInState):
    """The user objects Slack returns, built from the users a test registered with `add_user`."""

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

    def _users_info(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        assert owner is not None
        user_id = str(params.get("user", ""))
        if user_id not in self.users:
            return error_reply("user_not_found")
        return ok_reply(user=self._user_object(user_id, owner.workspace))

    def _users_lookup_by_email(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        assert owner is not None
        user_id = self.users_by_email.get(str(params.get("email", "")))
        if user_id is None:
            return error_reply("users_not_found")
        return ok_reply(user=self._user_object(user_id, owner.workspace))
