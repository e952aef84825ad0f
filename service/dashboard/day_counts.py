"""Counted wins per local day, counted by the database where it can.

The heatmap, the trend and every overview sparkline bin a team's counted wins by the team's local
dates. Reading each win's moment to bin it here costs a million-win install seconds on the overview
(fifty teams, thousands of wins each); Postgres counts them per local date from the index alone
(``ix_wins_counted_team_time``) and sends a row per day. SQLite (embedded mode, small histories) and a
zone Postgres does not know take the moments and bin them in Python, with the same result.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, String, cast, column, func, select, text, true, values
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from service.dashboard import wins as win_reads
from service.domain import heatmap
from service.models import Win
from service.models.wins import COUNTED_WINS
from service.wins.queries import shared_with_team


def counted_per_day(
    session: Session, team_id: int, zone: ZoneInfo, since: datetime, until: datetime
) -> Counter[date]:
    """How many counted wins in [since, until) fall on each of the team's local dates."""
    if session.get_bind().dialect.name == "postgresql":
        local_day = cast(func.timezone(zone.key, Win.occurred_at), Date).label("day")
        query = (
            select(local_day, func.count())
            .where(
                *win_reads.shown_to_team(team_id),
                # Word for word the partial index's predicate, so a prepared (generic) plan still uses it.
                text(COUNTED_WINS),
                Win.occurred_at >= since,
                Win.occurred_at < until,
            )
            .group_by(local_day)
        )
        try:
            with session.begin_nested():  # an unknown zone fails only this statement
                return Counter({day: int(n) for day, n in session.execute(query)})
        except DataError:
            pass
    return heatmap.local_days(win_reads.counted_moments(session, team_id, since, until), zone)


def counted_per_day_for_teams(
    session: Session, zones: dict[int, ZoneInfo], since: datetime, until: datetime
) -> dict[int, Counter[date]]:
    """``counted_per_day`` for several teams (team id to its zone) in one statement: the overview.

    Each team is counted in a lateral subquery of its own, with its zone a value of that subquery
    rather than a ``CASE`` over every team evaluated for each of the 100,000 wins of fifty teams.
    """
    if not zones:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        teams = values(column("team_id", Integer), column("zone", String), name="team_zones").data(
            [(team_id, zone.key) for team_id, zone in zones.items()]
        )
        local_day = cast(func.timezone(teams.c.zone, Win.occurred_at), Date)
        per_day = (
            select(local_day.label("day"), func.count().label("wins"))
            .where(
                Win.team_id == teams.c.team_id,
                shared_with_team(),
                text(COUNTED_WINS),
                Win.occurred_at >= since,
                Win.occurred_at < until,
            )
            .group_by(local_day)
            .lateral("per_day")
        )
        query = select(teams.c.team_id, per_day.c.day, per_day.c.wins).join_from(teams, per_day, true())
        found: dict[int, Counter[date]] = {team_id: Counter() for team_id in zones}
        try:
            with session.begin_nested():
                for team_id, day, n in session.execute(query):
                    found[team_id][day] = int(n)
            return found
        except DataError:
            pass
    return {team_id: counted_per_day(session, team_id, zone, since, until) for team_id, zone in zones.items()}
