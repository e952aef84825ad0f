"""Deliveries parked as failed: listed for a human, and returned to the inbox once the cause is fixed.

A row is parked when its payload cannot be recorded (a malformed field, a value out of range). After
a fix is deployed, ``retry`` puts it back as pending with a fresh attempt count, and the next sweep
works it like a new delivery. Its delivery id stays, so a retry can never double a win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from service.models import InboundEvent, InboxState


@dataclass(frozen=True)
class FailedDelivery:
    id: int
    source: str
    delivery_id: str
    event_type: str
    received_at: datetime
    attempts: int
    error: str


def failed_deliveries(session: Session, limit: int = 50) -> list[FailedDelivery]:
    """The newest parked rows first."""
    rows = session.execute(
        select(
            InboundEvent.id,
            InboundEvent.source,
            InboundEvent.delivery_id,
            InboundEvent.event_type,
            InboundEvent.received_at,
            InboundEvent.attempts,
            InboundEvent.error,
        )
        .where(InboundEvent.state == InboxState.FAILED)
        .order_by(InboundEvent.id.desc())
        .limit(limit)
    )
    return [
        FailedDelivery(r.id, r.source, r.delivery_id, r.event_type, r.received_at, r.attempts, r.error or "")
        for r in rows
    ]


def retry_failed(session: Session, ids: Sequence[int] | None) -> int:
    """Return the given parked rows (every parked row when ``ids`` is None) to pending; how many moved."""
    statement = (
        update(InboundEvent)
        .where(InboundEvent.state == InboxState.FAILED)
        .values(state=InboxState.PENDING, attempts=0, error=None, processed_at=None)
    )
    if ids is not None:
        if not ids:
            return 0
        statement = statement.where(InboundEvent.id.in_(list(ids)))
    result = session.execute(statement)
    # An UPDATE's result is a cursor result; the ORM session types it as the general kind.
    return result.rowcount if isinstance(result, CursorResult) else 0
