"""Cheers: people's reactions on our celebration posts, counted per win as the morale signal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from service.models import utcnow
from service.models.slack import Cheer, SlackPost
from service.models.upsert import insert_ignoring_conflicts

# An IN list of a whole busy period, chunked, stays well under the databases' parameter limits.
_COUNT_CHUNK = 5000
_CHEERS = cast(Table, Cheer.__table__)  # typed as any FromClause; the insert needs a Table


def record_cheer(
    session: Session, slack_team_id: str, channel_id: str, ts: str, user_id: str, reaction: str, added: bool
) -> int | None:
    """Add or remove a cheer on the win behind one of our posts; the win id, or None if not ours."""
    win_id = session.scalar(
        select(SlackPost.win_id).where(
            SlackPost.slack_team_id == slack_team_id, SlackPost.channel_id == channel_id, SlackPost.ts == ts
        )
    )
    if win_id is None:
        return None
    reaction = reaction[:100]
    if added:
        insert_ignoring_conflicts(
            session,
            _CHEERS,
            [
                {
                    "win_id": win_id,
                    "slack_team_id": slack_team_id,
                    "user_id": user_id,
                    "reaction": reaction,
                    "created_at": utcnow(),
                }
            ],
            ["win_id", "user_id", "reaction"],
        )
    else:
        session.execute(
            delete(Cheer).where(Cheer.win_id == win_id, Cheer.user_id == user_id, Cheer.reaction == reaction)
        )
    return win_id


def cheer_counts(session: Session, win_ids: Sequence[int]) -> dict[int, int]:
    """How many cheers each win has (the digests' morale signal)."""
    counts: dict[int, int] = {}
    for start in range(0, len(win_ids), _COUNT_CHUNK):
        chunk = list(win_ids[start : start + _COUNT_CHUNK])
        rows = session.execute(
            select(Cheer.win_id, func.count()).where(Cheer.win_id.in_(chunk)).group_by(Cheer.win_id)
        )
        counts.update({win_id: count for win_id, count in rows})
    return counts
