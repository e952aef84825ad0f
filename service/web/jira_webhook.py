"""``POST /webhooks/jira``: verify, store once, enqueue, acknowledge. Nothing else happens here."""

from __future__ import annotations

import logging

import orjson
from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import DBAPIError, OperationalError

from integrations.jira import signature
from integrations.jira.parse import KNOWN_EVENTS, event_name, payload_timestamp_ms
from jobs.inbox import request_processing
from jobs.queue import QueueUnavailable
from service import inbox
from service.models import InboxState
from service.web.errors import json_error
from service.web.extensions import runtime_of

log = logging.getLogger(__name__)
bp = Blueprint("jira_webhook", __name__)

DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"


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
        with rt.database.connection() as connection:
            row_id, new = inbox.store_delivery(connection, delivery)
            needs_processing = known and (new or inbox.is_pending(connection, row_id))
    except (OperationalError, DBAPIError) as error:
        log.error("inbox unavailable: %s", type(error).__name__)
        response, status = json_error(503, "storage is unavailable; retry later")
        response.headers["Retry-After"] = "30"
        return response, status

    if needs_processing:
        try:
            request_processing(rt.queue)
        except QueueUnavailable:
            # Stored is what matters: the sweeper enqueues it once the queue is back.
            log.warning("queue unavailable; inbox row %s waits for the sweeper", row_id)
    return jsonify(
        {
            "status": "accepted" if new else "duplicate",
            "id": row_id,
            "event": name,
            "state": InboxState.PENDING if known else InboxState.IGNORED,
        }
    ), 202
