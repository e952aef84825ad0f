"""Bolt listeners for App Home's "Download my data" and "Forget me": acknowledge, then queue the job.

"Forget me" first opens a confirmation modal (``views.open`` must happen within the trigger's three
seconds, so it happens here); only its submission queues the forgetting, for the person who
submitted it. Each click or submission is queued once (``enqueue_unique`` on its own id), so a
double click or a redelivered request runs the work once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from integrations.slack import views
from jobs import slack_self_service
from jobs.queue import QueueUnavailable
from service.domain.replies import BUSY

if TYPE_CHECKING:
    from jobs.runtime import Runtime

log = logging.getLogger(__name__)


def register(bolt: App, rt: Runtime) -> None:
    """Attach the self-service listeners to ``bolt``."""

    @bolt.action(views.EXPORT_ACTION_ID)
    def on_download_my_data(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
    ) -> None:
        ack()
        user_id, slack_team_id = _user_id(body), context.team_id or ""
        if not user_id or not slack_team_id:
            return
        click_id = str(action.get("action_ts") or body.get("trigger_id") or "")
        key = slack_self_service.request_key(slack_team_id, user_id, click_id)
        try:
            rt.queue.enqueue_unique(
                slack_self_service.send_my_data,
                slack_team_id,
                context.enterprise_id,
                user_id,
                click_id,
                job_id=f"my-data-{key}",
            )
        except QueueUnavailable:
            # Slack has its acknowledgement already; App Home stays as it was, so they can click again.
            log.error("queue unavailable: a request for a person's data was not queued")

    @bolt.action(views.FORGET_ACTION_ID)
    def on_forget_me(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        ack()
        trigger_id, user_id = body.get("trigger_id"), _user_id(body)
        if not trigger_id or not user_id or not context.team_id:
            return  # nothing can be opened without them, and Slack already has its acknowledgement
        asked = views.ForgetContext(context.team_id, context.enterprise_id, user_id)
        client.views_open(trigger_id=trigger_id, view=views.forget_confirmation_modal(asked))

    @bolt.view(views.FORGET_VIEW_CALLBACK_ID)
    def on_forget_confirmed(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
    ) -> None:
        try:
            asked = views.ForgetContext.loads(view.get("private_metadata") or "{}")
        except (ValueError, KeyError, TypeError, AttributeError):
            ack()  # only our own modal carries this callback id; a modal we cannot read changes nothing
            return
        if asked.user_id != _user_id(body) or asked.slack_team_id != context.team_id:
            # Only the person who asked may confirm, in the workspace where they asked.
            log.warning("a forget confirmation came from someone other than who asked; ignored")
            ack()
            return
        key = slack_self_service.request_key(asked.slack_team_id, asked.user_id, str(view.get("id") or ""))
        try:
            rt.queue.enqueue_unique(
                slack_self_service.forget_me,
                asked.slack_team_id,
                asked.enterprise_id,
                asked.user_id,
                job_id=f"forget-me-{key}",
            )
        except QueueUnavailable:
            ack(response_action="update", view=views.notice_modal("Forget me", BUSY))
            return
        ack()


def _user_id(body: dict[str, Any]) -> str:
    """The acting user of an interaction: Slack sends an object, older payloads a bare id."""
    user = body.get("user")
    return str((user.get("id") if isinstance(user, dict) else user) or "")
