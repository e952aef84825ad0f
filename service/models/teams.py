from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, JSONType, UTCDateTime, utcnow
from service.models.workspaces import DEFAULT_WORKSPACE_ID


class Team(Base):
    __tablename__ = "teams"
    # Slugs are unique within a workspace: two workspaces may each have a team ``orb``.
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        index=True,
        default=DEFAULT_WORKSPACE_ID,
        server_default=str(DEFAULT_WORKSPACE_ID),
    )
    slug: Mapped[str] = mapped_column(String(64))
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
    # Per workspace: two Jira sites may both have a project ``ORB``. The column repeats the team's
    # workspace so that the database, not a race between workers, keeps one claim per key.
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "key"),)

    PROJECT = "project"
    BOARD = "board"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        default=DEFAULT_WORKSPACE_ID,
        server_default=str(DEFAULT_WORKSPACE_ID),
    )
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(100))

    team: Mapped[Team] = relationship(back_populates="sources")


class Member(Base):
    """A person. Identified by a Jira account (accountId on Cloud, key on Server) and/or a Slack user."""

    __tablename__ = "members"
    # A Jira account is a person within one workspace (each workspace has its own Jira site).
    __table_args__ = (
        UniqueConstraint("slack_team_id", "slack_user_id"),
        UniqueConstraint("workspace_id", "jira_account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        index=True,
        default=DEFAULT_WORKSPACE_ID,
        server_default=str(DEFAULT_WORKSPACE_ID),
    )
    jira_account_id: Mapped[str | None] = mapped_column(String(128))
    slack_team_id: Mapped[str | None] = mapped_column(String(32))
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # Opt-out, not opt-in to counting: their wins still count in team totals, anonymously.
    sharing_opt_out: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
