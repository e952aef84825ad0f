"""The story-points field each Jira site (or board) resolved to, so that Jira is asked once.

Asking Jira is the caller's part (outside any transaction); this keeps what it said.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from service.models import utcnow
from service.models.scope import JiraPointsField
from service.models.upsert import insert_ignoring_conflicts


def cached_points_field(session: Session, site: str, board_id: int | None) -> tuple[bool, str | None]:
    """(known, field id): what Jira said last time for this board (or the site), if we asked."""
    board_key = board_id if board_id is not None else JiraPointsField.SITE_WIDE
    cached = session.scalars(
        select(JiraPointsField).where(JiraPointsField.site == site, JiraPointsField.board_id == board_key)
    ).first()
    return (True, cached.field_id) if cached is not None else (False, None)


def remember_points_field(session: Session, site: str, board_id: int | None, field_id: str | None) -> None:
    board_key = board_id if board_id is not None else JiraPointsField.SITE_WIDE
    insert_ignoring_conflicts(
        session,
        cast(Table, JiraPointsField.__table__),
        [{"site": site, "board_id": board_key, "field_id": field_id, "resolved_at": utcnow()}],
        ["site", "board_id"],
    )
