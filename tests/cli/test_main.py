"""The ``sprintwins`` command, run through click against real databases and a live server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from werkzeug.serving import make_server

from service.cli.main import main
from tests.conftest import CORPUS, SECRET, AppFactory
from tests.jobs.helpers import run_jobs


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"SPRINTWINS_DATABASE_URL": f"sqlite:///{tmp_path / 'sprintwins.db'}", "SPRINTWINS_REDIS_URL": ""}


def run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_db_upgrade_then_team_commands(env: dict[str, str]) -> None:
    from alembic.script import ScriptDirectory

    from service.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert f"revision {', '.join(sorted(heads))}" in run(env, "db", "upgrade")
    assert "No teams yet" in run(env, "team", "list")
    run(env, "team", "create", "platform", "--name", "Platform")
    run(env, "team", "rename", "platform", "Platform Squad")
    run(env, "team", "attach", "platform", "plat")
    run(env, "team", "channel", "platform", "C0123ABCD")
    run(env, "team", "timezone", "platform", "Europe/Berlin")
    listed = json.loads(run(env, "team", "list", "--json"))["teams"]
    assert listed == [
        {
            "slug": "platform",
            "name": "Platform Squad",
            "jira_projects": ["PLAT"],
            "slack_channel": "C0123ABCD",
            "timezone": "Europe/Berlin",
        }
    ]
    run(env, "team", "detach", "platform", "PLAT")
    assert json.loads(run(env, "team", "list", "--json"))["teams"][0]["jira_projects"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("team", "timezone", "nope", "UTC"), "no team"),
        (("team", "create", "Bad Slug"), "slug"),
        (("team", "channel", "x", "#general"), "channel"),
    ],
)
def test_team_errors_are_clear(env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    run(env, "db", "upgrade")
    if args[1] == "channel":
        run(env, "team", "create", "x")
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 1
    assert message in result.output


def test_unknown_timezone_is_refused(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    run(env, "team", "create", "x")
    result = CliRunner().invoke(main, ["team", "timezone", "x", "Mars/Olympus"], env=env)
    assert result.exit_code == 1 and "IANA" in result.output


@pytest.fixture
def live_server(make_app: AppFactory) -> Iterator[tuple[Flask, str]]:
    app = make_app("sqlite")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_events_replay_signs_and_posts_to_a_running_server(
    live_server: tuple[Flask, str], env: dict[str, str]
) -> None:
    app, base = live_server
    files = [
        str(CORPUS / "jira" / name)
        for name in ("webhook-issue-created.json", "webhook-issue-updated-resolved.json")
    ]
    out = run(
        {**env, "SPRINTWINS_JIRA_WEBHOOK_SECRET": SECRET},
        "events",
        "replay",
        "--url",
        f"{base}/webhooks/jira",
        *files,
    )
    assert "[1/2]" in out and "[2/2]" in out and "2 of 2 accepted" in out
    run_jobs(app)
    wins = app.test_client().get("/api/v1/teams/tes/wins?kind=ticket").json["wins"]
    assert [w["source_key"] for w in wins] == ["TES-41"]


def test_events_replay_with_a_wrong_secret_fails(live_server: tuple[Flask, str], env: dict[str, str]) -> None:
    _, base = live_server
    file = str(CORPUS / "jira" / "webhook-issue-created.json")
    result = CliRunner().invoke(
        main, ["events", "replay", "--url", f"{base}/webhooks/jira", "--secret", "wrong", file], env=env
    )
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if line.startswith("[1/1]"))
    assert line.startswith("[1/1] webhook-issue-created.json: 401 refused: ")
    assert line.count("401") == 1 and len(line) > len("[1/1] webhook-issue-created.json: 401 refused: ")
    assert "0 of 1 accepted" in result.output


def test_inbox_status(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    body = json.loads(run(env, "inbox", "status", "--json"))
    assert body == {
        "counts": {"pending": 0, "processed": 0, "ignored": 0, "failed": 0},
        "oldest_pending_age_seconds": None,
    }
    assert "oldest pending: none" in run(env, "inbox", "status")
