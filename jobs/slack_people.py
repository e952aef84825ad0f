"""Who someone is in Slack: profiles for the jobs, and Jira people matched to Slack users by email."""

from __future__ import annotations

from collections.abc import Iterable

from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError

from integrations.slack.installation import SlackNotInstalled, client_for_team, oauth_enabled
from integrations.slack.profiles import SlackProfile, fetch_profile, person_with_email
from jobs import runtime
from jobs.queue import JobQueue
from service.slack import channels
from service.slack.workspaces import workspace_id_for_slack
from service.teams import members

EMAIL_MATCH_INTERVAL_S = 600


def slack_client(slack_team_id: str | None, enterprise_id: str | None) -> WebClient:
    """Our bot's client in the workspace; raises SlackNotInstalled when there is no token for it."""
    rt = runtime.current()
    return client_for_team(rt.settings, rt.database.engine, slack_team_id, enterprise_id)


def workspace_of(slack_team_id: str, enterprise_id: str | None) -> int:
    """The workspace a Slack request acts in: the implicit one with a bot token, else the Slack team's own."""
    rt = runtime.current()
    multi = oauth_enabled(rt.settings)
    try:
        with rt.database.transaction() as session:
            return workspace_id_for_slack(session, slack_team_id, enterprise_id, multi_workspace=multi)
    except IntegrityError:
        # Two first requests of a new Slack team raced to make its workspace: the other one won.
        with rt.database.transaction() as session:
            return workspace_id_for_slack(session, slack_team_id, enterprise_id, multi_workspace=multi)


def profiles_of_unknown(
    slack_team_id: str, enterprise_id: str | None, user_ids: list[str], client: WebClient | None = None
) -> dict[str, SlackProfile]:
    """Profiles for the given users; only people we have never seen cost a ``users.info`` call."""
    rt = runtime.current()
    profiles: dict[str, SlackProfile] = {}
    with rt.database.sessions() as session:
        for user_id in dict.fromkeys(user_ids):
            member = members.member_for_slack_user(session, slack_team_id, user_id)
            if member is not None:
                profiles[user_id] = SlackProfile(user_id, member.display_name, member.email)
    for user_id in dict.fromkeys(user_ids):
        if user_id not in profiles:
            client = client or slack_client(slack_team_id, enterprise_id)
            profiles[user_id] = fetch_profile(client, user_id)
    return profiles


def request_member_matching(team_ids: Iterable[int], queue: JobQueue) -> None:
    """After a batch: match its teams' new Jira people to Slack users, at most every 10 minutes a team.

    The flag is left to expire rather than cleared, which is what spaces the lookups out:
    ``users.lookupByEmail`` is rate-limited, and people who are not in Slack are asked again.
    """
    for team_id in sorted(set(team_ids)):
        queue.enqueue_coalesced(
            match_team_members_by_email,
            team_id,
            flag=f"slack-email-match-{team_id}",
            ttl_seconds=EMAIL_MATCH_INTERVAL_S,
        )


def match_team_members_by_email(team_id: int) -> int:
    """Match the people of one team in every workspace that has a channel linked to it."""
    rt = runtime.current()
    with rt.database.sessions() as session:
        workspaces = channels.workspaces_of_team(session, team_id)
    return sum(match_members_by_email(ws, enterprise, team_id=team_id) for ws, enterprise in workspaces)


def match_members_by_email(
    slack_team_id: str, enterprise_id: str | None = None, team_id: int | None = None
) -> int:
    """Link Jira people to Slack users by the email Jira revealed (``users.lookupByEmail``).

    Returns how many were linked. Safe to run any time (after a batch of new members, on connect).
    """
    rt = runtime.current()
    try:
        client = slack_client(slack_team_id, enterprise_id)
    except SlackNotInstalled:
        return 0
    workspace_id = workspace_of(slack_team_id, enterprise_id)
    with rt.database.sessions() as session:
        candidates = members.members_to_match_by_email(session, team_id=team_id, workspace_id=workspace_id)
    linked = 0
    for member_id, email in candidates:
        user_id = person_with_email(client, email)
        if user_id is None:
            continue
        with rt.database.transaction() as session:
            linked += members.attach_slack_identity(session, member_id, slack_team_id, user_id)
    return linked
