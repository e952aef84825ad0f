"""``POST /webhooks/jira``: verify, store once, request processing, acknowledge. Nothing else happens here.

The delivery goes down and never comes back up: parsing and recording happen in the job the
drain request starts (jobs.inbox), which answers to nobody here.
"""

from __future__ import annotations

import logging

import orjson
from flask import Blueprint, Flask, Response, current_app, request

from integrations.jira import signature
from integrations.jira.envelope import NotAWebhook, read_envelope
from jobs.inbox import drain_requests
from jobs.queue import QueueUnavailable
from jobs.runtime import Runtime
from service.db import DATABASE_UNREACHABLE
from service.intake.inbox import DELIVERY_ID_MAX, Delivery
from service.models import InboxState
from service.web.errors import json_error, unavailable
from service.web.extensions import runtime_of
from service.web.metrics import counted_webhook, note_webhook_outcome

log = logging.getLogger(__name__)
bp = Blueprint("jira_webhook", __name__)

DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
SIGNATURE_HEADER = "X-Hub-Signature"
DRAIN_REQUESTS = "sprintwins.drain_requests"


def init_app(app: Flask, rt: Runtime) -> None:
    app.extensions[DRAIN_REQUESTS] = drain_requests(rt)
    app.register_blueprint(bp)


@bp.post("/webhooks/jira")
@counted_webhook("jira")
def receive() -> tuple[Response, int]:
    rt = runtime_of(current_app)
    body = request.get_data(cache=False)  # raises 413 past MAX_CONTENT_LENGTH
    secret = rt.settings.jira_webhook_secret
    header = request.headers.get(SIGNATURE_HEADER)
    previous = rt.settings.jira_webhook_previous_secret  # accepted while a rotation is under way
    if (
        secret
        and not signature.verify(secret, body, header)
        and not (previous and signature.verify(previous, body, header))
    ):
        return json_error(
            401, "missing or invalid X-Hub-Signature (expected sha256=<hex HMAC-SHA256 of the body>)"
        )
    try:
        envelope = read_envelope(body)
    except NotAWebhook as error:
        return json_error(400, str(error))
    delivery_id = request.headers.get(DELIVERY_HEADER)
    if delivery_id is not None and (problem := _delivery_id_problem(delivery_id)):
        return json_error(400, f"{DELIVERY_HEADER} {problem}")

    delivery = Delivery.received(
        "jira",
        delivery_id,
        body,
        envelope.event_name,
        envelope.timestamp_ms,
        known=envelope.known,
    )
    try:
        stored = rt.inbox_writer.store(delivery)  # returns once the row is committed
    except DATABASE_UNREACHABLE as error:
        # Only an outage: the input was checked above, so any other error is ours, a logged 500.
        log.error("inbox unavailable: %s", type(error).__name__)
        return unavailable("storage is unavailable; retry later")

    if delivery.state == InboxState.PENDING and stored.state == InboxState.PENDING:
        try:
            current_app.extensions[DRAIN_REQUESTS]()
        except QueueUnavailable:
            # Stored is what matters: the sweeper enqueues it once the queue is back.
            log.warning("queue unavailable; inbox row %s waits for the sweeper", stored.id)
    answer = {
        "status": "accepted" if stored.new else "duplicate",
        "id": stored.id,
        "event": envelope.event_name,
        "state": delivery.state,
    }
    note_webhook_outcome("accepted" if stored.new else "duplicate")
    return Response(orjson.dumps(answer), status=202, mimetype="application/json"), 202


def _delivery_id_problem(delivery_id: str) -> str | None:
    """Why the delivery id cannot key an inbox row, if it cannot: it must fit, and be printable.

    Cutting a long id would make two deliveries one; a NUL cannot be stored in a text column.
    """
    if len(delivery_id) > DELIVERY_ID_MAX:
        return f"is longer than {DELIVERY_ID_MAX} characters"
    if not delivery_id.isprintable():
        return "must not contain control characters"
    return None
