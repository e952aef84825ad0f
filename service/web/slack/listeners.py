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
from sqlalchemy.exc import DBAPIError, OperationalError

from integrations.slack import poster, views
from jobs import slack_commands, slack_events, slack_home, slack_sprint_goal, slack_wins
from jobs.queue import QueueUnavailable
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

if TYPE_CHECKING:
    from jobs.runtime import Runtime

log = logging.getLogger(__name__)

INBOX_ID = "sprintwins_inbox_id"


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

    # -- events: de-duplicate Slack's retries on event_id, which Bolt does not do in HTTP mode ------------

    @bolt.middleware
    def deduplicate_events(req: BoltRequest, body: dict[str, Any], next: Callable[[], Any]) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            return next()
        try:
            row_id = inbox_events.admit_event(rt.database, str(event_id), body)
        except (OperationalError, DBAPIError) as error:
            log.error("inbox unavailable for Slack event: %s", type(error).__name__)
            return BoltResponse(status=503, body="", headers={"Retry-After": "30"})
        if row_id is None:
            log.info("duplicate Slack event %s acknowledged without work", event_id)
            return BoltResponse(status=200, body="")
        req.context[INBOX_ID] = row_id
        return next()

    @bolt.event("app_home_opened")
    def on_home_opened(ack: Ack, event: dict[str, Any], context: BoltContext) -> None:
        if event.get("tab", "home") == "home":
            enqueue(
                slack_home.publish_home,
                context.team_id,
                context.enterprise_id,
                event["user"],
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
        enqueue(
            slack_events.revoke_tokens,
            context.enterprise_id,
            context.team_id,
            [str(u) for u in tokens.get("oauth") or []],
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
        try:
            enqueue(
                slack_commands.handle_sprintwins_command,
                context.team_id,
                context.enterprise_id,
                command["channel_id"],
                command["user_id"],
                text,
                command.get("response_url") or "",
            )
        except QueueUnavailable:
            ack(text=BUSY)
            return
        ack()

    @bolt.command("/win")
    def on_win(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        text = command.get("text") or ""
        try:
            parse_win(text)
        except CommandError as error:
            ack(text=error.mrkdwn)
            return
        try:
            enqueue(
                slack_wins.handle_win_command,
                context.team_id,
                context.enterprise_id,
                command["channel_id"],
                command["user_id"],
                text,
                command.get("trigger_id") or "",
                command.get("response_url") or "",
            )
        except QueueUnavailable:
            ack(text=BUSY)
            return
        ack()

    # -- "Celebrate as a win": message shortcut, then its modal ----------------------------------------------

    @bolt.shortcut(views.CELEBRATE_CALLBACK_ID)
    def on_celebrate(ack: Ack, shortcut: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        channel_id = (shortcut.get("channel") or {}).get("id", "")
        message = shortcut.get("message") or {}
        team_name: str | None
        with rt.database.sessions() as session:
            try:
                team_name = linked_team(session, context.team_id or "", channel_id).name
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
        client.views_open(trigger_id=shortcut["trigger_id"], view=view)

    @bolt.view(views.CELEBRATE_VIEW_CALLBACK_ID)
    def on_celebrate_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        submitted = views.read_celebrate_submission(view)
        if submitted.errors:
            ack(response_action="errors", errors=submitted.errors)
            return
        celebrate = views.CelebrateContext.loads(view.get("private_metadata") or "{}")
        user_id = (body.get("user") or {}).get("id", "")
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
        share = any(option.get("value") == "on" for option in action.get("selected_options") or [])
        user_id = (body.get("user") or {}).get("id", "")
        enqueue(slack_home.set_sharing, context.team_id, context.enterprise_id, user_id, share)
        ack()

    # -- "Sprint goal met" on the sprint-end celebration -------------------------------------------------

    @bolt.action(SPRINT_GOAL_MET_ACTION_ID)
    def on_sprint_goal_met(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        ack()  # the button changes nothing on the message; the job answers the clicker ephemerally
        container = body.get("container") or {}
        channel_id = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
        user_id = str((body.get("user") or {}).get("id") or "")
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


def message_text(slack_text: str) -> str:
    """A message's mrkdwn as the plain text people read (mentions and links become their labels)."""

    def token(body: str, label: str | None) -> str:
        if label:
            return f"@{label}" if body.startswith("@") and not label.startswith("@") else label
        return body.lstrip("!") if body.startswith("!") else body

    return " ".join(replace_markup(slack_text, token).split())
