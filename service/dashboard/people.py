"""One person's page: their done list, their streak calendar, their streaks and badges.

A person has a page only if they share their wins (``Member.sharing_opt_out`` off) and belong to the
viewer's workspace; everyone else is "no such person", exactly as a missing id. The wins read are the
ones every team reader may see (``queries.shared_with_team``): an "only me" win is shown to its owner
alone, and only when the caller says the viewer is that person (``include_private``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session

from service.dashboard import summaries
from service.dashboard import wins as win_reads
from service.domain import heatmap as days
from service.domain.wins import COUNTED_KINDS, WinStatus
from service.models import Member, Team, Win
from service.models.progress import StreakStat
from service.wins import queries

PAGE_SIZE = 25
EARNED_LIMIT = 60
_COUNTED = tuple(sorted(k.value for k in COUNTED_KINDS))


@dataclass(frozen=True)
class TeamStreak:
    team: Team
    current: int
    best: int


@dataclass(frozen=True)
class PersonPage:
    member: Member
    teams: list[Team]  # the viewer's teams this person has wins in
    zone: ZoneInfo  # the days of the calendar (their teams' zone, or UTC when those differ)
    wins: list[Win]  # newest first, a page of them
    next_cursor: str | None
    calendar: days.Heatmap
    streaks: list[TeamStreak]
    earned: list[Win]  # their streaks, badges and milestones, newest first


def person_in_view(
    session: Session, member_id: int, workspace_id: int, *, include_opted_out: bool = False
) -> Member | None:
    """The person with our id ``member_id`` if the viewer may see their page; ``None`` both for a
    missing id and for someone of another workspace or who opted out, so the page cannot tell."""
    member = session.get(Member, member_id)
    if member is None or member.workspace_id != workspace_id:
        return None
    if member.sharing_opt_out and not include_opted_out:
        return None
    return member


def person_page(
    session: Session,
    member: Member,
    teams: Sequence[Team],
    *,
    include_private: bool = False,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
    now: datetime | None = None,
) -> PersonPage:
    """What ``member``'s page shows, over the wins they have in ``teams`` (the teams the viewer sees)."""
    team_ids = [t.id for t in teams]
    with_wins = set(_teams_with_wins(session, member.id, team_ids, include_private))
    theirs = [t for t in teams if t.id in with_wins]
    zone = _zone_of(theirs)
    wins, next_cursor = _wins_page(session, member.id, team_ids, include_private, cursor, limit)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    return PersonPage(
        member=member,
        teams=theirs,
        zone=zone,
        wins=wins,
        next_cursor=next_cursor,
        calendar=_calendar(session, member.id, team_ids, include_private, zone, today),
        streaks=_streaks(session, member.id, theirs),
        earned=_earned(session, member.id, team_ids, include_private),
    )


def _visible(member_id: int, team_ids: list[int], include_private: bool) -> list[ColumnElement[bool]]:
    """The person's wins in the viewer's teams; an "only me" win only for its owner."""
    return [
        Win.member_id == member_id,
        Win.team_id.in_(team_ids),
        true() if include_private else queries.shared_with_team(),
    ]


def _teams_with_wins(
    session: Session, member_id: int, team_ids: list[int], include_private: bool
) -> list[int]:
    if not team_ids:
        return []
    query = select(Win.team_id).where(*_visible(member_id, team_ids, include_private)).distinct()
    return list(session.scalars(query))


def _zone_of(teams: Sequence[Team]) -> ZoneInfo:
    zones = {summaries.team_zone(t).key for t in teams}
    return ZoneInfo(zones.pop()) if len(zones) == 1 else ZoneInfo("UTC")


def _wins_page(
    session: Session,
    member_id: int,
    team_ids: list[int],
    include_private: bool,
    cursor: str | None,
    limit: int,
) -> tuple[list[Win], str | None]:
    """Newest first, keyset-paged on (occurred_at, id) with the API's cursor, as the team feed pages."""
    if not team_ids:
        return [], None
    query = select(Win).where(*_visible(member_id, team_ids, include_private))
    if cursor:
        stamp, win_id = queries.decode_cursor(cursor)
        query = query.where(or_(Win.occurred_at < stamp, and_(Win.occurred_at == stamp, Win.id < win_id)))
    rows = list(session.scalars(query.order_by(Win.occurred_at.desc(), Win.id.desc()).limit(limit + 1)))
    next_cursor = queries.encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _calendar(
    session: Session,
    member_id: int,
    team_ids: list[int],
    include_private: bool,
    zone: ZoneInfo,
    today: date,
) -> days.Heatmap:
    """Their counted wins per local day over the heatmap's weeks: the team page's calendar, for one."""
    first = days.monday_of(today) - timedelta(weeks=days.HEATMAP_WEEKS - 1)
    moments: list[datetime] = []
    if team_ids:
        query = select(Win.occurred_at).where(
            *_visible(member_id, team_ids, include_private),
            Win.status == WinStatus.ACTIVE.value,
            Win.kind.in_(_COUNTED),
            Win.occurred_at >= days.day_start(first, zone),
            Win.occurred_at < days.day_start(today + timedelta(days=1), zone),
        )
        moments = list(session.scalars(query))
    return days.heatmap(days.local_days(moments, zone), today)


def _streaks(session: Session, member_id: int, teams: Sequence[Team]) -> list[TeamStreak]:
    """Their streak in each of their teams, as the last recompute stored it (the API's ``/streaks``)."""
    by_id = {t.id: t for t in teams}
    if not by_id:
        return []
    rows = session.scalars(
        select(StreakStat).where(StreakStat.member_id == member_id, StreakStat.team_id.in_(list(by_id)))
    )
    found = [TeamStreak(by_id[r.team_id], r.current, r.best) for r in rows]
    return sorted(found, key=lambda s: (-s.current, -s.best, s.team.slug))


def _earned(session: Session, member_id: int, team_ids: list[int], include_private: bool) -> list[Win]:
    """The badges wall of the team page (``wins.EARNED_KINDS``), for this person."""
    if not team_ids:
        return []
    query = (
        select(Win)
        .where(
            *_visible(member_id, team_ids, include_private),
            Win.status == WinStatus.ACTIVE.value,
            Win.kind.in_(win_reads.EARNED_KINDS),
        )
        .order_by(Win.occurred_at.desc(), Win.id.desc())
        .limit(EARNED_LIMIT)
    )
    return list(session.scalars(query))
