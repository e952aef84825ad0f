from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.domain.wins import COUNTED_KINDS, WinKind, WinStatus, WinVisibility
from service.models.base import Base, JSONType, UTCDateTime, utcnow
from service.models.teams import Member
from service.models.workspaces import DEFAULT_WORKSPACE_ID

# The wins the progress engine counts (``COUNTED_KINDS``), as SQL. Partial indexes use these
# predicates, and queries repeat them word for word so that Postgres can use those indexes.
COUNTED_WINS = (
    f"status = '{WinStatus.ACTIVE}' AND kind IN ({', '.join(repr(k.value) for k in sorted(COUNTED_KINDS))})"
)
ACTIVE_KUDOS = f"status = '{WinStatus.ACTIVE}' AND kind = '{WinKind.KUDOS}'"


class Win(Base):
    __tablename__ = "wins"
    # The identity that makes recording idempotent: a retried job finds the row it made. Within a
    # workspace: a ticket's key, or a sprint's Jira id, means another thing on another Jira site.
    __table_args__ = (
        UniqueConstraint("workspace_id", "source", "source_key", "kind"),
        Index("ix_wins_team_time", "team_id", "occurred_at", "id"),
        # A person's counted wins in order, and a team's kudos: how a recompute finds the few wins it
        # reads (each day's first, the first hundred, the first kudos) without reading them all.
        Index(
            "ix_wins_counted_member_time",
            "team_id",
            "member_id",
            "occurred_at",
            "id",
            postgresql_where=text(COUNTED_WINS),
            sqlite_where=text(COUNTED_WINS),
        ),
        Index(
            "ix_wins_kudos_time",
            "team_id",
            "occurred_at",
            "id",
            postgresql_where=text(ACTIVE_KUDOS),
            sqlite_where=text(ACTIVE_KUDOS),
        ),
        # The dashboard's reads (migration 0014): who has wins in a team, a team's wins of one kind,
        # and its counted wins over time from the index alone.
        Index("ix_wins_team_member", "team_id", "member_id", "visibility"),
        Index("ix_wins_team_kind_time", "team_id", "kind", "occurred_at", "id"),
        Index(
            "ix_wins_counted_team_time",
            "team_id",
            "occurred_at",
            "visibility",
            postgresql_where=text(COUNTED_WINS),
            sqlite_where=text(COUNTED_WINS),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        default=DEFAULT_WORKSPACE_ID,
        server_default=str(DEFAULT_WORKSPACE_ID),
    )
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")
    title: Mapped[str] = mapped_column(Text)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    points: Mapped[float | None]
    source: Mapped[str] = mapped_column(String(16))
    source_key: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(16), default=WinVisibility.TEAM.value)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    member: Mapped[Member | None] = relationship(lazy="joined")
