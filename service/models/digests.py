"""Digests as posted (or rendered): one row per (team, channel, period), which makes posting exactly once.

A row is written before Slack is called and moves ``pending → posting → posted``; the unique key
means a retried or duplicated job finds the row its twin made instead of posting again. The text
and blocks are stored when the row is made, so every attempt (and the console) shows the same
message, and a retry can recognise it in the channel by its metadata.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, JSONType, UTCDateTime, utcnow

# Without Slack, digests are rendered for the console and stored under this channel.
CONSOLE_CHANNEL = "console"


class DigestState(enum.StrEnum):
    PENDING = "pending"  # composed and stored, not yet sent
    POSTING = "posting"  # a worker is sending it, or died while sending it (see ``claimed_at``)
    POSTED = "posted"  # Slack accepted it; ``ts`` says where
    FAILED = "failed"  # it will not be sent (``error`` says why); never retried in a loop
    RENDERED = "rendered"  # no Slack: rendered to the console and kept here
    SKIPPED = "skipped"  # an empty period, and the schedule does not post empty digests


class DigestKind(enum.StrEnum):
    DIGEST = "digest"
    SPRINT_END = "sprint_end"


class StoredDigest(Base):
    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "period_key"),
        Index("ix_digests_state_claimed", "state", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    slack_team_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    period_key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default=DigestKind.DIGEST.value)
    # The win a sprint-end celebration celebrates: reactions on the post cheer it.
    win_id: Mapped[int | None] = mapped_column(ForeignKey("wins.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default=DigestState.PENDING.value)
    ts: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    blocks: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    # When the current sender took the row; a ``posting`` row whose claim is old has lost its sender.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
