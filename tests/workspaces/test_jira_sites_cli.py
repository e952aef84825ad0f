"""``sprintwins jira add|list|rotate|remove`` through the real command line, on SQLite and Postgres."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select

from service.cli.main import main
from service.models import JiraSite
from service.web.extensions import runtime_of
from service.workspaces.registry import create_workspace
from tests.conftest import AppFactory

BACKENDS = ["sqlite", "postgres"]
ENCRYPTION_KEY = Fernet.generate_key().decode()
PUBLIC_URL = "https://wins.example.com"


# -- helpers the delivery and REST tests share ---------------------------------------------------------


def site_app(make_app: AppFactory, backend: str = "sqlite", **overrides: object) -> Flask:
    values: dict[str, object] = {"token_encryption_key": ENCRYPTION_KEY, "public_url": PUBLIC_URL}
    return make_app(backend, **{**values, **overrides})


def cli_env(app: Flask, **extra: str) -> dict[str, str]:
    return {
        "SPRINTWINS_DATABASE_URL": runtime_of(app).database.url,
        "SPRINTWINS_REDIS_URL": "",
        "SPRINTWINS_TOKEN_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "SPRINTWINS_PUBLIC_URL": PUBLIC_URL,
        **extra,
    }


def jira_cli(app: Flask, *args: str, env: dict[str, str] | None = None, ok: bool = True) -> Result:
    result = CliRunner().invoke(main, ["jira", *args], env=cli_env(app, **(env or {})))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def make_workspace(app: Flask, slug: str) -> int:
    with runtime_of(app).database.transaction() as session:
        return create_workspace(session, slug).id


@dataclass(frozen=True)
class AddedSite:
    key: str
    secret: str
    webhook_url: str
    output: str

    @property
    def path(self) -> str:
        return self.webhook_url.removeprefix(PUBLIC_URL)


def add_site(
    app: Flask, workspace: str, url: str = "https://acme.atlassian.net", *options: str, **env: str
) -> AddedSite:
    output = jira_cli(app, "add", workspace, "--url", url, *options, env=env).output
    webhook_url = _printed(output, "Webhook URL")
    return AddedSite(webhook_url.rsplit("/", 1)[1], _printed(output, "Secret"), webhook_url, output)


def _printed(output: str, label: str) -> str:
    found = re.search(rf"^\s*{label}:\s+(\S+)\s*$", output, re.MULTILINE)
    assert found, output
    return found[1]


def stored_site(app: Flask, key: str) -> JiraSite | None:
    with runtime_of(app).database.sessions() as session:
        return session.scalars(select(JiraSite).where(JiraSite.key == key)).first()


def decrypt(ciphertext: str | None) -> str | None:
    return (
        None if ciphertext is None else Fernet(ENCRYPTION_KEY.encode()).decrypt(ciphertext.encode()).decode()
    )


# -- add -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_add_prints_the_webhook_url_and_secret_once_and_stores_them_encrypted(
    make_app: AppFactory, backend: str
) -> None:
    app = site_app(make_app, backend)
    workspace_id = make_workspace(app, "acme")

    added = add_site(
        app,
        "acme",
        "HTTPS://acme.atlassian.net/",
        "--email",
        "bot@acme.example",
        "--api-token-env",
        "ACME_JIRA_TOKEN",
        ACME_JIRA_TOKEN="cloud-token-123",
    )

    assert added.webhook_url == f"{PUBLIC_URL}/webhooks/jira/{added.key}"
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", added.key)
    assert len(added.secret) >= 40
    assert "shown only now" in added.output and "Next:" in added.output
    assert "PUBLIC_URL is not set" not in added.output
    site = stored_site(app, added.key)
    assert site is not None
    assert (site.workspace_id, site.base_url) == (workspace_id, "https://acme.atlassian.net")
    # Ciphertext at rest, every one of them: the secret, the email and the token.
    assert added.secret not in site.secret and decrypt(site.secret) == added.secret
    assert site.rest_email != "bot@acme.example" and decrypt(site.rest_email) == "bot@acme.example"
    assert site.rest_token != "cloud-token-123" and decrypt(site.rest_token) == "cloud-token-123"
    assert (site.previous_secret, site.previous_valid_until) == (None, None)


def test_two_sites_get_different_keys_and_secrets(make_app: AppFactory) -> None:
    app = site_app(make_app)
    make_workspace(app, "acme")
    first, second = add_site(app, "acme"), add_site(app, "acme", "https://jira.acme.example/jira")
    assert first.key != second.key and first.secret != second.secret
    second_site = stored_site(app, second.key)
    assert second_site is not None and second_site.base_url == "https://jira.acme.example/jira"


def test_add_says_when_the_public_url_is_not_set(make_app: AppFactory) -> None:
    app = site_app(make_app)
    make_workspace(app, "acme")
    result = jira_cli(
        app, "add", "acme", "--url", "https://acme.atlassian.net", env={"SPRINTWINS_PUBLIC_URL": ""}
    )
    assert "SPRINTWINS_PUBLIC_URL is not set" in result.output
    assert "http://127.0.0.1:8000/webhooks/jira/" in result.output


def test_add_refuses_without_the_encryption_key(make_app: AppFactory) -> None:
    app = site_app(make_app)
    make_workspace(app, "acme")
    result = jira_cli(
        app,
        "add",
        "acme",
        "--url",
        "https://acme.atlassian.net",
        env={"SPRINTWINS_TOKEN_ENCRYPTION_KEY": ""},
        ok=False,
    )
    assert result.exit_code == 1
    assert "set SPRINTWINS_TOKEN_ENCRYPTION_KEY" in result.output
    assert "Secret:" not in result.output
    assert _site_count(app) == 0


def test_add_refuses_a_malformed_encryption_key(make_app: AppFactory) -> None:
    app = site_app(make_app)
    make_workspace(app, "acme")
    result = jira_cli(
        app,
        "add",
        "acme",
        "--url",
        "https://acme.atlassian.net",
        env={"SPRINTWINS_TOKEN_ENCRYPTION_KEY": "not-a-fernet-key"},
        ok=False,
    )
    assert result.exit_code == 1 and "must be a Fernet key" in result.output
    assert _site_count(app) == 0


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://acme.example", "https://"),
        ("acme.atlassian.net", "https://"),
        ("javascript:alert(1)", "https://"),
        ("https://bot:hunter2@acme.atlassian.net", "must not carry credentials"),
        ("https://bot@acme.atlassian.net", "must not carry credentials"),
        ("https://", "no host"),
        ("https://acme.atlassian.net/?os_authType=basic", "without a query"),
        ("https://acme.atlassian.net/#frag", "without a query"),
        ("https://acme.atlassian.net:port", "not a valid URL"),
        ("https://acme .atlassian.net", "printable"),
        ("https://acme.atlassian.net/\x00", "printable"),
        ("https://" + "a" * 600 + ".example", "at most 500"),
        ("", "printable"),
    ],
)
def test_add_refuses_bad_urls(make_app: AppFactory, url: str, problem: str) -> None:
    app = site_app(make_app)
    make_workspace(app, "acme")
    result = jira_cli(app, "add", "acme", "--url", url, ok=False)
    assert result.exit_code == 1
    assert problem in result.output
    assert "hunter2" not in result.output
    assert _site_count(app) == 0


def test_add_refuses_an_unknown_workspace(make_app: AppFactory) -> None:
    app = site_app(make_app)
    result = jira_cli(app, "add", "nowhere", "--url", "https://acme.atlassian.net", ok=False)
    assert result.exit_code == 1 and "no workspace with slug 'nowhere'" in result.output
    assert _site_count(app) == 0


def test_the_api_token_comes_from_the_named_variable_only(make_app: AppFactory) -> None:
    app = site_app(make_app)
    make_workspace(app, "acme")
    base = ["add", "acme", "--url", "https://acme.atlassian.net"]
    unset = jira_cli(
        app, *base, "--email", "bot@acme.example", "--api-token-env", "NOT_SET_ANYWHERE", ok=False
    )
    assert unset.exit_code == 1 and "NOT_SET_ANYWHERE" in unset.output and "unset or empty" in unset.output
    no_token = jira_cli(app, *base, "--email", "bot@acme.example", ok=False)
    assert no_token.exit_code == 2 and "--api-token-env" in no_token.output
    assert _site_count(app) == 0
    # A token alone is a Server/Data Center personal access token.
    server = add_site(app, "acme", "https://jira.acme.example", "--api-token-env", "PAT", PAT="server-pat")
    site = stored_site(app, server.key)
    assert site is not None and site.rest_email is None and decrypt(site.rest_token) == "server-pat"


def _site_count(app: Flask) -> int:
    with runtime_of(app).database.sessions() as session:
        return len(list(session.scalars(select(JiraSite.id))))


# -- list ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_list_shows_every_site_and_never_a_secret(make_app: AppFactory, backend: str) -> None:
    app = site_app(make_app, backend)
    make_workspace(app, "acme")
    make_workspace(app, "globex")
    acme = add_site(
        app,
        "acme",
        "https://acme.atlassian.net",
        "--email",
        "bot@acme.example",
        "--api-token-env",
        "T",
        T="tok-a",
    )
    globex = add_site(app, "globex", "https://globex.atlassian.net")
    rotated = jira_cli(app, "rotate", globex.key, "--grace", "2h").output
    new_secret = _printed(rotated, "New secret")

    text = jira_cli(app, "list").output
    as_json = json.loads(jira_cli(app, "list", "--json").output)
    only_acme = json.loads(jira_cli(app, "list", "acme", "--json").output)

    for shown in (text, json.dumps(as_json), json.dumps(only_acme)):
        for secret in (acme.secret, globex.secret, new_secret, "tok-a", "bot@acme.example"):
            assert secret not in shown
    assert acme.key in text and globex.key in text and "old secret accepted until" in text
    by_key = {site["key"]: site for site in as_json["sites"]}
    assert by_key[acme.key]["workspace"] == "acme" and by_key[acme.key]["rest_credentials"] == "cloud"
    assert by_key[acme.key]["webhook_url"] == acme.webhook_url
    assert by_key[acme.key]["previous_secret_valid_until"] is None
    assert by_key[globex.key]["rest_credentials"] is None
    grace_end = datetime.fromisoformat(by_key[globex.key]["previous_secret_valid_until"])
    assert timedelta(hours=1, minutes=59) < grace_end - datetime.now(UTC) <= timedelta(hours=2)
    assert [site["key"] for site in only_acme["sites"]] == [acme.key]


def test_list_without_sites_says_how_to_add_one(make_app: AppFactory) -> None:
    app = site_app(make_app)
    assert "sprintwins jira add" in jira_cli(app, "list").output
    assert json.loads(jira_cli(app, "list", "--json").output) == {"sites": []}
    assert jira_cli(app, "list", "nowhere", ok=False).exit_code == 1


# -- rotate and remove ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_rotate_keeps_the_old_secret_for_the_grace_only(make_app: AppFactory, backend: str) -> None:
    app = site_app(make_app, backend)
    make_workspace(app, "acme")
    added = add_site(app, "acme")

    output = jira_cli(app, "rotate", added.key, "--grace", "24h").output

    new_secret = _printed(output, "New secret")
    assert new_secret != added.secret and "still accepted until" in output
    site = stored_site(app, added.key)
    assert site is not None and site.previous_valid_until is not None
    assert decrypt(site.secret) == new_secret and decrypt(site.previous_secret) == added.secret
    assert (
        timedelta(hours=23, minutes=59) < site.previous_valid_until - datetime.now(UTC) <= timedelta(hours=24)
    )

    ended = jira_cli(app, "rotate", added.key, "--grace", "0s").output
    assert "no longer accepted" in ended
    site = stored_site(app, added.key)
    assert site is not None and (site.previous_secret, site.previous_valid_until) == (None, None)
    assert decrypt(site.secret) == _printed(ended, "New secret")


@pytest.mark.parametrize(("grace", "code"), [("forever", 2), ("24", 2), ("-1h", 2), ("31d", 1), ("1w", 2)])
def test_rotate_refuses_a_bad_grace(make_app: AppFactory, grace: str, code: int) -> None:
    app = site_app(make_app)
    make_workspace(app, "acme")
    added = add_site(app, "acme")
    result = jira_cli(app, "rotate", added.key, "--grace", grace, ok=False)
    assert result.exit_code == code, result.output
    site = stored_site(app, added.key)
    assert site is not None and decrypt(site.secret) == added.secret


def test_rotate_and_remove_refuse_an_unknown_key(make_app: AppFactory) -> None:
    app = site_app(make_app)
    for command in (["rotate", "nope"], ["remove", "nope"], ["remove", "\x00" * 3], ["remove", "k" * 10_000]):
        result = jira_cli(app, *command, ok=False)
        assert result.exit_code == 1 and "no Jira site with that key" in result.output


@pytest.mark.parametrize("backend", BACKENDS)
def test_remove_deletes_the_site(make_app: AppFactory, backend: str) -> None:
    app = site_app(make_app, backend)
    make_workspace(app, "acme")
    kept, removed = add_site(app, "acme"), add_site(app, "acme", "https://other.atlassian.net")
    assert "Removed Jira site https://other.atlassian.net" in jira_cli(app, "remove", removed.key).output
    assert stored_site(app, removed.key) is None and stored_site(app, kept.key) is not None


def test_no_secret_reaches_the_logs(make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = site_app(make_app)
    make_workspace(app, "acme")
    added = add_site(
        app,
        "acme",
        "https://acme.atlassian.net",
        "--email",
        "b@acme.example",
        "--api-token-env",
        "T",
        T="tok-z",
    )
    rotated = _printed(jira_cli(app, "rotate", added.key).output, "New secret")
    jira_cli(app, "list", "--json")
    jira_cli(app, "remove", added.key)
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    for secret in (added.secret, rotated, "tok-z"):
        assert secret not in logged


def test_site_keys_never_read_as_an_option(make_app: AppFactory) -> None:
    # One random key in 64 would start with "-", and `jira rotate -abc…` is an unknown option.
    from integrations.slack.installation import TokenCipher
    from service.workspaces.jira_sites import add_site as add_stored_site

    app = site_app(make_app)
    workspace_id = make_workspace(app, "acme")
    with runtime_of(app).database.transaction() as session:
        keys = [
            add_stored_site(session, workspace_id, "https://acme.atlassian.net", TokenCipher(ENCRYPTION_KEY))[
                0
            ].key
            for _ in range(300)
        ]
    assert len(set(keys)) == 300
    assert [key for key in keys if not key[0].isalnum()] == []
