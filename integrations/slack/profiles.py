"""Who someone is in Slack: ``users.info`` as a :class:`SlackProfile`, and ``users.lookupByEmail``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SlackProfile:
    """What ``users.info`` told us about a person."""

    user_id: str
    display_name: str
    email: str | None = None
    tz: str | None = None
    is_bot: bool = False


def fetch_profile(client: WebClient, user_id: str) -> SlackProfile:
    """The person's profile; a bare one (their id as name) when Slack will not say."""
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        log.warning("users.info failed for a user: %s", error.response.get("error"))
        return SlackProfile(user_id, user_id)
    return profile_of(user_id, user)


def profile_of(user_id: str, user: Mapping[str, Any]) -> SlackProfile:
    """The profile in a ``users.info`` user object: every caller names a person the same way."""
    profile = user.get("profile") or {}
    name = (
        profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
    )
    return SlackProfile(
        user_id=user_id,
        display_name=str(name or user_id),
        email=profile.get("email") or None,
        tz=user.get("tz") or None,
        is_bot=bool(user.get("is_bot")),
    )


def person_with_email(client: WebClient, email: str) -> str | None:
    """The user id of the (human, active) person with this email in the workspace, if any."""
    try:
        user = client.users_lookupByEmail(email=email)["user"]
    except SlackApiError:
        return None  # not in this workspace, or the scope is missing
    if user.get("is_bot") or user.get("deleted"):
        return None
    return str(user["id"])
