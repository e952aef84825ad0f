"""``/sprintwins``: connect a channel, its digest schedule and time zone, link people, start challenges.

Answers go to the command's ``response_url``, which works in every channel and DM, whether or not
the bot is a member. Safe to run twice: links are keyed by (workspace, channel).
"""

from __future__ import annotations

from integrations.slack import replies
from integrations.slack.profiles import fetch_profile
from jobs import runtime
from jobs.slack_people import match_members_by_email, profiles_of_unknown, slack_client
from jobs.slack_wins import request_progress
from service.domain import replies as texts
from service.domain.commands import (
    ChallengeCommand,
    CommandError,
    ConnectCommand,
    DigestCommand,
    HelpCommand,
    LinkCommand,
    TimezoneCommand,
    challenge_text,
    help_text,
    parse_sprintwins,
)
from service.domain.mrkdwn import escape_mrkdwn
from service.domain.schedule import format_schedule
from service.progress import admin as progress_admin
from service.slack import channels
from service.teams import members
from service.teams.members import LinkError
from service.teams.registry import TeamError


def handle_sprintwins_command(
    slack_team_id: str,
    enterprise_id: str | None,
    channel_id: str,
    user_id: str,
    text: str,
    response_url: str,
) -> str:
    """Carry out a ``/sprintwins`` command and answer it ephemerally; returns the answer (mrkdwn)."""
    rt = runtime.current()
    try:
        command = parse_sprintwins(text)
        if isinstance(command, HelpCommand):
            reply = help_text()
        elif isinstance(command, ConnectCommand):
            reply = _connect(slack_team_id, enterprise_id, channel_id, user_id, command.team)
        elif isinstance(command, DigestCommand):
            with rt.database.transaction() as session:
                link_row = channels.set_schedule(
                    session, slack_team_id, channel_id, format_schedule(command.schedule)
                )
                reply = texts.schedule_confirmation(link_row.schedule, link_row.timezone)
        elif isinstance(command, TimezoneCommand):
            with rt.database.transaction() as session:
                channels.set_channel_timezone(session, slack_team_id, channel_id, command.tz_name)
            reply = texts.timezone_set(command.tz_name)
        elif isinstance(command, LinkCommand):
            reply = _link(slack_team_id, enterprise_id, command)
        elif isinstance(command, ChallengeCommand):
            reply = _challenge(slack_team_id, enterprise_id, channel_id, user_id, command.spec)
        else:
            reply = help_text()
    except CommandError as error:
        reply = error.mrkdwn
    except (LinkError, TeamError, progress_admin.AdminError) as error:
        reply = escape_mrkdwn(str(error))
    replies.respond(rt.settings, response_url, reply)
    return reply


def _connect(slack_team_id: str, enterprise_id: str | None, channel_id: str, user_id: str, team: str) -> str:
    rt = runtime.current()
    linker = fetch_profile(slack_client(slack_team_id, enterprise_id), user_id)
    with rt.database.transaction() as session:
        connected = channels.connect_channel(
            session,
            slack_team_id=slack_team_id,
            enterprise_id=enterprise_id,
            channel_id=channel_id,
            team_name=team,
            linked_by_user_id=linker.user_id,
            linker_tz=linker.tz,
        )
        reply = texts.connected(
            connected.team.name, connected.previous_team, connected.link.schedule, connected.link.timezone
        )
    rt.queue.enqueue(match_members_by_email, slack_team_id, enterprise_id)
    return reply


def _challenge(
    slack_team_id: str, enterprise_id: str | None, channel_id: str, user_id: str, spec: str
) -> str:
    """A team challenge, or with a leading ``me`` one for the person who asked."""
    rt = runtime.current()
    personal, text = challenge_text(spec)
    profile = profiles_of_unknown(slack_team_id, enterprise_id, [user_id])[user_id] if personal else None
    with rt.database.transaction() as session:
        team = channels.linked_team(session, slack_team_id, channel_id)
        member_id = members.ensure_member(session, slack_team_id, profile).id if profile else None
        challenge = progress_admin.add_challenge(session, team.slug, text, member_id, recompute=False)
        team_id = team.id
    request_progress(rt, team_id)  # progress so far is counted from the wins already recorded
    return texts.challenge_started(personal, str(challenge["title"]), challenge["ends_on"])


def _link(slack_team_id: str, enterprise_id: str | None, command: LinkCommand) -> str:
    rt = runtime.current()
    profile = fetch_profile(slack_client(slack_team_id, enterprise_id), command.slack_user_id)
    with rt.database.transaction() as session:
        linked = members.link_member(
            session,
            slack_team_id,
            profile,
            jira_account_id=command.jira_account_id,
            email=command.email,
        )
        jira_ref = linked.member.jira_account_id or command.email or ""
    return texts.member_linked(command.slack_user_id, jira_ref, linked.merged_wins)
