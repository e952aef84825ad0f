from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UTCDateTime, utcnow
from service.models.workspaces import DEFAULT_WORKSPACE_ID


class InboxState:
    PENDING = "pending"
    PROCESSED = "processed"
    IGNORED = "ignored"  # an event type we don't act on, kept for the record
    FAILED = "failed"  # parsed as known but malformed; kept with the error for a human


class InboundEvent(Base):
    """Every webhook delivery, stored once before it is acknowledged."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        # Each workspace's Jira site numbers its own deliveries.
        UniqueConstraint("workspace_id", "source", "delivery_id"),
        Index("ix_inbound_events_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        default=DEFAULT_WORKSPACE_ID,
        server_default=str(DEFAULT_WORKSPACE_ID),
    )
    source: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(16), default=InboxState.PENDING)
    body: Mapped[str] = mapped_column(Text)
    payload_ts_ms: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
