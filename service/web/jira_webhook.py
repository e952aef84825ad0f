"""``POST /webhooks/jira``: verify, store once, enqueue, acknowledge. Nothing else happens here."""

from __future__ import annotations

import logging
from functools import partial

import orjson
from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy.exc import DBAPIError

from integrations.jira import signature
from integrations.jira.parse import KNOWN_EVENTS, event_name, payload_timestamp_ms
from jobs.inbox import request_processing
from jobs.queue import QueueUnavailable, RQJobQueue
from jobs.runtime import Runtime
from jobs.throttle import TrailingThrottle
from service.intake import inbox
from service.models import InboxState
from service.web.errors import json_error
from service.web.extensions import runtime_of

log = logging.getLogger(__name__)
bp = Blueprint("jira_webhook", __name__)

DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
DRAIN_REQUESTS = "sprintwins.drain_requests"


def init_app(app: Flask, rt: Runtime) -> None:
    # Asking Redis for a drain job is a round trip per delivery; a busy process asks at most
    # once per interval, and always once after its latest commit (see jobs/throttle.py).
    interval = rt.settings.drain_request_interval_ms / 1000 if isinstance(rt.queue, RQJobQueue) else 0.0
    app.extensions[DRAIN_REQUESTS] = TrailingThrottle(
        partial(request_processing, rt.queue), interval, _drain_request_failed
    )
    app.register_blueprint(bp)


def _drain_request_failed(error: Exception) -> None:
    if not isinstance(error, QueueUnavailable):
        raise error
    log.warning("queue unavailable; stored deliveries wait for the sweeper")


@bp.post("/webhooks/jira")
def receive() -> tuple[Response, int]:
    rt = runtime_of(current_app)
    body = request.get_data(cache=False)  # raises 413 past MAX_CONTENT_LENGTH
    secret = rt.settings.jira_webhook_secret
    if secret and not signature.verify(secret, body, request.headers.get("X-Hub-Signature")):
        return json_error(
            401, "missing or invalid X-Hub-Signature (expected sha256=<hex HMAC-SHA256 of the body>)"
        )
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return json_error(400, "body is not valid JSON")
    if not isinstance(payload, dict):
        return json_error(400, "body must be a JSON object, as Jira webhooks are")
    name = event_name(payload)
    if not name:
        return json_error(400, "not a Jira webhook: the JSON object has no string 'webhookEvent'")

    known = name in KNOWN_EVENTS
    delivery = inbox.Delivery(
        source="jira",
        delivery_id=request.headers.get(DELIVERY_HEADER) or inbox.body_delivery_id(body),
        event_type=name,
        body=body.decode("utf-8"),  # valid UTF-8: orjson accepted it
        payload_ts_ms=payload_timestamp_ms(payload),
        state=InboxState.PENDING if known else InboxState.IGNORED,
    )
    try:
        stored = rt.inbox_writer.store(delivery)  # returns once the row is committed
    except DBAPIError as error:  # OperationalError (database down) among them
        log.error("inbox unavailable: %s", type(error).__name__)
        response, status = json_error(503, "storage is unavailable; retry later")
        response.headers["Retry-After"] = "30"
        return response, status

    if known and stored.state == InboxState.PENDING:
        try:
            current_app.extensions[DRAIN_REQUESTS]()
        except QueueUnavailable:
            # Stored is what matters: the sweeper enqueues it once the queue is back.
            log.warning("queue unavailable; inbox row %s waits for the sweeper", stored.id)
    body = {
        "status": "accepted" if stored.new else "duplicate",
        "id": stored.id,
        "event": name,
        "state": InboxState.PENDING if known else InboxState.IGNORED,
    }
    return Response(orjson.dumps(body), status=202, mimetype="application/json"), 202
