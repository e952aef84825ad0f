"""``sprintwins token create | list | revoke`` through click, against SQLite and Postgres, and the
tokens it makes used against the app."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import select

from service.cli.main import main
from service.models import ApiToken
from service.web.extensions import runtime_of
from service.workspaces import registry as workspaces
from service.workspaces import tokens
from tests.conftest import AppFactory
from tests.workspaces.test_api_isolation import BACKENDS, client_from


@dataclass(frozen=True)
class Cli:
    """The command's environment, pointed at the database of ``app`` (whose requests use its tokens)."""

    env: dict[str, str]
    app: Flask

    def invoke(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)

    def ok(self, *args: str) -> Result:
        result = self.invoke(*args)
        assert result.exit_code == 0, result.output
        return result

    def api(self, token: str) -> Any:
        client = client_from(self.app)
        return client.get("/api/v1/teams", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(params=BACKENDS)
def cli(request: pytest.FixtureRequest, make_app: AppFactory) -> Cli:
    app = make_app(request.param)
    with runtime_of(app).database.transaction() as session:
        workspaces.create_workspace(session, "acme", "Acme")
        workspaces.create_workspace(session, "globex", "Globex")
    url = runtime_of(app).database.engine.url.render_as_string(hide_password=False)
    return Cli({"SPRINTWINS_DATABASE_URL": url, "SPRINTWINS_REDIS_URL": ""}, app)


def test_create_prints_the_token_once_and_stores_only_its_hash(cli: Cli) -> None:
    created = cli.ok("token", "create", "acme", "--name", "ci")
    secret = created.stdout.strip()
    assert secret.startswith("swk_") and len(secret) > 40 and "\n" not in secret  # alone on stdout
    assert "shown only now" in created.stderr and "(read)" in created.stderr
    listed = cli.ok("token", "list", "acme", "--json")
    assert secret not in listed.output
    [row] = json.loads(listed.stdout)["tokens"]
    assert row["name"] == "ci" and row["scope"] == "read"
    assert row["created_at"] and row["last_used_at"] is None and row["revoked_at"] is None
    assert set(row) == {"id", "name", "scope", "created_at", "last_used_at", "revoked_at"}
    with runtime_of(cli.app).database.sessions() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert stored == [tokens.token_hash(secret)]  # the hash, and nothing that is the token itself
    assert secret not in str(stored)


def test_tokens_made_on_the_command_line_open_their_workspace(cli: Cli) -> None:
    reader = cli.ok("token", "create", "acme").stdout.strip()
    writer_result = cli.ok("token", "create", "acme", "--write", "--name", "deploy bot")
    assert "(read-write)" in writer_result.stderr
    writer = writer_result.stdout.strip()
    assert cli.api(reader).json == {"teams": []}
    rows = json.loads(cli.ok("token", "list", "acme", "--json").stdout)["tokens"]
    assert [(r["name"], r["scope"]) for r in rows] == [("", "read"), ("deploy bot", "read-write")]
    assert rows[0]["last_used_at"] is not None and rows[1]["last_used_at"] is None
    text = cli.ok("token", "list", "acme").stdout
    assert "read-write" in text and "deploy bot" in text and reader not in text and writer not in text
    assert "No tokens in 'globex' yet" in cli.ok("token", "list", "globex").stdout


def test_revoke_ends_a_token(cli: Cli) -> None:
    secret = cli.ok("token", "create", "acme").stdout.strip()
    [row] = json.loads(cli.ok("token", "list", "acme", "--json").stdout)["tokens"]
    assert cli.ok("token", "revoke", str(row["id"])).stdout.strip() == f"Token {row['id']} revoked."
    again = cli.ok("token", "revoke", str(row["id"])).stdout
    assert "was already revoked at" in again
    [revoked] = json.loads(cli.ok("token", "list", "acme", "--json").stdout)["tokens"]
    assert revoked["revoked_at"] and again.strip().endswith(f"{revoked['revoked_at']}.")
    assert cli.api(secret).status_code == 401


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("token", "create", "nowhere"), "no workspace with slug 'nowhere'"),
        (("token", "list", "nowhere"), "no workspace with slug 'nowhere'"),
        (("token", "revoke", "4242"), "no API token with id 4242"),
        (("token", "revoke", "0"), "0 is not in the range"),
        (("token", "revoke", "abc"), "'abc' is not a valid integer"),
        (("token", "revoke", "99999999999"), "is not in the range"),
    ],
)
def test_clear_errors_for_what_does_not_exist(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli.invoke(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
