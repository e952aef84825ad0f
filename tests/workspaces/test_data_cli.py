"""``sprintwins workspace create|list`` and the ``--workspace`` option of the team and member commands,
through the real command line, on SQLite and Postgres."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from service.cli.main import main
from service.web.extensions import runtime_of
from tests.conftest import AppFactory


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, make_app: AppFactory) -> Flask:
    return make_app(request.param)


def cli(app: Flask, *args: str, ok: bool = True) -> Result:
    env = {"SPRINTWINS_DATABASE_URL": runtime_of(app).database.url, "SPRINTWINS_REDIS_URL": ""}
    result = CliRunner().invoke(main, list(args), env=env)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_workspace_create_and_list(app: Flask) -> None:
    assert (
        "created workspace acme (Acme Inc)"
        in cli(app, "workspace", "create", "acme", "--name", "Acme Inc").output
    )
    cli(app, "workspace", "create", "beta")
    listed = json.loads(cli(app, "workspace", "list", "--json").output)["workspaces"]
    assert listed == [
        {"slug": "acme", "name": "Acme Inc", "slack_team_id": None},
        {"slug": "beta", "name": "beta", "slack_team_id": None},
        {"slug": "default", "name": "Default", "slack_team_id": None},
    ]
    lines = cli(app, "workspace", "list").output.splitlines()
    assert [line.split()[0] for line in lines] == ["acme", "beta", "default"]


def test_workspace_create_refuses_a_taken_or_malformed_slug(app: Flask) -> None:
    cli(app, "workspace", "create", "acme")
    taken = cli(app, "workspace", "create", "acme", ok=False)
    assert taken.exit_code == 1 and "exists already" in taken.output
    malformed = cli(app, "workspace", "create", "Not A Slug", ok=False)
    assert malformed.exit_code == 1 and "slug" in malformed.output


def test_team_commands_work_inside_the_workspace_they_name(app: Flask) -> None:
    cli(app, "workspace", "create", "acme")
    cli(app, "team", "create", "orb", "--name", "Orb at Acme", "--workspace", "acme")
    cli(app, "team", "create", "orb", "--name", "Orb here")  # the same slug in the implicit workspace
    cli(app, "team", "attach", "orb", "ORB", "--workspace", "acme")
    cli(app, "team", "attach", "orb", "ORB")  # each workspace's Jira site has its own project ORB
    cli(app, "team", "timezone", "orb", "Europe/Berlin", "--workspace", "acme")

    acme = json.loads(cli(app, "team", "list", "--json", "--workspace", "acme").output)["teams"]
    here = json.loads(cli(app, "team", "list", "--json").output)["teams"]
    assert [(t["slug"], t["name"], t["jira_projects"], t["timezone"]) for t in acme] == [
        ("orb", "Orb at Acme", ["ORB"], "Europe/Berlin")
    ]
    assert [(t["slug"], t["name"], t["jira_projects"], t["timezone"]) for t in here] == [
        ("orb", "Orb here", ["ORB"], "UTC")
    ]
    explicit = json.loads(cli(app, "team", "list", "--json", "--workspace", "default").output)["teams"]
    assert explicit == here


def test_an_unknown_workspace_is_refused_before_anything_changes(app: Flask) -> None:
    refused = cli(app, "team", "create", "orb", "--workspace", "nowhere", ok=False)
    assert refused.exit_code == 1 and "no workspace with slug 'nowhere'" in refused.output
    assert json.loads(cli(app, "team", "list", "--json").output)["teams"] == []
    listed = cli(app, "member", "list", "--workspace", "nowhere", ok=False)
    assert listed.exit_code == 1 and "nowhere" in listed.output


def test_a_team_of_another_workspace_is_not_found(app: Flask) -> None:
    cli(app, "workspace", "create", "acme")
    cli(app, "team", "create", "orb", "--workspace", "acme")
    missing = cli(app, "team", "rename", "orb", "Renamed", ok=False)
    assert missing.exit_code == 1 and "no team with slug 'orb'" in missing.output
    assert (
        "is now called 'Renamed'"
        in cli(app, "team", "rename", "orb", "Renamed", "--workspace", "acme").output
    )
