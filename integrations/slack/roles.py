"""A person's role in their Slack workspace and their profile, from one ``users.info`` call.

Slack's admins and owners (``is_admin``, ``is_owner``, ``is_primary_owner``; on Enterprise Grid also
the organisation's, under ``enterprise_user``) are Sprint Wins admins of the workspace. Deleted
users, bots and guests never are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from integrations.slack.profiles import SlackProfile, profile_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SlackRole:
    """``is_owner`` covers owners and the primary owner."""

    is_admin: bool
    is_owner: bool

    @property
    def runs_the_workspace(self) -> bool:
        return self.is_admin or self.is_owner


@dataclass(frozen=True, slots=True)
class SlackPerson:
    """``role`` is None when Slack would not say (the person then counts as a member, unremembered)."""

    profile: SlackProfile
    role: SlackRole | None


def fetch_person(client: WebClient, user_id: str) -> SlackPerson:
    """The person's profile and role; a bare profile and no role when Slack will not say."""
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        log.warning("users.info failed for a user: %s", error.response.get("error"))
        return SlackPerson(SlackProfile(user_id, user_id), None)
    return SlackPerson(profile_of(user_id, user), role_of(user))


def role_of(user: Mapping[str, Any]) -> SlackRole:
    """The role in a ``users.info`` user object."""
    if user.get("deleted") or user.get("is_bot") or user.get("is_restricted"):
        return SlackRole(is_admin=False, is_owner=False)
    grid = user.get("enterprise_user")
    grid = grid if isinstance(grid, Mapping) else {}
    return SlackRole(
        is_admin=bool(user.get("is_admin") or grid.get("is_admin")),
        is_owner=bool(user.get("is_owner") or user.get("is_primary_owner") or grid.get("is_owner")),
    )
