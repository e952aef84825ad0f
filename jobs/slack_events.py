"""Events API work: reactions on our posts become cheers; uninstalls and revoked tokens are forgotten.

Safe to run twice: cheers are keyed by (win, user, reaction), and deleting a token twice is a no-op.
"""

from __future__ import annotations

import logging
from typing import Any

from integrations.slack.installation import build_installation_store, oauth_enabled
from jobs import runtime
from service.slack import channels, roles
from service.wins.cheers import record_cheer

log = logging.getLogger(__name__)


def record_reaction(
    slack_team_id: str, channel_id: str, ts: str, user_id: str, reaction: str, added: bool
) -> dict[str, Any] | None:
    """A reaction on one of our posts becomes (or stops being) a cheer on each win it shows, and on a
    digest also a cheer on the digest; None when the message is not one of ours."""
    rt = runtime.current()
    with rt.database.transaction() as session:
        cheered = record_cheer(session, slack_team_id, channel_id, ts, user_id, reaction, added)
    if cheered is None:
        return None
    return {"win_ids": list(cheered.win_ids), "digest_id": cheered.digest_id}


def forget_workspace(enterprise_id: str | None, slack_team_id: str | None) -> None:
    """``app_uninstalled``: delete the workspace's tokens and pause its digests (links are kept)."""
    rt = runtime.current()
    if oauth_enabled(rt.settings):
        build_installation_store(rt.settings, rt.database.engine).delete_all(
            enterprise_id=enterprise_id, team_id=slack_team_id
        )
    else:
        log.warning("Sprint Wins was uninstalled from %s; remove SPRINTWINS_SLACK_BOT_TOKEN", slack_team_id)
    if slack_team_id:
        with rt.database.transaction() as session:
            channels.pause_workspace(
                session, slack_team_id, "app_uninstalled: Sprint Wins was removed from Slack"
            )
            roles.forget_cached_roles(session, slack_team_id)


def revoke_tokens(
    enterprise_id: str | None, slack_team_id: str | None, user_ids: list[str], bot: bool
) -> None:
    """``tokens_revoked``: delete the revoked user tokens and, if the bot's was revoked, the bot token."""
    rt = runtime.current()
    if not oauth_enabled(rt.settings):
        log.warning("Slack revoked tokens of %s; the configured bot token no longer works", slack_team_id)
        return
    store = build_installation_store(rt.settings, rt.database.engine)
    for user_id in user_ids:
        store.delete_installation(enterprise_id=enterprise_id, team_id=slack_team_id, user_id=user_id)
    if bot:
        store.delete_bot(enterprise_id=enterprise_id, team_id=slack_team_id)
