"""The overview's cards for every team at once: a fixed number of statements for any number of teams.

``summaries.team_card`` reads one team's card in seven statements; fifty teams made the overview
350 round trips (about a second over a million wins). These are the same figures, read for all the
teams together: counted wins per local day, the running sprints and their scope, the streaks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.dashboard import day_counts, summaries
from service.dashboard.sprints import SprintFigures
from service.domain import heatmap as days
from service.domain.sprints import SprintState
from service.models import Member, Sprint, Team
from service.models.progress import StreakStat
from service.progress import sprint_scope


def team_cards(session: Session, teams: list[Team], now: datetime | None = None) -> list[summaries.TeamCard]:
    if not teams:
        return []
    zones = {t.id: summaries.team_zone(t) for t in teams}
    todays = {t.id: summaries.team_today(t, now) for t in teams}
    firsts = {
        team_id: days.monday_of(today) - timedelta(weeks=summaries.SPARKLINE_WEEKS - 1)
        for team_id, today in todays.items()
    }
    # From the earliest first Monday to the latest end of this week: each team keeps its own days.
    since = min(days.day_start(firsts[team_id], zone) for team_id, zone in zones.items())
    until = max(days.week_bounds(todays[team_id], zone)[1] for team_id, zone in zones.items())
    per_day = day_counts.counted_per_day_for_teams(session, zones, since, until)
    sprints = _running_sprints(session, list(zones))
    streaks = _live_streaks(session, list(zones))
    cards = []
    for team in teams:
        today = todays[team.id]
        monday = days.monday_of(today)
        counts = {d: n for d, n in per_day[team.id].items() if d >= firsts[team.id]}
        cards.append(
            summaries.TeamCard(
                team=team,
                week_wins=sum(n for d, n in counts.items() if monday <= d < monday + timedelta(days=7)),
                weeks=days.weekly_counts(counts, today, summaries.SPARKLINE_WEEKS),
                sprint=sprints.get(team.id),
                streak=streaks.get(team.id),
            )
        )
    return cards


def _running_sprints(session: Session, team_ids: list[int]) -> dict[int, SprintFigures]:
    """Each team's running sprint that started last (``sprints.current_sprint``), with its scope."""
    query = (
        select(Sprint)
        .where(Sprint.team_id.in_(team_ids), Sprint.state == SprintState.ACTIVE.value)
        .order_by(Sprint.start_at.desc().nulls_last(), Sprint.id.desc())
    )
    current: dict[int, Sprint] = {}
    for sprint in session.scalars(query):
        current.setdefault(sprint.team_id, sprint)
    scopes = sprint_scope.scope_for_sprints(session, [s.id for s in current.values()])
    return {team_id: SprintFigures(s, scopes[s.id]) for team_id, s in current.items() if s.id in scopes}


def _live_streaks(session: Session, team_ids: list[int]) -> dict[int, summaries.LiveStreak]:
    """Each team's longest live streak, chosen as ``summaries.longest_live_streak`` chooses."""
    rows = session.scalars(select(StreakStat).where(StreakStat.team_id.in_(team_ids), StreakStat.current > 0))
    best: dict[int, StreakStat] = {}
    for row in rows:
        held = best.get(row.team_id)
        if held is None or _rank(row) > _rank(held):
            best[row.team_id] = row
    member_ids = {r.member_id for r in best.values() if r.member_id is not None}
    members = (
        {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(member_ids)))}
        if member_ids
        else {}
    )
    return {
        team_id: summaries.LiveStreak(
            r.current, members.get(r.member_id) if r.member_id is not None else None
        )
        for team_id, r in best.items()
    }


def _rank(row: StreakStat) -> tuple[int, bool, int]:
    return (row.current, row.member_id is None, -row.id)
