"""Sprints and tickets as Jira last described them, ordered by payload timestamp."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, JSONType, UTCDateTime, utcnow
from service.models.workspaces import DEFAULT_WORKSPACE_ID

sprint_tickets = Table(
    "sprint_tickets",
    Base.metadata,
    Column("sprint_id", ForeignKey("sprints.id", ondelete="CASCADE"), primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Sprint(Base):
    __tablename__ = "sprints"
    # Jira numbers sprints per site: the same id in two workspaces is two sprints.
    __table_args__ = (
        Index("ix_sprints_team_name", "team_id", "name"),
        UniqueConstraint("workspace_id", "jira_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        default=DEFAULT_WORKSPACE_ID,
        server_default=str(DEFAULT_WORKSPACE_ID),
    )
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    jira_id: Mapped[int | None] = mapped_column(BigInteger)
    board_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), default="future")
    goal: Mapped[str | None] = mapped_column(Text)
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_event_ms: Mapped[int] = mapped_column(BigInteger, default=-1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The sprint-end celebration's "Sprint goal met" button: the first click stands
    # (service.digests.sprint_goal).
    goal_met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    goal_met_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))


class Ticket(Base):
    __tablename__ = "tickets"
    # A team's open tickets by creation, then its closed ones by (creation, closing): how a recompute
    # finds the first open ticket and the few record-setting closings without reading every ticket
    # (service.progress.issue_ages.load_issue_ages); issue_key makes each position unique.
    __table_args__ = (
        # Issue keys are per Jira site, so per workspace.
        UniqueConstraint("workspace_id", "issue_key"),
        Index("ix_tickets_team_done_created", "team_id", "done", "jira_created_at", "done_at", "issue_key"),
        # A sprint's scope read from the index alone, ticket by ticket (migration 0014; INCLUDE on
        # Postgres only): Postgres otherwise scans every ticket to join a few thousand.
        Index(
            "ix_tickets_sprint_scope",
            "id",
            postgresql_include=["issue_key", "points", "done", "done_at", "jira_created_at", "assignee_id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        default=DEFAULT_WORKSPACE_ID,
        server_default=str(DEFAULT_WORKSPACE_ID),
    )
    # Looked up through ix_tickets_team_done_created, which starts with it.
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    issue_key: Mapped[str] = mapped_column(String(64))
    issue_id: Mapped[str] = mapped_column(String(64), default="")
    project_key: Mapped[str] = mapped_column(String(64), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    issue_type: Mapped[str | None] = mapped_column(String(64))
    is_subtask: Mapped[bool] = mapped_column(default=False)
    labels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    points: Mapped[float | None]
    status_name: Mapped[str | None] = mapped_column(String(100))
    status_category: Mapped[str] = mapped_column(String(16), default="unknown")
    done: Mapped[bool] = mapped_column(default=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(Text, default="")
    jira_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_event_ms: Mapped[int] = mapped_column(BigInteger, default=-1)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
