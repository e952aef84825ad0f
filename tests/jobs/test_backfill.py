"""`sprintwins backfill jira` end to end: the real CLI and `jira` client, the stand-in, SQLite, Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, text

from integrations.jira.backfill_events import select_sprints
from service.cli.main import main
from service.models import Base, Win
from service.web.extensions import runtime_of
from tests.conftest import AppFactory
from tests.standins.jira_api import JiraStandIn
from tests.standins.jira_board import BOARD, jira_env

SPRINT1_START = datetime(2026, 7, 6, 9, tzinfo=UTC)


def seed_history(server: JiraStandIn) -> dict[str, Any]:
    """Eight closed two-week sprints (1-8), an active one (9) and a future one (10) on board 3.

    Each closed sprint: two issues resolved mid-sprint (3 and 5 points) and one left undone that
    carries over into the next sprint. The active sprint has one resolved issue so far.
    """
    server.add_board(BOARD, "Search team board", "SRCH", project_name="Search")
    resolved: dict[str, datetime] = {}
    for n in range(1, 11):
        start = SPRINT1_START + timedelta(days=14 * (n - 1))
        state = "closed" if n <= 8 else "active" if n == 9 else "future"
        server.add_sprint(
            n,
            BOARD,
            f"Sprint {n}",
            state,
            start=start if n <= 9 else None,
            end=start + timedelta(days=11, hours=8) if n <= 9 else None,
            complete=start + timedelta(days=11, hours=7) if n <= 8 else None,
            goal=f"Goal {n}",
        )
    for n in range(1, 9):
        start = SPRINT1_START + timedelta(days=14 * (n - 1))
        for offset, points in ((1, 3), (2, 5)):
            key = f"SRCH-{n * 10 + offset}"
            resolved[key] = start + timedelta(days=2 + offset)
            server.add_issue(
                key,
                [n],
                points,
                "done",
                assignee="ada" if offset == 1 else "bob",
                resolutiondate=resolved[key],
            )
        server.add_issue(f"SRCH-{n * 10 + 3}", [n, n + 1], 8, "indeterminate", created=start)
    active_start = SPRINT1_START + timedelta(days=14 * 8)
    resolved["SRCH-91"] = active_start + timedelta(days=1)
    server.add_issue("SRCH-91", [9], 2, "done", assignee="ada", resolutiondate=resolved["SRCH-91"])
    return resolved


def snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, timestamps included: a second run must leave all of it as it was."""
    with runtime_of(app).database.connection() as connection:
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in connection.execute(text(f'SELECT * FROM "{table.name}"'))),
            )
            for table in Base.metadata.sorted_tables
        }


def run_backfill(env: dict[str, str], *args: str) -> Any:
    result = CliRunner().invoke(main, ["backfill", "jira", *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize(("backend", "flavour"), [("sqlite", "cloud"), ("postgres", "server")])
def test_backfill_end_to_end_and_twice(make_app: AppFactory, backend: str, flavour: str) -> None:
    with JiraStandIn(flavour=flavour) as server:  # type: ignore[arg-type]
        resolved = seed_history(server)
        app = make_app(backend)
        env = {
            **jira_env(server),
            "SPRINTWINS_DATABASE_URL": runtime_of(app).settings.database_url,
            "SPRINTWINS_REDIS_URL": "",
        }
        server.throttle_next(2, retry_after=1)  # Jira rate-limits the first requests: waited out

        first = run_backfill(env, "--board", str(BOARD), "--sprints", "6")
        after_first = snapshot(app)
        second = run_backfill(env, "--board", str(BOARD), "--sprints", "6")

        assert server.throttled_count() == 2
        assert after_first == snapshot(app)
        assert "nothing new" in second.output and "nothing new" not in first.output
        # The progress bar, as rich prints it on a non-terminal: its final state.
        assert "7/7 sprints" in first.stderr
        # Six closed sprints of four issues (two resolved, one carried over, one carried in), plus the
        # active one's two; 20 distinct issues, 13 of them resolved; 6 x 2 + 1 sprint events.
        assert (
            "board 3: 7 sprints, 26 issues seen, 20 recorded, 13 ticket wins, 13 sprint events, "
            "26 scope rows changed" in first.stdout
        )
        assert "0 recorded, 0 ticket wins, 0 sprint events, 0 scope rows changed" in second.stdout
        assert f"story points field: {server.flavour.points_field_id}" in first.stdout

        client = app.test_client()
        sprints = client.get("/api/v1/teams/srch/sprints").json["sprints"]
        # The last six closed and the active one; sprint 2 is known only from a carried-over issue's
        # sprint field, as a webhook would have shown it, and has no sprint wins.
        assert [s["id"] for s in sprints] == [9, 8, 7, 6, 5, 4, 3, 2]
        assert [s["state"] for s in sprints] == ["active"] + ["closed"] * 7
        assert sprints[-1]["issues_total"] == 1
        assert sprints[1]["goal"] == "Goal 8" and sprints[1]["points_done"] == 8.0
        ticket_wins = client.get("/api/v1/teams/srch/wins?kind=ticket&limit=100").json["wins"]
        assert sorted(w["source_key"] for w in ticket_wins) == sorted(
            k for k in resolved if 3 <= int(k.split("-")[1]) // 10 <= 9
        )
        for win in ticket_wins:  # dated when the work was resolved, not when we imported it
            assert win["occurred_at"] == resolved[win["source_key"]].isoformat().replace("+00:00", "Z")
        assert {w["member"]["name"] for w in ticket_wins} == {"ada", "bob"}
        closed = client.get("/api/v1/teams/srch/wins?kind=sprint_closed").json["wins"]
        started = client.get("/api/v1/teams/srch/wins?kind=sprint_started").json["wins"]
        assert len(closed) == 6 and len(started) == 7
        assert closed[0]["title"] == "Sprint 8 closed: 2 issues and 8 points done"
        assert closed[0]["occurred_at"] == "2026-10-23T16:00:00Z"  # sprint 8 started 2026-10-12 09:00
        scope = client.get("/api/v1/teams/srch/sprints/8/scope").json
        assert scope["scope_source"] == "jira"
        # Sprint 8: its two resolved issues and the one carried in from sprint 7 were committed;
        # the carried-over SRCH-83 stayed undone.
        assert (scope["committed_issues"], scope["committed_points"]) == (4, 24.0)
        assert (scope["completed_issues"], scope["completed_points"]) == (2, 8.0)
        with runtime_of(app).database.sessions() as session:
            assert (
                session.scalar(select(Win).where(Win.source_key == "SRCH-11")) is None
            )  # sprint 1 not asked


def test_backfill_needs_jira_credentials(tmp_path: Any) -> None:
    result = CliRunner().invoke(
        main,
        ["backfill", "jira", "--board", "3"],
        env={"SPRINTWINS_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SPRINTWINS_JIRA_URL": ""},
    )

    assert result.exit_code != 0
    assert "SPRINTWINS_JIRA_URL" in result.output and "SPRINTWINS_JIRA_PAT" in result.output


def test_backfill_reports_an_unknown_board(make_app: AppFactory, standin: JiraStandIn) -> None:
    app = make_app("sqlite")
    env = {**jira_env(standin), "SPRINTWINS_DATABASE_URL": runtime_of(app).settings.database_url}

    result = CliRunner().invoke(main, ["backfill", "jira", "--board", "99"], env=env)

    assert result.exit_code != 0
    assert "Jira answered 404" in result.output


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, [9]), (2, [7, 8, 9]), (6, [3, 4, 5, 6, 7, 8, 9]), (50, [1, 2, 3, 4, 5, 6, 7, 8, 9])],
)
def test_select_sprints_takes_the_latest_closed_by_completion(count: int, expected: list[int]) -> None:
    raw = [
        {"id": n, "state": "closed", "completeDate": f"2026-{n:02d}-01T00:00:00.000Z"}
        for n in range(8, 0, -1)
    ] + [{"id": 9, "state": "active", "startDate": "2026-09-01T00:00:00.000Z"}]

    assert [s["id"] for s in select_sprints(raw, count)] == expected
