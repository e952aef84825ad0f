"""A sprint's scope: which issues it held, which were committed at its start, which got done.

Filled from Jira's Agile API when credentials are configured (``ScopeSource.JIRA``), otherwise
inferred from the webhook events we observed (``ScopeSource.EVENTS``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.domain.sprint_scope import ScopeSource
from service.models.base import Base, UTCDateTime, utcnow


class SprintScopeItem(Base):
    """One issue in one sprint's scope. Rows are never deleted when an issue leaves: ``removed_at``."""

    __tablename__ = "sprint_scope"
    __table_args__ = (UniqueConstraint("sprint_id", "issue_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sprint_id: Mapped[int] = mapped_column(ForeignKey("sprints.id", ondelete="CASCADE"))
    issue_key: Mapped[str] = mapped_column(String(64))
    points: Mapped[float | None]
    # In scope when the sprint started: what the team committed to, as Jira's sprint report counts it.
    committed: Mapped[bool] = mapped_column(default=False)
    added_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done: Mapped[bool] = mapped_column(default=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16), default=ScopeSource.EVENTS.value)


class SprintScopeSource(Base):
    """Where a sprint's stored scope came from, the points field it used, and when it last changed."""

    __tablename__ = "sprint_scope_sources"

    sprint_id: Mapped[int] = mapped_column(ForeignKey("sprints.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    points_field: Mapped[str | None] = mapped_column(String(64))
    # When a refresh last changed the stored rows (not when it last looked): a re-run that finds
    # nothing new writes nothing, and ticket events newer than this overrule the stored completion.
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JiraPointsField(Base):
    """The story-points field a site (``board_id`` 0) or a board resolved to, so we ask Jira once.

    ``field_id`` None records that none was found, which is worth remembering too.
    """

    __tablename__ = "jira_points_fields"
    __table_args__ = (UniqueConstraint("site", "board_id"),)

    SITE_WIDE = 0  # Jira board ids start at 1

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(200))
    board_id: Mapped[int] = mapped_column(BigInteger, default=SITE_WIDE)
    field_id: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
