"""Recording a win people made in Slack (``/win``, kudos, "Celebrate as a win")."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from service.domain.wins import WinDraft, WinVisibility
from service.models import Team, Win
from service.models.upsert import insert_one_returning_id
from service.wins.rows import win_row

_WINS = cast(Table, Win.__table__)  # typed as any FromClause; the insert needs a Table


def record_win(
    session: Session,
    draft: WinDraft,
    *,
    team_id: int,
    member_id: int | None,
    visibility: str = WinVisibility.TEAM,
) -> tuple[int, bool]:
    """Insert a Slack-made win unless its (source, source_key, kind) exists in the team's workspace;
    (id, is_new)."""
    workspace_id = session.scalar(select(Team.workspace_id).where(Team.id == team_id))
    if workspace_id is None:
        raise LookupError(f"no team with id {team_id}")
    row = win_row(team_id, draft, member_id=member_id, workspace_id=workspace_id, visibility=visibility)
    new_id = insert_one_returning_id(session, _WINS, row, ["workspace_id", "source", "source_key", "kind"])
    if new_id is not None:
        return new_id, True
    existing = session.scalar(
        select(Win.id).where(
            Win.workspace_id == workspace_id,
            Win.source == row["source"],
            Win.source_key == row["source_key"],
            Win.kind == row["kind"],
        )
    )
    assert existing is not None
    return existing, False
