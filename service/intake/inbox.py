"""The durable inbox: every delivery stored once, before it is acknowledged."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, String, Table, func, select, update
from sqlalchemy.orm import Session

from service.models import DEFAULT_WORKSPACE_ID, InboundEvent, InboxState, utcnow
from service.models.upsert import insert_one_returning_id

INBOX = cast(Table, InboundEvent.__table__)  # the declarative attribute is typed as a FromClause
DELIVERY_ID_MAX = cast(String, INBOX.c.delivery_id.type).length or 200

# A claimed inbox row: (id, body, received_at, workspace_id).
ClaimedRow = Row[int, str, datetime, int]


@dataclass(frozen=True)
class Delivery:
    source: str
    delivery_id: str
    event_type: str
    body: str
    payload_ts_ms: int | None
    state: str = InboxState.PENDING
    # The workspace whose Jira site sent it: its events are recorded there and nowhere else.
    workspace_id: int = DEFAULT_WORKSPACE_ID

    @classmethod
    def received(
        cls,
        source: str,
        delivery_id: str | None,
        body: bytes,
        event_type: str,
        payload_ts_ms: int | None,
        *,
        known: bool,
        workspace_id: int = DEFAULT_WORKSPACE_ID,
    ) -> Delivery:
        """A delivery as it arrived: pending if it is an event we record, else stored as ignored.

        ``body`` must be valid UTF-8 (the JSON parser accepted it). A delivery without an id
        is known by its content.
        """
        return cls(
            source=source,
            delivery_id=delivery_id or body_delivery_id(body),
            event_type=event_type,
            body=body.decode("utf-8"),
            payload_ts_ms=payload_ts_ms,
            state=InboxState.PENDING if known else InboxState.IGNORED,
            workspace_id=workspace_id,
        )


def body_delivery_id(body: bytes) -> str:
    """Deliveries without an id are deduplicated on their content."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def delivery_row(delivery: Delivery) -> dict[str, Any]:
    """The inbox row for a delivery, cut to the columns' lengths."""
    return {
        "workspace_id": delivery.workspace_id,
        "source": delivery.source,
        "delivery_id": delivery.delivery_id[:200],
        "event_type": delivery.event_type[:100],
        "state": delivery.state,
        "body": delivery.body,
        "payload_ts_ms": delivery.payload_ts_ms,
        "received_at": utcnow(),
        "attempts": 0,
    }


def store_delivery(session: Session | Connection, delivery: Delivery) -> tuple[int, bool]:
    """Insert the delivery unless it is already there; return its id and whether it is new."""
    row = delivery_row(delivery)
    delivery_id = row["delivery_id"]
    new_id = insert_one_returning_id(session, INBOX, row, ["workspace_id", "source", "delivery_id"])
    if new_id is not None:
        return new_id, True
    existing = session.scalar(
        select(InboundEvent.id).where(
            InboundEvent.workspace_id == delivery.workspace_id,
            InboundEvent.source == delivery.source,
            InboundEvent.delivery_id == delivery_id,
        )
    )
    assert existing is not None  # the conflict that stopped the insert is this row
    return existing, False


def is_pending(session: Session | Connection, row_id: int) -> bool:
    return session.scalar(select(InboundEvent.state).where(InboundEvent.id == row_id)) == InboxState.PENDING


def claim(session: Session, ids: Sequence[int], extra: int, source: str = "jira") -> list[ClaimedRow]:
    """Lock the given pending rows, plus up to ``extra`` other pending ones, oldest first.

    SKIP LOCKED lets several workers drain the inbox without waiting on each other. Plain rows
    (id, body, received_at, workspace_id), not ORM objects: a batch is hundreds of large bodies. A
    batch may hold several workspaces' rows; each row says whose it is.
    """
    table = INBOX
    columns = (table.c.id, table.c.body, table.c.received_at, table.c.workspace_id)
    claimed: list[ClaimedRow] = []
    if ids:
        claimed += cast(
            "list[ClaimedRow]",
            session.execute(
                select(*columns)
                .where(
                    table.c.id.in_(list(ids)), table.c.state == InboxState.PENDING, table.c.source == source
                )
                .order_by(table.c.id)
                .with_for_update(skip_locked=True)
            ).all(),
        )
    if extra > 0:
        query = select(*columns).where(table.c.state == InboxState.PENDING, table.c.source == source)
        if claimed:
            query = query.where(table.c.id.not_in([row.id for row in claimed]))
        claimed += cast(
            "list[ClaimedRow]",
            session.execute(query.order_by(table.c.id).limit(extra).with_for_update(skip_locked=True)).all(),
        )
    return claimed


def pending_ids(session: Session, source: str = "jira") -> list[int]:
    query = select(InboundEvent.id).where(
        InboundEvent.state == InboxState.PENDING, InboundEvent.source == source
    )
    return list(session.scalars(query.order_by(InboundEvent.id)))


def mark(session: Session, ids: Sequence[int], state: str, error: str | None = None) -> None:
    if ids:
        session.execute(
            update(InboundEvent)
            .where(InboundEvent.id.in_(list(ids)))
            .values(state=state, processed_at=utcnow(), error=error)
        )


def record_failed_attempt(session: Session, row_id: int, error: str, give_up_after: int) -> bool:
    """Count an attempt; after ``give_up_after`` the row is parked as failed. Returns True if parked."""
    row = session.get(InboundEvent, row_id)
    if row is None or row.state != InboxState.PENDING:
        return False
    row.attempts += 1
    row.error = error[:2000]
    if row.attempts >= give_up_after:
        row.state = InboxState.FAILED
        row.processed_at = utcnow()
        return True
    return False


@dataclass(frozen=True)
class InboxStatus:
    counts: dict[str, int]
    oldest_pending_at: datetime | None

    def oldest_pending_age_seconds(self, now: datetime) -> float | None:
        return (
            None
            if self.oldest_pending_at is None
            else max(0.0, (now - self.oldest_pending_at).total_seconds())
        )


def status(session: Session) -> InboxStatus:
    counts = {
        state: 0
        for state in (InboxState.PENDING, InboxState.PROCESSED, InboxState.IGNORED, InboxState.FAILED)
    }
    for state, count in session.execute(
        select(InboundEvent.state, func.count()).group_by(InboundEvent.state)
    ):
        counts[state] = count
    oldest = session.scalar(
        select(func.min(InboundEvent.received_at)).where(InboundEvent.state == InboxState.PENDING)
    )
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return InboxStatus(counts, oldest)
