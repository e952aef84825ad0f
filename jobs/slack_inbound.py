"""The work Slack's listeners hand off: commands, the celebrate modal, App Home, reactions, uninstalls.

Every job takes primitives (RQ's JSON serializer) and is safe to run twice: wins are keyed by
(source, source_key, kind), cheers by (win, user, reaction), links by (workspace, channel).
Replies to slash commands go to the command's ``response_url``, which works in every channel
and DM, whether or not the bot is a member.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.slack import views
from integrations.slack.installation import (
    SlackNotInstalled,
    build_installation_store,
    client_for_team,
    oauth_enabled,
)
from jobs import runtime
from jobs.progress import request_progress_update
from jobs.queue import JobQueue, QueueUnavailable
from service.digests import sprint_goal
from service.domain.commands import (
    ChallengeCommand,
    CommandError,
    ConnectCommand,
    DigestCommand,
    HelpCommand,
    KudosWin,
    LinkCommand,
    TimezoneCommand,
    help_text,
    parse_sprintwins,
    parse_win,
)
from service.domain.mrkdwn import escape_mrkdwn, is_slack_user_id, link, mention, unescape_mrkdwn
from service.domain.schedule import format_schedule, load_timezone
from service.domain.wins import WinDraft, WinKind, WinSource, WinVisibility
from service.models import ChannelLink, Member
from service.progress import admin as progress_admin
from service.settings import Settings
from service.slack import links as slack_links
from service.slack.links import LinkError, SlackProfile

log = logging.getLogger(__name__)

MAX_KUDOS_RECIPIENTS = 20


# -- /sprintwins ---------------------------------------------------------------------------------------------


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
                link_row = slack_links.set_schedule(
                    session, slack_team_id, channel_id, format_schedule(command.schedule)
                )
                reply = _schedule_confirmation(link_row.schedule, link_row.timezone)
        elif isinstance(command, TimezoneCommand):
            with rt.database.transaction() as session:
                slack_links.set_channel_timezone(session, slack_team_id, channel_id, command.tz_name)
            reply = f":earth_africa: Got it: digests here now follow *{escape_mrkdwn(command.tz_name)}* time."
        elif isinstance(command, LinkCommand):
            reply = _link(slack_team_id, enterprise_id, command)
        elif isinstance(command, ChallengeCommand):
            reply = _challenge(slack_team_id, enterprise_id, channel_id, user_id, command.spec)
        else:
            reply = help_text()
    except CommandError as error:
        reply = error.mrkdwn
    except (LinkError, progress_admin.AdminError) as error:
        reply = escape_mrkdwn(str(error))
    _respond(rt.settings, response_url, reply)
    return reply


def _connect(slack_team_id: str, enterprise_id: str | None, channel_id: str, user_id: str, team: str) -> str:
    rt = runtime.current()
    client = _client(slack_team_id, enterprise_id)
    linker = _profile(client, user_id)
    with rt.database.transaction() as session:
        connected = slack_links.connect_channel(
            session,
            slack_team_id=slack_team_id,
            enterprise_id=enterprise_id,
            channel_id=channel_id,
            team_name=team,
            linked_by=linker,
        )
        team_name = escape_mrkdwn(connected.team.name)
        schedule, tz = connected.link.schedule, connected.link.timezone
        previous = connected.previous_team
    rt.queue.enqueue(match_members_by_email, slack_team_id, enterprise_id)
    moved = f" (it was connected to {escape_mrkdwn(previous)})" if previous else ""
    return (
        f":tada: This channel now celebrates *{team_name}*{moved}. "
        f"{_schedule_confirmation(schedule, tz)}\n"
        "Change it with `/sprintwins digest …`, or log a win any time with `/win`."
    )


def _schedule_confirmation(schedule: str, tz: str) -> str:
    if schedule == "off":
        return ":zzz: Digests are off for this channel. `/win` still works whenever you like."
    if schedule == "sprint-end":
        return ":checkered_flag: A digest will land here whenever a sprint closes."
    return f":calendar: Digest schedule: *{escape_mrkdwn(schedule)}* ({escape_mrkdwn(tz)})."


PERSONAL_PREFIXES = ("me ", "my ", "personal ")


def _challenge(
    slack_team_id: str, enterprise_id: str | None, channel_id: str, user_id: str, spec: str
) -> str:
    """A team challenge, or with a leading ``me`` one for the person who asked."""
    rt = runtime.current()
    text = unescape_mrkdwn(spec).strip()
    personal = text.lower().startswith(PERSONAL_PREFIXES)
    if personal:
        text = text.split(" ", 1)[1].strip()
    profile = _profiles_of_unknown(slack_team_id, enterprise_id, [user_id])[user_id] if personal else None
    with rt.database.transaction() as session:
        team = slack_links.linked_team(session, slack_team_id, channel_id)
        member_id = slack_links.ensure_member(session, slack_team_id, profile).id if profile else None
        challenge = progress_admin.add_challenge(session, team.slug, text, member_id, recompute=False)
        team_id = team.id
    _request_progress(rt, team_id)  # progress so far is counted from the wins already recorded
    whose = "Your" if personal else "Team"
    title = escape_mrkdwn(str(challenge["title"]))
    return f":trophy: {whose} challenge is on: *{title}*, until {challenge['ends_on']}. You've got this!"


def _link(slack_team_id: str, enterprise_id: str | None, command: LinkCommand) -> str:
    rt = runtime.current()
    profile = _profile(_client(slack_team_id, enterprise_id), command.slack_user_id)
    with rt.database.transaction() as session:
        linked = slack_links.link_member(
            session,
            slack_team_id,
            profile,
            jira_account_id=command.jira_account_id,
            email=command.email,
        )
        jira_ref = linked.member.jira_account_id or command.email or ""
    merged = f" I moved their {linked.merged_wins} earlier win(s) over too." if linked.merged_wins else ""
    who = mention(command.slack_user_id)
    return f":link: {who} is now linked to Jira account `{escape_mrkdwn(jira_ref)}`.{merged}"


# -- /win ----------------------------------------------------------------------------------------------------


def handle_win_command(
    slack_team_id: str,
    enterprise_id: str | None,
    channel_id: str,
    user_id: str,
    text: str,
    trigger_id: str,
    response_url: str,
) -> str:
    """Record a manual win for the sender, or kudos for each person named first."""
    rt = runtime.current()
    try:
        parsed = parse_win(text)
    except CommandError as error:
        _respond(rt.settings, response_url, error.mrkdwn)
        return error.mrkdwn
    with rt.database.sessions() as session:
        try:
            slack_links.linked_team(session, slack_team_id, channel_id)
        except LinkError as error:
            reply = escape_mrkdwn(str(error))
            _respond(rt.settings, response_url, reply)
            return reply
    recipients: list[str] = []
    if isinstance(parsed, KudosWin):
        recipients = [r for r in parsed.recipient_user_ids if r != user_id][:MAX_KUDOS_RECIPIENTS]
    profiles = _profiles_of_unknown(slack_team_id, enterprise_id, [user_id, *recipients])
    # The trigger id is unique per invocation: a retried job finds its rows; a fresh /win makes new ones.
    key = trigger_id or _fallback_key(slack_team_id, channel_id, user_id, text)
    now = datetime.now(UTC)
    with rt.database.transaction() as session:
        team = slack_links.linked_team(session, slack_team_id, channel_id)
        sender = slack_links.ensure_member(session, slack_team_id, profiles[user_id])
        details: dict[str, Any] = {"slack_channel": channel_id, "slack_user_id": user_id}
        if not recipients:
            slack_links.record_win(
                session,
                WinDraft(WinKind.MANUAL, WinSource.SLACK, f"win:{key}", parsed.title, now, details=details),
                team_id=team.id,
                member_id=sender.id,
            )
            reply = (
                f":star2: Nice one! Logged *{escape_mrkdwn(parsed.title)}* "
                f"as a win for {escape_mrkdwn(team.name)}."
            )
        else:
            kudos_from = {"member_id": sender.id, "slack_user_id": user_id, "name": sender.display_name}
            for recipient in recipients:
                member = slack_links.ensure_member(session, slack_team_id, profiles[recipient])
                slack_links.record_win(
                    session,
                    WinDraft(
                        WinKind.KUDOS,
                        WinSource.SLACK,
                        f"kudos:{key}:{recipient}",
                        parsed.title,
                        now,
                        details={**details, "slack_user_id": recipient, "kudos_from": kudos_from},
                    ),
                    team_id=team.id,
                    member_id=member.id,
                )
            names = ", ".join(mention(r) for r in recipients)
            reply = f":clap: Kudos sent to {names} for *{escape_mrkdwn(parsed.title)}*. Thanks for noticing!"
    # Not posted to the channel one by one (the digest celebrates them); but they may earn badges and streaks.
    _request_progress(rt, team.id)
    _respond(rt.settings, response_url, reply)
    return reply


def _fallback_key(slack_team_id: str, channel_id: str, user_id: str, text: str) -> str:
    minute = datetime.now(UTC).strftime("%Y%m%d%H%M")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{slack_team_id}:{channel_id}:{user_id}:{digest}:{minute}"


# -- "Celebrate as a win" ------------------------------------------------------------------------------------


def record_message_win(
    slack_team_id: str,
    enterprise_id: str | None,
    channel_id: str,
    message_ts: str,
    user_id: str,
    owner_user_id: str,
    title: str,
    detail: str,
    visibility: str,
) -> int | None:
    """Record the modal's win with the message's permalink; returns the win id."""
    rt = runtime.current()
    client = _client(slack_team_id, enterprise_id)
    try:
        permalink: str | None = client.chat_getPermalink(channel=channel_id, message_ts=message_ts)[
            "permalink"
        ]
    except SlackApiError as error:
        log.warning("no permalink for a celebrated message: %s", error.response.get("error"))
        permalink = None
    wanted = [user_id] if owner_user_id == user_id else [user_id, owner_user_id]
    profiles = _profiles_of_unknown(slack_team_id, enterprise_id, wanted, client)
    with rt.database.transaction() as session:
        try:
            team = slack_links.linked_team(session, slack_team_id, channel_id)
        except LinkError as error:
            _ephemeral(client, channel_id, user_id, escape_mrkdwn(str(error)))
            return None
        submitter = slack_links.ensure_member(session, slack_team_id, profiles[user_id])
        owner = (
            submitter
            if owner_user_id == user_id
            else slack_links.ensure_member(session, slack_team_id, profiles[owner_user_id])
        )
        details: dict[str, Any] = {
            "slack_channel": channel_id,
            "slack_message_ts": message_ts,
            "slack_user_id": owner_user_id,
        }
        if detail:
            details["detail"] = detail
        kind = WinKind.MANUAL
        if owner.id != submitter.id:
            kind = WinKind.KUDOS
            details["kudos_from"] = {
                "member_id": submitter.id,
                "slack_user_id": user_id,
                "name": submitter.display_name,
            }
        win_id, _ = slack_links.record_win(
            session,
            WinDraft(
                kind,
                WinSource.SLACK,
                f"message:{slack_team_id}:{channel_id}:{message_ts}:{owner_user_id}",
                title,
                datetime.now(UTC),
                url=permalink,
                details=details,
            ),
            team_id=team.id,
            member_id=owner.id,
            visibility=visibility,
        )
    shown = link(permalink, title) if permalink else f"*{escape_mrkdwn(title)}*"
    who = "" if kind is WinKind.MANUAL else f" for {mention(owner_user_id)}"
    private = " Only you will see it." if visibility == WinVisibility.PRIVATE else ""
    _ephemeral(client, channel_id, user_id, f":tada: Celebrated {shown}{who}!{private}")
    _request_progress(rt, team.id)  # the digest celebrates it; badges and streaks may follow from it
    return win_id


def _request_progress(rt: Any, team_id: int) -> None:
    try:
        request_progress_update([team_id], rt.queue)
    except QueueUnavailable:
        log.warning("queue unavailable; team %s's progress is recomputed after its next batch", team_id)


# -- "Sprint goal met" on the sprint-end celebration ---------------------------------------------------------


def confirm_sprint_goal(
    slack_team_id: str, enterprise_id: str | None, channel_id: str, user_id: str, sprint_value: str
) -> str:
    """Record the button's confirmation for the sprint named by its value (our sprint id, as
    ``service.digests.store.compose_sprint_celebration`` posts it); answer the clicker ephemerally.

    Returns the answer (mrkdwn). Safe to run twice: the first confirmation stands.
    """
    rt = runtime.current()
    client = _client(slack_team_id, enterprise_id)
    profile = _profiles_of_unknown(slack_team_id, enterprise_id, [user_id], client)[user_id]
    with rt.database.transaction() as session:
        reply, confirmed_team_id = _record_goal(session, slack_team_id, channel_id, profile, sprint_value)
    if confirmed_team_id is not None:
        _request_progress(rt, confirmed_team_id)  # the engine turns the confirmation into the milestone
    _ephemeral(client, channel_id, user_id, reply)
    return reply


def _record_goal(
    session: Session, slack_team_id: str, channel_id: str, profile: SlackProfile, sprint_value: str
) -> tuple[str, int | None]:
    """The answer for the clicker, and the sprint's team id when its goal is (now) confirmed."""
    sprint_id = _sprint_id(sprint_value)
    found = sprint_goal.goal_confirmation(session, sprint_id) if sprint_id is not None else None
    if found is None:
        return "I couldn't find that sprint any more, so there was nothing to confirm.", None
    link_row = slack_links.channel_link(session, slack_team_id, channel_id)
    if link_row is None or link_row.team_id != found.team_id:
        # The value arrives signed, but only the team's own channels may speak for its sprint.
        return (
            "This channel isn't connected to that sprint's team, so its goal can't be confirmed here.",
            None,
        )
    member = slack_links.ensure_member(session, slack_team_id, profile)
    try:
        recorded = sprint_goal.confirm_sprint_goal(session, found.sprint_id, member.id, datetime.now(UTC))
    except sprint_goal.SprintNotClosed as error:
        return escape_mrkdwn(str(error)), None
    stored = sprint_goal.goal_confirmation(session, found.sprint_id)
    assert stored is not None  # this transaction just read the row
    sprint_name = escape_mrkdwn(stored.sprint_name or "this sprint")
    if recorded:
        return f":tada: *{sprint_name}*: Sprint goal marked as met — nice work!", found.team_id
    who = _confirmer(stored.confirmed_by, member.id, slack_team_id)
    return f"The goal of *{sprint_name}* was already confirmed by {who}. :white_check_mark:", found.team_id


def _sprint_id(value: str) -> int | None:
    """The button's value as a sprint id; anything else (or beyond an INTEGER column) is no sprint."""
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    sprint_id = int(value)
    return sprint_id if 0 < sprint_id < 2**31 else None


def _confirmer(by: Member | None, clicker_member_id: int, slack_team_id: str) -> str:
    """Who confirmed, as mrkdwn: named only if they share publicly."""
    if by is None or by.sharing_opt_out:
        return "a teammate"
    if by.id == clicker_member_id:
        return "you"
    if by.slack_user_id and by.slack_team_id == slack_team_id and is_slack_user_id(by.slack_user_id):
        return mention(by.slack_user_id)
    return escape_mrkdwn(by.display_name or "a teammate")


# -- App Home ------------------------------------------------------------------------------------------------


def publish_home(slack_team_id: str, enterprise_id: str | None, user_id: str) -> None:
    """Publish the person's App Home: this week's and this sprint's wins, streaks, badges, sharing."""
    rt = runtime.current()
    client = _client(slack_team_id, enterprise_id)
    profile = _profile(client, user_id)
    tz = _zone(profile.tz)
    now = datetime.now(UTC)
    local_now = now.astimezone(tz)
    week_start = (local_now - timedelta(days=local_now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    with rt.database.transaction() as session:
        member = slack_links.member_for_slack_user(session, slack_team_id, user_id)
        if member is None and profile.email:
            # Someone Jira already knows by email: link them now rather than show an empty home.
            member = slack_links.ensure_member(session, slack_team_id, profile)
        if member is None:
            data = views.HomeData(known=False, sharing=True)
        else:
            week = slack_links.member_wins_since(session, member.id, week_start.astimezone(UTC))
            sprint = slack_links.current_sprint_for_member(session, member.id)
            sprint_wins = (
                slack_links.member_wins_since(session, member.id, sprint.start_at, team_id=sprint.team_id)
                if sprint is not None and sprint.start_at is not None
                else []
            )
            streaks, badges = slack_links.achievements(session, member.id)
            data = views.HomeData(
                known=True,
                sharing=not member.sharing_opt_out,
                week=[views.HomeWin(w.title, w.url, w.points) for w in week],
                sprint_name=sprint.name if sprint else None,
                sprint=[views.HomeWin(w.title, w.url, w.points) for w in sprint_wins],
                streaks=streaks,
                badges=badges,
            )
    client.views_publish(user_id=user_id, view=views.home_view(data))


def set_sharing(slack_team_id: str, enterprise_id: str | None, user_id: str, share: bool) -> None:
    """The App Home toggle: opting out hides the person's name from public posts, not their wins."""
    rt = runtime.current()
    client = _client(slack_team_id, enterprise_id)
    with rt.database.sessions() as session:
        known = slack_links.member_for_slack_user(session, slack_team_id, user_id)
    profile = SlackProfile(user_id, known.display_name) if known else _profile(client, user_id)
    with rt.database.transaction() as session:
        slack_links.set_sharing(session, slack_team_id, profile, share)
    publish_home(slack_team_id, enterprise_id, user_id)


# -- reactions -----------------------------------------------------------------------------------------------


def record_reaction(
    slack_team_id: str, channel_id: str, ts: str, user_id: str, reaction: str, added: bool
) -> int | None:
    """A reaction on one of our celebration posts becomes (or stops being) a cheer on its win."""
    rt = runtime.current()
    with rt.database.transaction() as session:
        return slack_links.record_cheer(session, slack_team_id, channel_id, ts, user_id, reaction, added)


# -- uninstalls and revoked tokens ---------------------------------------------------------------------------


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
            slack_links.pause_workspace(
                session, slack_team_id, "app_uninstalled: Sprint Wins was removed from Slack"
            )


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


# -- people --------------------------------------------------------------------------------------------------


EMAIL_MATCH_INTERVAL_S = 600


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
        workspaces = session.execute(
            select(ChannelLink.slack_team_id, ChannelLink.slack_enterprise_id)
            .where(ChannelLink.team_id == team_id)
            .distinct()
        ).all()
    return sum(match_members_by_email(ws, enterprise, team_id=team_id) for ws, enterprise in workspaces)


def match_members_by_email(
    slack_team_id: str, enterprise_id: str | None = None, team_id: int | None = None
) -> int:
    """Link Jira people to Slack users by the email Jira revealed (``users.lookupByEmail``).

    Returns how many were linked. Safe to run any time (after a batch of new members, on connect).
    """
    rt = runtime.current()
    try:
        client = _client(slack_team_id, enterprise_id)
    except SlackNotInstalled:
        return 0
    with rt.database.sessions() as session:
        candidates = slack_links.members_to_match_by_email(session, team_id=team_id)
    linked = 0
    for member_id, email in candidates:
        try:
            user = client.users_lookupByEmail(email=email)["user"]
        except SlackApiError:
            continue  # not in this workspace, or the scope is missing
        if user.get("is_bot") or user.get("deleted"):
            continue
        with rt.database.transaction() as session:
            linked += slack_links.attach_slack_identity(session, member_id, slack_team_id, str(user["id"]))
    return linked


# -- Slack plumbing ------------------------------------------------------------------------------------------


def _client(slack_team_id: str | None, enterprise_id: str | None) -> WebClient:
    rt = runtime.current()
    return client_for_team(rt.settings, rt.database.engine, slack_team_id, enterprise_id)


def _profile(client: WebClient, user_id: str) -> SlackProfile:
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        log.warning("users.info failed for a user: %s", error.response.get("error"))
        return SlackProfile(user_id, user_id)
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


def _profiles_of_unknown(
    slack_team_id: str, enterprise_id: str | None, user_ids: list[str], client: WebClient | None = None
) -> dict[str, SlackProfile]:
    """Profiles for the given users; only people we have never seen cost a ``users.info`` call."""
    rt = runtime.current()
    profiles: dict[str, SlackProfile] = {}
    with rt.database.sessions() as session:
        for user_id in dict.fromkeys(user_ids):
            member = slack_links.member_for_slack_user(session, slack_team_id, user_id)
            if member is not None:
                profiles[user_id] = SlackProfile(user_id, member.display_name, member.email)
    for user_id in dict.fromkeys(user_ids):
        if user_id not in profiles:
            client = client or _client(slack_team_id, enterprise_id)
            profiles[user_id] = _profile(client, user_id)
    return profiles


def _zone(tz_name: str | None) -> ZoneInfo:
    try:
        return load_timezone(tz_name or "UTC")
    except ValueError:
        return ZoneInfo("UTC")


def _ephemeral(client: WebClient, channel_id: str, user_id: str, text: str) -> None:
    try:
        client.chat_postEphemeral(channel=channel_id, user=user_id, text=text)
    except SlackApiError as error:
        # The bot may not be in the channel: a DM reaches the person anywhere.
        log.info("ephemeral reply failed (%s); sending a DM", error.response.get("error"))
        try:
            client.chat_postMessage(channel=user_id, text=text)
        except SlackApiError as dm_error:
            log.warning("could not reply to a user: %s", dm_error.response.get("error"))


def _respond(settings: Settings, response_url: str, text: str) -> None:
    """Answer a slash command ephemerally through its response_url."""
    if not response_url:
        return
    if not _trusted_response_url(settings, response_url):
        log.warning("refusing to post to a response_url outside Slack")
        return
    try:
        response = WebhookClient(response_url, timeout=10).send(text=text, response_type="ephemeral")
    except OSError as error:
        log.warning("response_url unreachable: %s", type(error).__name__)
        return
    if response.status_code >= 400:
        log.warning("response_url answered %s", response.status_code)


def _trusted_response_url(settings: Settings, url: str) -> bool:
    # response_url arrives in a signed request, but it ends up in a job argument: only ever post to Slack
    # (or to the host SPRINTWINS_SLACK_API_URL points at, for proxies and tests).
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname == "hooks.slack.com":
        return True
    if settings.slack_api_url:
        api = urlsplit(settings.slack_api_url)
        return (parts.scheme, parts.netloc) == (api.scheme, api.netloc)
    return False
