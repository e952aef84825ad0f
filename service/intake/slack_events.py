"""Slack events in the inbox: stored once on their ``event_id``, so Slack's retries are not worked twice.

Bolt does not de-duplicate in HTTP mode. A Slack event is stored already processed (the Jira
inbox worker drains pending rows; Slack's work goes to its own jobs), and marked failed when its
work could not be queued, so that Slack's next retry gets through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from service.db import Database
from service.intake import inbox
from service.models import InboundEvent, InboxState


def admit_event(database: Database, event_id: str, body: Mapping[str, Any]) -> int | None:
    """Store an ``event_callback``; its inbox row id if it is to be worked, None for a retry already worked.

    A retry of an event whose work could not be queued is admitted again.
    """
    event = body.get("event") or {}
    event_time = body.get("event_time")
    delivery = inbox.Delivery(
        source="slack",
        delivery_id=event_id,
        event_type=str(event.get("type", "")),
        body=json.dumps(body, separators=(",", ":")),
        payload_ts_ms=event_time * 1000 if isinstance(event_time, int) else None,
        state=InboxState.PROCESSED,
    )
    with database.transaction() as session:
        row_id, new = inbox.store_delivery(session, delivery)
        if not new:
            state = session.scalar(select(InboundEvent.state).where(InboundEvent.id == row_id))
            if state != InboxState.FAILED:
                return None
            inbox.mark(session, [row_id], InboxState.PROCESSED)
    return row_id


def event_not_queued(database: Database, row_id: int) -> None:
    """The event's work could not be queued: let Slack's retry through the de-duplication."""
    with database.transaction() as session:
        inbox.mark(session, [row_id], InboxState.FAILED, "queue unavailable")
