"""Events API work: reactions on our posts become cheers; uninstalls and revoked tokens are forgotten;
an org-wide install makes the workspaces it covers.

Safe to run twice: cheers are keyed by (win, user, reaction), deleting a token twice is a no-op, and
a Slack team's workspace is found before it is made.
"""

from __future__ import annotations

import logging
from typing import Any

from integrations.slack.installation import build_installation_store, oauth_enabled
from jobs import runtime
from jobs.slack_people import slack_client
from service.slack import channels, roles
from service.wins.cheers import record_cheer
from service.workspaces.registry import workspace_for_slack

# auth.teams.list pages; an org has at most a few thousand workspaces.
_TEAMS_PAGE_SIZE = 200
_TEAMS_MAX_PAGES = 50

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


def record_org_workspaces(enterprise_id: str) -> int:
    """An org-wide Enterprise Grid install: make (or find) the workspace of every Slack team it covers.

    Returns how many teams Slack listed. Each one would otherwise be made on its first request.
    """
    rt = runtime.current()
    client = slack_client(None, enterprise_id)
    team_ids: list[str] = []
    cursor: str | None = None
    for _ in range(_TEAMS_MAX_PAGES):
        page = client.auth_teams_list(limit=_TEAMS_PAGE_SIZE, cursor=cursor)
        team_ids += [str(team["id"]) for team in page.get("teams") or [] if team.get("id")]
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            break
    with rt.database.transaction() as session:
        for team_id in team_ids:
            workspace_for_slack(session, team_id, enterprise_id)
    return len(team_ids)
