"""What the overview shows of each team, and the figures a team page draws, read in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.dashboard import day_counts
from service.dashboard import sprints as sprint_reads
from service.dashboard import wins as win_reads
from service.domain import heatmap as days
from service.models import Member, Team
from service.models.progress import StreakStat

SPARKLINE_WEEKS = 12
RECENT_DAYS = 30
TREND_WEEKS = 12


def team_zone(team: Team) -> ZoneInfo:
    try:
        return ZoneInfo(team.timezone)
    except (ValueError, KeyError):  # validated on the way in; a bad stored name still must not 500
        return ZoneInfo("UTC")


def team_today(team: Team, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(team_zone(team)).date()


@dataclass(frozen=True)
class LiveStreak:
    days: int
    member: Member | None  # None for the team's own streak


def streak_rows(session: Session, team_id: int) -> list[StreakStat]:
    """The streak stats the last recompute stored (the API's ``/streaks`` reads the same rows)."""
    return list(session.scalars(select(StreakStat).where(StreakStat.team_id == team_id)))


def longest_live_streak(session: Session, team_id: int) -> LiveStreak | None:
    rows = [r for r in streak_rows(session, team_id) if r.current > 0]
    if not rows:
        return None
    best = max(rows, key=lambda r: (r.current, r.member_id is None, -r.id))
    member = session.get(Member, best.member_id) if best.member_id is not None else None
    return LiveStreak(best.current, member)


@dataclass(frozen=True)
class TeamCard:
    team: Team
    week_wins: int
    weeks: list[tuple[date, int]]
    sprint: sprint_reads.SprintFigures | None
    streak: LiveStreak | None


def team_card(session: Session, team: Team, now: datetime | None = None) -> TeamCard:
    zone = team_zone(team)
    today = team_today(team, now)
    since, until = days.week_bounds(today, zone)
    first_monday = days.monday_of(today) - timedelta(weeks=SPARKLINE_WEEKS - 1)
    per_day = day_counts.counted_per_day(session, team.id, zone, days.day_start(first_monday, zone), until)
    return TeamCard(
        team=team,
        week_wins=win_reads.counted_between(session, team.id, since, until),
        weeks=days.weekly_counts(per_day, today, SPARKLINE_WEEKS),
        sprint=sprint_reads.current_sprint(
            sprint_reads.charted_sprint_figures(
                session, sprint_reads.team_sprint_rows(session, team.id), closed=0
            )
        ),
        streak=longest_live_streak(session, team.id),
    )


@dataclass(frozen=True)
class WinsOverTime:
    heatmap: days.Heatmap
    recent: list[tuple[date, int]]
    weekly: list[tuple[date, int]]


def wins_over_time(session: Session, team: Team, now: datetime | None = None) -> WinsOverTime:
    """The heatmap's 53 weeks, the last 30 days and the weekly trend, from one read of the moments."""
    zone = team_zone(team)
    today = team_today(team, now)
    first = days.monday_of(today) - timedelta(weeks=days.HEATMAP_WEEKS - 1)
    until = days.day_start(today + timedelta(days=1), zone)
    per_day = day_counts.counted_per_day(session, team.id, zone, days.day_start(first, zone), until)
    return WinsOverTime(
        heatmap=days.heatmap(per_day, today),
        recent=days.daily_counts(per_day, today, RECENT_DAYS),
        weekly=days.weekly_counts(per_day, today, TREND_WEEKS),
    )
