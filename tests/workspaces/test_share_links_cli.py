"""``sprintwins share create | list | revoke`` through click, against SQLite and Postgres, and the links it
prints opened by a browser from elsewhere."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import select

from service.cli.main import main
from service.models import ShareLink, Team
from service.web.extensions import runtime_of
from service.workspaces import registry as workspaces
from service.workspaces import share_links
from tests.conftest import AppFactory
from tests.workspaces.test_api_isolation import BACKENDS, client_from

PUBLIC_URL = "https://wins.example.com"


@dataclass(frozen=True)
class Cli:
    """The command's environment, pointed at the database of ``app`` (which the printed links open)."""

    env: dict[str, str]
    app: Flask

    def invoke(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)

    def ok(self, *args: str) -> Result:
        result = self.invoke(*args)
        assert result.exit_code == 0, result.output
        return result

    def fails(self, *args: str) -> str:
        result = self.invoke(*args)
        assert result.exit_code != 0, result.output
        assert "Traceback" not in result.output
        return result.output

    def listed(self, workspace: str = "acme") -> list[dict[str, str | int | None]]:
        rows: list[dict[str, str | int | None]] = json.loads(
            self.ok("share", "list", workspace, "--json").stdout
        )["share_links"]
        return rows


@pytest.fixture(params=BACKENDS)
def cli(request: pytest.FixtureRequest, make_app: AppFactory) -> Cli:
    app = make_app(request.param, env="production")
    with runtime_of(app).database.transaction() as session:
        acme = workspaces.create_workspace(session, "acme", "Acme")
        globex = workspaces.create_workspace(session, "globex", "Globex")
        session.add_all(
            [
                Team(workspace_id=acme.id, slug="orb", name="Acme orb", timezone="UTC"),
                Team(workspace_id=globex.id, slug="orb", name="Globex orb", timezone="UTC"),
                Team(workspace_id=globex.id, slug="kite", name="Globex kite", timezone="UTC"),
            ]
        )
    url = runtime_of(app).database.engine.url.render_as_string(hide_password=False)
    env = {"SPRINTWINS_DATABASE_URL": url, "SPRINTWINS_REDIS_URL": "", "SPRINTWINS_PUBLIC_URL": PUBLIC_URL}
    return Cli(env, app)


def _at(iso: object) -> datetime:
    assert isinstance(iso, str)
    return datetime.fromisoformat(iso)


def test_create_prints_the_link_once_and_stores_only_its_hash(cli: Cli) -> None:
    created = cli.ok("share", "create", "acme", "orb", "--name", "office tv")
    url = created.stdout.strip()
    assert url.startswith(PUBLIC_URL + "/share/") and "\n" not in url  # alone on stdout
    token = url.removeprefix(PUBLIC_URL + "/share/")
    assert share_links.TOKEN_SHAPE.fullmatch(token)
    assert "shown only now" in created.stderr and "revoke" in created.stderr
    listed = cli.ok("share", "list", "acme", "--json").stdout
    assert token not in listed
    [row] = json.loads(listed)["share_links"]
    assert set(row) == {"id", "team", "name", "created_at", "expires_at", "last_used_at", "revoked_at"}
    assert (row["team"], row["name"]) == ("orb", "office tv")
    assert row["last_used_at"] is None and row["revoked_at"] is None
    assert _at(row["expires_at"]) - _at(row["created_at"]) == timedelta(days=30)  # the default
    with runtime_of(cli.app).database.sessions() as session:
        stored = session.scalars(select(ShareLink.token_hash)).all()
    assert stored == [share_links.token_hash(token)] and token not in str(stored)
    assert token not in cli.ok("share", "list", "acme").stdout


def test_the_printed_link_opens_its_team_page_from_elsewhere(cli: Cli) -> None:
    token = cli.ok("share", "create", "globex", "kite").stdout.strip().rsplit("/", 1)[1]
    browser = client_from(cli.app)
    opened = browser.get(f"/share/{token}")
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/teams/kite")
    page = browser.get("/teams/kite")
    assert page.status_code == 200 and "Globex kite" in page.get_data(as_text=True)
    assert cli.listed("globex")[0]["last_used_at"] is not None


def test_expiry_takes_hours_days_and_weeks_up_to_a_year(cli: Cli) -> None:
    lifetimes = {"12h": timedelta(hours=12), "8w": timedelta(weeks=8), "365d": timedelta(days=365)}
    for given, lifetime in lifetimes.items():
        cli.ok("share", "create", "acme", "orb", "--expires", given)
        row = cli.listed()[-1]
        assert _at(row["expires_at"]) - _at(row["created_at"]) == lifetime, given
    for bad in ("366d", "53w", "0d", "30", "d", "-1d", "1.5d", "30 days", "1y", "9" * 20 + "d"):
        output = cli.fails("share", "create", "acme", "orb", "--expires", bad)
        assert "--expires" in output, (bad, output)
    assert len(cli.listed()) == 3  # nothing was made by the refused ones


def test_unknown_workspace_team_or_link_are_clear_errors(cli: Cli) -> None:
    assert "no workspace with slug 'nowhere'" in cli.fails("share", "create", "nowhere", "orb")
    assert "no team with slug 'kite'" in cli.fails("share", "create", "acme", "kite")  # globex's, not acme's
    assert "no workspace with slug 'nowhere'" in cli.fails("share", "list", "nowhere")
    assert "no share link with id 999" in cli.fails("share", "revoke", "999")
    assert "ID" in cli.fails("share", "revoke", "not-a-number")
    assert cli.listed() == [] and cli.listed("globex") == []


def test_list_shows_each_workspace_its_own_links(cli: Cli) -> None:
    assert "No share links in 'acme' yet" in cli.ok("share", "list", "acme").stdout
    cli.ok("share", "create", "acme", "orb", "--name", "lobby")
    cli.ok("share", "create", "globex", "orb", "--name", "kitchen")
    assert [(r["team"], r["name"]) for r in cli.listed("acme")] == [("orb", "lobby")]
    assert [(r["team"], r["name"]) for r in cli.listed("globex")] == [("orb", "kitchen")]
    text = cli.ok("share", "list", "globex").stdout
    assert "kitchen" in text and "lobby" not in text


def test_revoke_ends_the_link_and_says_so_twice(cli: Cli) -> None:
    token = cli.ok("share", "create", "acme", "orb").stdout.strip().rsplit("/", 1)[1]
    browser = client_from(cli.app)
    assert browser.get(f"/share/{token}").status_code == 303
    assert browser.get("/teams/orb").status_code == 200
    link_id = str(cli.listed()[0]["id"])
    assert cli.ok("share", "revoke", link_id).stdout.strip() == f"Share link {link_id} revoked."
    assert "was already revoked at" in cli.ok("share", "revoke", link_id).stdout
    assert cli.listed()[0]["revoked_at"] is not None
    assert browser.get("/teams/orb").status_code == 401  # the screen that had it open, too
    assert client_from(cli.app).get(f"/share/{token}").status_code == 404
