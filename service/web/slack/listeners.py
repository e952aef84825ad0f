"""Bolt listeners: acknowledge at once, hand the real work to our queue.

Only what must happen inside Slack's 3-second window happens here: parsing (so a typo is answered
in the acknowledgement), modal validation (``response_action: errors`` must be the ack), and
``views.open`` (a trigger id expires in 3 seconds). Everything else is a job (``jobs.slack_*``)
that receives primitives only; the inbox and channel links are read and written through the
feature packages, never with SQL of the listeners' own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext, BoltResponse
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from sqlalchemy.exc import DBAPIError

from integrations.slack import poster, views
from integrations.slack.installation import oauth_enabled
from jobs import slack_commands, slack_events, slack_home, slack_sprint_goal, slack_wins
from jobs.queue import QueueUnavailable
from service.db import DATABASE_UNREACHABLE
from service.domain.commands import (
    CommandError,
    HelpCommand,
    help_text,
    parse_sprintwins,
    parse_win,
)
from service.domain.digest import SPRINT_GOAL_MET_ACTION_ID
from service.domain.mrkdwn import replace_markup
from service.domain.replies import BUSY, CELEBRATE_IN_UNLINKED_CHANNEL
from service.intake import slack_events as inbox_events
from service.slack.channels import ChannelNotLinked, linked_team
from service.slack.workspaces import workspace_id_for_slack
from service.web.errors import RETRY_AFTER_SECONDS

if TYPE_CHECKING:
    from jobs.runtime import Runtime

log = logging.getLogger(__name__)

INBOX_ID = "sprintwins_inbox_id"
# Answered in the acknowledgement when Slack's request lacks what the work needs; Slack never
# omits these, so this is a forged or broken client, but its user still deserves a sentence.
INCOMPLETE_COMMAND = (
    "Slack did not say which workspace, channel or person this came from, so nothing was done."
)
EXPIRED_FORM = "This form could not be read (it may have expired): close it and start again from the message."


def register(bolt: App, rt: Runtime) -> None:
    """Attach every middleware and listener of the app to ``bolt``."""

    def enqueue(func: Callable[..., Any], *args: Any, context: BoltContext | None = None) -> None:
        try:
            rt.queue.enqueue(func, *args)
        except QueueUnavailable:
            row_id = context.get(INBOX_ID) if context is not None else None
            if row_id is not None:
                inbox_events.event_not_queued(rt.database, row_id)
            raise

    def hand_off(
        ack: Ack, command: dict[str, Any], context: BoltContext, job: Callable[..., Any], *rest: str
    ) -> None:
        """Queue a slash command's job with who and where it came from; acknowledge within Slack's window."""
        origin = _command_origin(command, context)
        if origin is None:
            ack(text=INCOMPLETE_COMMAND)
            return
        team_id, channel_id, user_id = origin
        try:
            enqueue(
                job, team_id, context.enterprise_id, channel_id, user_id, command.get("text") or "", *rest
            )
        except QueueUnavailable:
            ack(text=BUSY)
            return
        ack()

    # -- events: de-duplicate Slack's retries on event_id, which Bolt does not do in HTTP mode ------------

    @bolt.middleware
    def deduplicate_events(req: BoltRequest, body: dict[str, Any], next: Callable[[], Any]) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            return next()
        try:
            row_id = inbox_events.admit_event(rt.database, str(event_id), body)
        except DATABASE_UNREACHABLE as error:
            log.error("inbox unavailable for Slack event: %s", type(error).__name__)
            return BoltResponse(status=503, body="", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        except DBAPIError as error:
            # The database is up and refused this value: a retry would be refused again.
            log.warning("Slack event %r refused by the inbox: %s", event_id, type(error).__name__)
            return BoltResponse(status=400, body="")
        if row_id is None:
            log.info("duplicate Slack event %s acknowledged without work", event_id)
            return BoltResponse(status=200, body="")
        req.context[INBOX_ID] = row_id
        return next()

    @bolt.event("app_home_opened")
    def on_home_opened(ack: Ack, event: dict[str, Any], context: BoltContext) -> None:
        user_id = event.get("user")
        if event.get("tab", "home") == "home" and isinstance(user_id, str) and user_id:
            enqueue(
                slack_home.publish_home,
                context.team_id,
                context.enterprise_id,
                user_id,
                context=context,
            )
        ack()

    @bolt.event("reaction_added")
    def on_reaction_added(ack: Ack, event: dict[str, Any], context: BoltContext) -> None:
        _enqueue_reaction(event, context, added=True)
        ack()

    @bolt.event("reaction_removed")
    def on_reaction_removed(ack: Ack, event: dict[str, Any], context: BoltContext) -> None:
        _enqueue_reaction(event, context, added=False)
        ack()

    def _enqueue_reaction(event: dict[str, Any], context: BoltContext, *, added: bool) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message" or not item.get("channel") or not item.get("ts"):
            return
        enqueue(
            slack_events.record_reaction,
            context.team_id,
            str(item["channel"]),
            str(item["ts"]),
            str(event.get("user", "")),
            str(event.get("reaction", "")),
            added,
            context=context,
        )

    @bolt.event("app_uninstalled")
    def on_uninstalled(ack: Ack, context: BoltContext) -> None:
        enqueue(slack_events.forget_workspace, context.enterprise_id, context.team_id, context=context)
        ack()

    @bolt.event("tokens_revoked")
    def on_tokens_revoked(ack: Ack, event: dict[str, Any], context: BoltContext) -> None:
        tokens = event.get("tokens") or {}
        oauth = tokens.get("oauth") if isinstance(tokens, dict) else None
        enqueue(
            slack_events.revoke_tokens,
            context.enterprise_id,
            context.team_id,
            [str(u) for u in oauth] if isinstance(oauth, list) else [],
            bool(tokens.get("bot")),
            context=context,
        )
        ack()

    # -- slash commands -------------------------------------------------------------------------------------

    @bolt.command("/sprintwins")
    def on_sprintwins(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        text = command.get("text") or ""
        try:
            parsed = parse_sprintwins(text)
        except CommandError as error:
            ack(text=error.mrkdwn)
            return
        if isinstance(parsed, HelpCommand):
            ack(text=help_text())
            return
        hand_off(
            ack, command, context, slack_commands.handle_sprintwins_command, command.get("response_url") or ""
        )

    @bolt.command("/win")
    def on_win(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        text = command.get("text") or ""
        try:
            parse_win(text)
        except CommandError as error:
            ack(text=error.mrkdwn)
            return
        hand_off(
            ack,
            command,
            context,
            slack_wins.handle_win_command,
            command.get("trigger_id") or "",
            command.get("response_url") or "",
        )

    # -- "Celebrate as a win": message shortcut, then its modal ----------------------------------------------

    @bolt.shortcut(views.CELEBRATE_CALLBACK_ID)
    def on_celebrate(ack: Ack, shortcut: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        trigger_id = shortcut.get("trigger_id")
        if not trigger_id:
            return  # nothing can be opened without it, and Slack already has its acknowledgement
        channel_id = _channel_id(shortcut)
        message = shortcut.get("message") or {}
        team_name: str | None
        slack_team_id = context.team_id or ""
        with rt.database.transaction() as session:
            workspace_id = workspace_id_for_slack(
                session, slack_team_id, context.enterprise_id, multi_workspace=oauth_enabled(rt.settings)
            )
            try:
                team_name = linked_team(session, slack_team_id, channel_id, workspace_id=workspace_id).name
            except ChannelNotLinked:
                team_name = None
        if team_name is None:
            view = views.notice_modal("Celebrate a win", CELEBRATE_IN_UNLINKED_CHANNEL)
        else:
            celebrate = views.CelebrateContext(
                slack_team_id=context.team_id or "",
                enterprise_id=context.enterprise_id,
                channel_id=channel_id,
                message_ts=str(shortcut.get("message_ts") or message.get("ts") or ""),
            )
            view = views.celebrate_modal(
                celebrate, message_text(str(message.get("text") or "")), team_name, message.get("user")
            )
        client.views_open(trigger_id=trigger_id, view=view)

    @bolt.view(views.CELEBRATE_VIEW_CALLBACK_ID)
    def on_celebrate_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            submitted = views.read_celebrate_submission(view)
            celebrate = views.CelebrateContext.loads(view.get("private_metadata") or "{}")
        except (ValueError, KeyError, TypeError, AttributeError):
            # Only our own modal carries this callback id; its metadata and values are ours to read.
            ack(response_action="errors", errors={views.TITLE_BLOCK: EXPIRED_FORM})
            return
        if submitted.errors:
            ack(response_action="errors", errors=submitted.errors)
            return
        user_id = _user_id(body)
        try:
            enqueue(
                slack_wins.record_message_win,
                celebrate.slack_team_id,
                celebrate.enterprise_id,
                celebrate.channel_id,
                celebrate.message_ts,
                user_id,
                submitted.owner_user_id or user_id,
                submitted.title,
                submitted.detail,
                submitted.visibility,
            )
        except QueueUnavailable:
            ack(response_action="errors", errors={views.TITLE_BLOCK: BUSY})
            return
        ack()

    # -- App Home's sharing toggle ------------------------------------------------------------------------

    @bolt.action(views.SHARING_ACTION_ID)
    def on_sharing_toggled(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
    ) -> None:
        options = action.get("selected_options") or []
        share = any(isinstance(option, dict) and option.get("value") == "on" for option in options)
        enqueue(slack_home.set_sharing, context.team_id, context.enterprise_id, _user_id(body), share)
        ack()

    # -- "Sprint goal met" on the sprint-end celebration -------------------------------------------------

    @bolt.action(SPRINT_GOAL_MET_ACTION_ID)
    def on_sprint_goal_met(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        ack()  # the button changes nothing on the message; the job answers the clicker ephemerally
        channel_id = _channel_id(body)
        user_id = _user_id(body)
        try:
            enqueue(
                slack_sprint_goal.confirm_sprint_goal,
                context.team_id,
                context.enterprise_id,
                channel_id,
                user_id,
                str(action.get("value") or ""),
            )
        except QueueUnavailable:
            poster.post_ephemeral(client, channel_id, user_id, BUSY, dm_if_refused=False)


def _command_origin(command: dict[str, Any], context: BoltContext) -> tuple[str, str, str] | None:
    """The workspace, channel and user a slash command came from; None when Slack left one out."""
    origin = (context.team_id, command.get("channel_id"), command.get("user_id"))
    if not all(isinstance(part, str) and part for part in origin):
        return None
    return str(origin[0]), str(origin[1]), str(origin[2])


def _user_id(body: dict[str, Any]) -> str:
    """The acting user of an interaction: Slack sends an object, older payloads a bare id."""
    user = body.get("user")
    return str((user.get("id") if isinstance(user, dict) else user) or "")


def _channel_id(body: dict[str, Any]) -> str:
    channel = body.get("channel")
    channel_id = channel.get("id") if isinstance(channel, dict) else channel
    container = body.get("container")
    if not channel_id and isinstance(container, dict):
        channel_id = container.get("channel_id")
    return str(channel_id or "")


def message_text(slack_text: str) -> str:
    """A message's mrkdwn as the plain text people read (mentions and links become their labels)."""

    def token(body: str, label: str | None) -> str:
        if label:
            return f"@{label}" if body.startswith("@") and not label.startswith("@") else label
        return body.lstrip("!") if body.startswith("!") else body

    return " ".join(replace_markup(slack_text, token).split())
