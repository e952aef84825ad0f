"""Wins people make in Slack: ``/win`` (for themselves, or kudos) and "Celebrate as a win" on a message.

Safe to run twice: wins are keyed by (source, source_key, kind), and the keys come from Slack's
own ids (the command's trigger id, the celebrated message's ts).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

from integrations.slack import poster, replies
from jobs import runtime
from jobs.progress import request_progress_update
from jobs.queue import QueueUnavailable
from jobs.runtime import Runtime
from jobs.slack_people import profiles_of_unknown, slack_client, workspace_of
from service.domain import replies as texts
from service.domain.commands import CommandError, KudosWin, parse_win
from service.domain.mrkdwn import escape_mrkdwn
from service.domain.wins import WinDraft, WinKind, WinSource, WinVisibility
from service.slack import channels
from service.teams import members
from service.teams.members import LinkError
from service.wins.record import record_win

log = logging.getLogger(__name__)

MAX_KUDOS_RECIPIENTS = 20


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
        replies.respond(rt.settings, response_url, error.mrkdwn)
        return error.mrkdwn
    workspace_id = workspace_of(slack_team_id, enterprise_id)
    with rt.database.sessions() as session:
        try:
            channels.linked_team(session, slack_team_id, channel_id, workspace_id=workspace_id)
        except LinkError as error:
            reply = escape_mrkdwn(str(error))
            replies.respond(rt.settings, response_url, reply)
            return reply
    recipients: list[str] = []
    if isinstance(parsed, KudosWin):
        recipients = [r for r in parsed.recipient_user_ids if r != user_id][:MAX_KUDOS_RECIPIENTS]
    profiles = profiles_of_unknown(slack_team_id, enterprise_id, [user_id, *recipients])
    # The trigger id is unique per invocation: a retried job finds its rows; a fresh /win makes new ones.
    key = trigger_id or _fallback_key(slack_team_id, channel_id, user_id, text)
    now = datetime.now(UTC)
    with rt.database.transaction() as session:
        team = channels.linked_team(session, slack_team_id, channel_id, workspace_id=workspace_id)
        sender = members.ensure_member(session, slack_team_id, profiles[user_id], workspace_id=workspace_id)
        details: dict[str, Any] = {"slack_channel": channel_id, "slack_user_id": user_id}
        if not recipients:
            record_win(
                session,
                WinDraft(WinKind.MANUAL, WinSource.SLACK, f"win:{key}", parsed.title, now, details=details),
                team_id=team.id,
                member_id=sender.id,
            )
            reply = texts.win_logged(parsed.title, team.name)
        else:
            kudos_from = {"member_id": sender.id, "slack_user_id": user_id, "name": sender.display_name}
            for recipient in recipients:
                member = members.ensure_member(
                    session, slack_team_id, profiles[recipient], workspace_id=workspace_id
                )
                record_win(
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
            reply = texts.kudos_sent(recipients, parsed.title)
        team_id = team.id
    # Not posted to the channel one by one (the digest celebrates them); but they may earn badges and streaks.
    request_progress(rt, team_id)
    replies.respond(rt.settings, response_url, reply)
    return reply


def _fallback_key(slack_team_id: str, channel_id: str, user_id: str, text: str) -> str:
    minute = datetime.now(UTC).strftime("%Y%m%d%H%M")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{slack_team_id}:{channel_id}:{user_id}:{digest}:{minute}"


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
    workspace_id = workspace_of(slack_team_id, enterprise_id)
    client = slack_client(slack_team_id, enterprise_id)
    permalink = poster.permalink(client, channel_id, message_ts)
    wanted = [user_id] if owner_user_id == user_id else [user_id, owner_user_id]
    profiles = profiles_of_unknown(slack_team_id, enterprise_id, wanted, client)
    with rt.database.transaction() as session:
        try:
            team = channels.linked_team(session, slack_team_id, channel_id, workspace_id=workspace_id)
        except LinkError as error:
            poster.post_ephemeral(client, channel_id, user_id, escape_mrkdwn(str(error)))
            return None
        submitter = members.ensure_member(
            session, slack_team_id, profiles[user_id], workspace_id=workspace_id
        )
        owner = (
            submitter
            if owner_user_id == user_id
            else members.ensure_member(
                session, slack_team_id, profiles[owner_user_id], workspace_id=workspace_id
            )
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
        win_id, _ = record_win(
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
        team_id = team.id
    kudos_for = None if kind is WinKind.MANUAL else owner_user_id
    private = visibility == WinVisibility.PRIVATE
    poster.post_ephemeral(
        client, channel_id, user_id, texts.message_celebrated(title, permalink, kudos_for, private)
    )
    request_progress(rt, team_id)  # the digest celebrates it; badges and streaks may follow from it
    return win_id


def request_progress(rt: Runtime, team_id: int) -> None:
    """Ask for the team's progress to be recomputed; a queue outage leaves it to the team's next batch."""
    try:
        request_progress_update([team_id], rt.queue)
    except QueueUnavailable:
        log.warning("queue unavailable; team %s's progress is recomputed after its next batch", team_id)
