from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, JSONType, UTCDateTime, utcnow


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    slack_team_id: Mapped[str | None] = mapped_column(String(32))
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    rules: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sources: Mapped[list[TeamSource]] = relationship(back_populates="team", order_by="TeamSource.key")

    @property
    def jira_projects(self) -> list[str]:
        return [s.key for s in self.sources if s.kind == TeamSource.PROJECT]


class TeamSource(Base):
    """A Jira project or board claimed by a team: how events find their team."""

    __tablename__ = "team_sources"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    PROJECT = "project"
    BOARD = "board"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(100))

    team: Mapped[Team] = relationship(back_populates="sources")


class Member(Base):
    """A person. Identified by a Jira account (accountId on Cloud, key on Server) and/or a Slack user."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("slack_team_id", "slack_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jira_account_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    slack_team_id: Mapped[str | None] = mapped_column(String(32))
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # Opt-out, not opt-in to counting: their wins still count in team totals, anonymously.
    sharing_opt_out: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
