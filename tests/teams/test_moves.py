"""Team moves keep history: tickets, sprints, milestones and wins follow the team that owns the project.

The history is recorded through the real webhook; the moves go through ``attach`` and ``detach`` as the
command line calls them. After each move both teams are recomputed, so the team that lost the project
shows none of the badges, streaks or milestones its tickets had earned, and the team that gained it
shows all of them, under keys that name it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from jobs.progress import update_progress
from service.cli.main import main
from service.models import Sprint, Team, TeamSource, Ticket, Win
from service.teams import registry
from service.web.extensions import runtime_of
from tests.conftest import AppFactory
from tests.jobs.helpers import sprint_payload
from tests.jobs.test_backfill import seed_history
from tests.progress.conftest import TODAY, day, deliver, ms, resolved, team_ids
from tests.standins.jira_api import JiraStandIn
from tests.standins.jira_board import BOARD, jira_env

SPRINT = 7


def history() -> list[dict[str, Any]]:
    return [
        sprint_payload("started", SPRINT, ms(day(0)) - 3_600_000),
        resolved("TES-1", day(1)),
        resolved("TES-2", day(2), ("acc-bob", "Bob")),
        sprint_payload("closed", SPRINT, ms(day(11, 16)), state="closed"),
    ]


def recorded(app: Flask) -> Flask:
    deliver(app, history())
    update_progress(team_ids(app), TODAY)
    with runtime_of(app).database.transaction() as session:
        registry.create_team(session, "other")
    return app


def holdings(app: Flask) -> dict[str, dict[str, Any]]:
    """Per team slug: its tickets, sprints, board claims and active wins (kind, key)."""
    with runtime_of(app).database.sessions() as session:
        out: dict[str, dict[str, Any]] = {}
        for team in session.scalars(select(Team)):
            out[team.slug] = {
                "tickets": set(session.scalars(select(Ticket.issue_key).where(Ticket.team_id == team.id))),
                "sprints": set(session.scalars(select(Sprint.jira_id).where(Sprint.team_id == team.id))),
                "boards": set(
                    session.scalars(
                        select(TeamSource.key).where(
                            TeamSource.team_id == team.id, TeamSource.kind == TeamSource.BOARD
                        )
                    )
                ),
                "wins": {
                    (w.kind, w.source_key)
                    for w in session.scalars(
                        select(Win).where(Win.team_id == team.id, Win.status == "active")
                    )
                },
            }
        return out


def renamed(wins: set[tuple[str, str]], old: str, new: str) -> set[tuple[str, str]]:
    """The wins as another team earns them: badge and streak keys name the team by its slug."""
    return {(kind, key.replace(f":{old}:", f":{new}:")) for kind, key in wins}


def run(app: Flask, moves: Sequence[tuple[str, str]]) -> None:
    with runtime_of(app).database.transaction() as session:
        for move, slug in moves:
            if move == "attach":
                registry.attach(session, slug, TeamSource.PROJECT, "TES")
            else:
                registry.detach(session, slug, TeamSource.PROJECT, "TES")


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, make_app: AppFactory) -> Flask:
    return recorded(make_app(request.param))


def test_attaching_the_project_elsewhere_takes_all_of_its_history(app: Flask) -> None:
    before = holdings(app)["tes"]
    assert {"badge:first_win:tes:jira:acc-ada", f"milestone:{SPRINT}:progress_100"} <= {
        k for _, k in before["wins"]
    }
    run(app, [("attach", "other")])
    after = holdings(app)
    assert after["other"]["tickets"] == {"TES-1", "TES-2"}
    assert after["other"]["sprints"] == {SPRINT}
    assert after["other"]["boards"] == {"1"}  # its only sprint went over: so did the board
    assert after["other"]["wins"] == renamed(before["wins"], "tes", "other")
    # Recomputed too: what the project had earned there is no longer active.
    assert after["tes"]["wins"] == set() and after["tes"]["tickets"] == set()


@pytest.mark.parametrize(
    ("moves", "owner"),
    [
        ([("attach", "other"), ("attach", "tes")], "tes"),
        ([("detach", "tes"), ("attach", "other")], "other"),
        ([("detach", "tes"), ("attach", "tes")], "tes"),
        ([("attach", "other"), ("detach", "other"), ("attach", "tes")], "tes"),
        ([("attach", "other"), ("detach", "other"), ("attach", "other")], "other"),
    ],
    ids=["there-and-back", "detach-then-elsewhere", "detach-then-back", "round-trip", "detach-and-again"],
)
def test_any_sequence_of_moves_leaves_the_history_with_the_owner(
    app: Flask, moves: list[tuple[str, str]], owner: str
) -> None:
    original = holdings(app)["tes"]
    run(app, moves)
    after = holdings(app)
    other = "tes" if owner == "other" else "other"
    assert after[owner]["tickets"] == {"TES-1", "TES-2"} and after[owner]["sprints"] == {SPRINT}
    assert after[owner]["wins"] == renamed(original["wins"], "tes", owner)
    assert after[other]["wins"] == set() and after[other]["tickets"] == set()


def test_a_detached_project_takes_its_history_to_the_team_its_next_event_gives_it(app: Flask) -> None:
    original = holdings(app)["tes"]
    run(app, [("detach", "tes")])
    deliver(app, [resolved("TES-3", day(3))])
    after = holdings(app)
    [new] = [slug for slug in after if slug not in {"tes", "other"}]
    assert after[new]["tickets"] == {"TES-1", "TES-2", "TES-3"} and after[new]["sprints"] == {SPRINT}
    assert renamed(original["wins"], "tes", new) <= after[new]["wins"]
    assert after["tes"]["wins"] == set()


def test_a_backfill_recomputes_the_teams_it_touched(make_app: AppFactory) -> None:
    app = make_app("sqlite")
    with JiraStandIn(flavour="cloud") as server:
        seed_history(server)  # eight closed sprints of resolved issues on board 3 (project SRCH)
        env = {**jira_env(server), "SPRINTWINS_DATABASE_URL": runtime_of(app).settings.database_url}
        result = CliRunner().invoke(
            main, ["backfill", "jira", "--board", str(BOARD), "--sprints", "2"], env=env
        )
        assert result.exit_code == 0, result.output
    # No event and no recompute job followed the import: the badges are the backfill's own recompute.
    teams = holdings(app)
    assert "srch" in teams, (result.output, sorted(teams))
    engine = {key for kind, key in teams["srch"]["wins"] if kind in {"badge", "milestone"}}
    assert any(key.startswith("badge:first_win:srch:jira:") for key in engine), engine
