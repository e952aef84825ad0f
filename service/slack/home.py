"""What a person's App Home shows: their recent wins and their cheers, their team's current sprint,
streaks and badges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.sprints import SprintState
from service.domain.wins import WinKind, WinStatus
from service.models import Sprint, Win
from service.wins.cheers import cheer_counts

# Streaks and badges are listed on their own, not among the wins that earned them.
_ACHIEVEMENTS = [WinKind.STREAK.value, WinKind.BADGE.value]


def member_wins_since(
    session: Session, member_id: int, since: datetime, team_id: int | None = None
) -> list[Win]:
    """Active wins credited to a member since ``since``, newest first (streaks and badges excluded)."""
    query = (
        select(Win)
        .where(
            Win.member_id == member_id,
            Win.status == WinStatus.ACTIVE.value,
            Win.occurred_at >= since,
            Win.kind.not_in(_ACHIEVEMENTS),
        )
        .order_by(Win.occurred_at.desc(), Win.id.desc())
        .limit(200)
    )
    if team_id is not None:
        query = query.where(Win.team_id == team_id)
    return list(session.scalars(query))


def current_sprint_for_member(session: Session, member_id: int) -> Sprint | None:
    """The active sprint of the team the member most recently won something in."""
    team_ids = select(Win.team_id).where(Win.member_id == member_id).distinct()
    return session.scalars(
        select(Sprint)
        .where(Sprint.team_id.in_(team_ids), Sprint.state == SprintState.ACTIVE)
        .order_by(Sprint.start_at.desc().nulls_last(), Sprint.id.desc())
    ).first()


def achievements(session: Session, member_id: int) -> tuple[list[str], list[str]]:
    """Titles of the member's streak and badge wins, newest first."""
    rows = session.execute(
        select(Win.kind, Win.title)
        .where(
            Win.member_id == member_id,
            Win.status == WinStatus.ACTIVE.value,
            Win.kind.in_(_ACHIEVEMENTS),
        )
        .order_by(Win.occurred_at.desc(), Win.id.desc())
        .limit(50)
    )
    streaks: list[str] = []
    badges: list[str] = []
    for kind, title in rows:
        (streaks if kind == WinKind.STREAK.value else badges).append(title)
    return streaks, badges


def cheers_on(session: Session, wins: Sequence[Win]) -> dict[int, int]:
    """How many cheers each of these wins has; a win nobody cheered is absent."""
    return cheer_counts(session, [win.id for win in wins])
