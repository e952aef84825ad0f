"""The overview's batched reads and the per-day counts agree with the one-team reads they replace.

On Postgres the counts come from a GROUP BY on the team's local dates and the overview reads every
team at once; on SQLite both take the one-team path. Same history, same figures, on both.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from service.dashboard import day_counts, overview, scope, summaries
from service.dashboard import wins as win_reads
from service.domain import heatmap
from service.models import DEFAULT_WORKSPACE_ID, Team
from service.web.extensions import runtime_of
from tests.conftest import AppFactory
from tests.dashboard.seed import seed


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_day_counts_match_the_moments_binned_by_local_day(make_app: AppFactory, backend: str) -> None:
    app = make_app(backend)
    seed(app)
    until = datetime.now(UTC) + timedelta(days=1)
    since = until - timedelta(days=60)
    with runtime_of(app).database.sessions() as session:
        team = scope.teams_in_view(session, workspace_id=DEFAULT_WORKSPACE_ID)[0]
        for zone in (ZoneInfo("UTC"), ZoneInfo("Pacific/Kiritimati"), ZoneInfo("America/Los_Angeles")):
            moments = win_reads.counted_moments(session, team.id, since, until)
            expected = heatmap.local_days(moments, zone)
            assert sum(expected.values()) > 0
            assert day_counts.counted_per_day(session, team.id, zone, since, until) == expected
            both = day_counts.counted_per_day_for_teams(session, {team.id: zone}, since, until)
            assert both == {team.id: expected}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_overview_cards_match_each_teams_card(make_app: AppFactory, backend: str) -> None:
    app = make_app(backend)
    seed(app)
    with runtime_of(app).database.transaction() as session:
        # A far-east zone puts the team's "today" on another date than UTC's for half the day.
        session.execute(update(Team).values(timezone="Pacific/Kiritimati"))
    with runtime_of(app).database.sessions() as session:
        teams = scope.teams_in_view(session, workspace_id=DEFAULT_WORKSPACE_ID)
        now = datetime.now(UTC)
        one_by_one = [summaries.team_card(session, team, now) for team in teams]
        together = overview.team_cards(session, teams, now)
        assert together == one_by_one
        assert any(card.week_wins or any(n for _, n in card.weeks) for card in together)
        assert all(card.sprint is not None for card in together)
