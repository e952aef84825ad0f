"""``/sprintwins``: connect a channel, its digest schedule, time zone and live celebrations, link people,
start challenges, name admins.

A channel's settings belong to everyone in it, so only workspace admins change them
(``commands.admin_only_action``): Slack's admins and owners, and the people they name. Anyone else
is refused with the names of a few admins to ask. Answers go to the command's ``response_url``,
which works in every channel and DM, whether or not the bot is a member. Safe to run twice: links
are keyed by (workspace, channel), admins by (workspace, person).
"""

from __future__ import annotations

from integrations.slack import replies
from integrations.slack.profiles import SlackProfile, fetch_profile
from integrations.slack.roles import SlackPerson, fetch_person
from jobs import runtime
from jobs.slack_people import match_members_by_email, profiles_of_unknown, slack_client, workspace_of
from jobs.slack_wins import request_progress
from service.domain import replies as texts
from service.domain.commands import (
    AdminAction,
    AdminCommand,
    ChallengeCommand,
    CommandError,
    ConnectCommand,
    DigestCommand,
    HelpCommand,
    LinkCommand,
    LiveCommand,
    TimezoneCommand,
    admin_only_action,
    challenge_text,
    help_text,
    live_confirmation,
    parse_sprintwins,
)
from service.domain.mrkdwn import escape_mrkdwn
from service.domain.schedule import format_schedule
from service.models import utcnow
from service.progress import admin as progress_admin
from service.slack import celebrations, channels, roles
from service.teams import members
from service.teams.members import LinkError, NotYourJiraAccount
from service.teams.registry import TeamError


class WorkspaceUser:
    """Someone in the workspace (who ran a command, or whom it names): their Slack profile and whether
    they are a workspace admin.

    Slack is asked (``users.info``) at most once per command and person, and not at all while their
    role is remembered (``roles.ROLE_TTL``) or they are a named admin and nothing else is needed.
    """

    def __init__(self, slack_team_id: str, enterprise_id: str | None, user_id: str) -> None:
        self.slack_team_id, self.enterprise_id, self.user_id = slack_team_id, enterprise_id, user_id
        self._person: SlackPerson | None = None
        self._is_admin: bool | None = None
        self._workspace_id: int | None = None

    @property
    def workspace_id(self) -> int:
        """The workspace their commands act in (asked once)."""
        if self._workspace_id is None:
            self._workspace_id = workspace_of(self.slack_team_id, self.enterprise_id)
        return self._workspace_id

    @property
    def slack_said(self) -> SlackPerson:
        """What ``users.info`` says of them (asked once); its role is None when Slack would not say."""
        if self._person is None:
            self._person = fetch_person(slack_client(self.slack_team_id, self.enterprise_id), self.user_id)
            role = self._person.role
            if role is not None:  # remembered, so the next command need not ask
                with runtime.current().database.transaction() as session:
                    roles.remember_slack_role(
                        session,
                        self.slack_team_id,
                        self.enterprise_id,
                        self.user_id,
                        is_admin=role.is_admin,
                        is_owner=role.is_owner,
                        now=utcnow(),
                    )
        return self._person

    def profile(self) -> SlackProfile:
        return self.slack_said.profile

    def is_admin(self) -> bool:
        if self._is_admin is None:
            with runtime.current().database.sessions() as session:
                standing = roles.admin_standing(session, self.slack_team_id, self.user_id, now=utcnow())
            if standing is None:
                role = self.slack_said.role
                standing = role is not None and role.runs_the_workspace
            self._is_admin = standing
        return self._is_admin

    @property
    def role_unknown(self) -> bool:
        """Whether Slack was asked and would not say (an outage, likely): "not an admin" may be wrong."""
        return self._person is not None and self._person.role is None and not self._is_admin


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
    asker = WorkspaceUser(slack_team_id, enterprise_id, user_id)
    try:
        command = parse_sprintwins(text)
        admins_only = admin_only_action(command, user_id)
        if isinstance(command, HelpCommand):
            reply = help_text()
        elif admins_only is not None and not asker.is_admin():
            reply = _refusal(asker, admins_only)
        elif isinstance(command, ConnectCommand):
            reply = _connect(asker, channel_id, command.team)
        elif isinstance(command, DigestCommand):
            with rt.database.transaction() as session:
                link_row = channels.set_schedule(
                    session,
                    slack_team_id,
                    channel_id,
                    format_schedule(command.schedule),
                    workspace_id=asker.workspace_id,
                )
                reply = texts.schedule_confirmation(link_row.schedule, link_row.timezone)
        elif isinstance(command, TimezoneCommand):
            with rt.database.transaction() as session:
                channels.set_channel_timezone(
                    session, slack_team_id, channel_id, command.tz_name, workspace_id=asker.workspace_id
                )
            reply = texts.timezone_set(command.tz_name)
        elif isinstance(command, LinkCommand):
            reply = _link(asker, command)
        elif isinstance(command, ChallengeCommand):
            reply = _challenge(asker, channel_id, command.spec)
        elif isinstance(command, LiveCommand):
            with rt.database.transaction() as session:
                celebrations.set_live_mode(
                    session,
                    slack_team_id,
                    channel_id,
                    command.mode,
                    now=utcnow(),
                    workspace_id=asker.workspace_id,
                )
            reply = live_confirmation(command.mode)
        elif isinstance(command, AdminCommand):
            reply = _admin(asker, command)
        else:
            reply = help_text()
    except CommandError as error:
        reply = error.mrkdwn
    except NotYourJiraAccount:
        reply = texts.not_your_jira_account(_admin_names(slack_team_id))
    except (LinkError, TeamError, progress_admin.AdminError) as error:
        reply = escape_mrkdwn(str(error))
    replies.respond(rt.settings, response_url, reply)
    return reply


def _refusal(asker: WorkspaceUser, admins_only: str) -> str:
    if asker.role_unknown:
        return texts.ROLE_UNCHECKED
    return texts.admins_only(admins_only, _admin_names(asker.slack_team_id))


def _admin_names(slack_team_id: str) -> list[str]:
    """The named admins' names, for a refusal that says whom to ask."""
    with runtime.current().database.sessions() as session:
        return [admin.display_name for admin in roles.named_admins(session, slack_team_id)]


def _connect(asker: WorkspaceUser, channel_id: str, team: str) -> str:
    rt = runtime.current()
    linker = asker.profile()
    with rt.database.transaction() as session:
        connected = channels.connect_channel(
            session,
            slack_team_id=asker.slack_team_id,
            enterprise_id=asker.enterprise_id,
            channel_id=channel_id,
            team_name=team,
            linked_by_user_id=linker.user_id,
            linker_tz=linker.tz,
            workspace_id=asker.workspace_id,
        )
        reply = texts.connected(
            connected.team.name, connected.previous_team, connected.link.schedule, connected.link.timezone
        )
    rt.queue.enqueue(match_members_by_email, asker.slack_team_id, asker.enterprise_id)
    return reply


def _challenge(asker: WorkspaceUser, channel_id: str, spec: str) -> str:
    """A team challenge, or with a leading ``me`` one for the person who asked."""
    rt = runtime.current()
    slack_team_id, workspace_id = asker.slack_team_id, asker.workspace_id
    personal, text = challenge_text(spec)
    profile = (
        profiles_of_unknown(slack_team_id, asker.enterprise_id, [asker.user_id])[asker.user_id]
        if personal
        else None
    )
    with rt.database.transaction() as session:
        team = channels.linked_team(session, slack_team_id, channel_id, workspace_id=workspace_id)
        member_id = (
            members.ensure_member(session, slack_team_id, profile, workspace_id=workspace_id).id
            if profile
            else None
        )
        challenge = progress_admin.add_challenge(
            session, team.slug, text, member_id, recompute=False, workspace_id=workspace_id
        )
        team_id = team.id
    request_progress(rt, team_id)  # progress so far is counted from the wins already recorded
    return texts.challenge_started(personal, str(challenge["title"]), challenge["ends_on"])


def _link(asker: WorkspaceUser, command: LinkCommand) -> str:
    """Link yourself to a Jira account with your email, or (an admin, checked before) anyone to any."""
    rt = runtime.current()
    if command.slack_user_id == asker.user_id:
        profile = asker.profile()
        # Admins confirm links themselves; anyone else proves the account is theirs by its email.
        must_match_email = None if asker.is_admin() else (profile.email or "")
    else:
        profile = fetch_profile(slack_client(asker.slack_team_id, asker.enterprise_id), command.slack_user_id)
        must_match_email = None
    with rt.database.transaction() as session:
        linked = members.link_member(
            session,
            asker.slack_team_id,
            profile,
            jira_account_id=command.jira_account_id,
            email=command.email,
            must_match_email=must_match_email,
            workspace_id=asker.workspace_id,
        )
        jira_ref = linked.member.jira_account_id or command.email or ""
    return texts.member_linked(command.slack_user_id, jira_ref, linked.merged_wins)


def _admin(asker: WorkspaceUser, command: AdminCommand) -> str:
    """``admin list`` for anyone; ``add`` and ``remove`` (admins only, checked before) name people."""
    rt = runtime.current()
    if command.action is AdminAction.LIST or command.slack_user_id is None:
        with rt.database.sessions() as session:
            named = [admin.user_id for admin in roles.named_admins(session, asker.slack_team_id)]
        return texts.admins_listed(named)
    target = WorkspaceUser(asker.slack_team_id, asker.enterprise_id, command.slack_user_id)
    if command.action is AdminAction.REMOVE:
        with rt.database.transaction() as session:
            was_named = roles.remove_admin(session, asker.slack_team_id, command.slack_user_id)
        return texts.admin_removed(command.slack_user_id, was_named=was_named, slack_admin=target.is_admin())
    person = target.slack_said
    if person.role is None:
        return escape_mrkdwn(texts.ADMIN_NOT_IN_SLACK)
    if person.profile.is_bot:
        return escape_mrkdwn(texts.BOT_CANNOT_BE_ADMIN)
    with rt.database.transaction() as session:
        added = roles.add_admin(
            session,
            asker.slack_team_id,
            asker.enterprise_id,
            command.slack_user_id,
            display_name=person.profile.display_name,
            added_by_user_id=asker.user_id,
        )
    return texts.admin_added(
        command.slack_user_id, already=not added, slack_admin=person.role.runs_the_workspace
    )
