"""Multi-workspace install end to end against the stand-in's oauth.v2.access, and uninstalling."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select

from service.models.slack import CachedSlackRole, slack_bots, slack_installations
from service.slack.roles import remember_slack_role
from service.web.extensions import runtime_of
from service.web.slack.bolt_app import BOT_SCOPES
from tests.standins.slack_api import SlackStandIn
from tests.web.slack.conftest import SIGNING_SECRET, SlackSender, event_payload, eventually

KEY = Fernet.generate_key().decode()
ACME = "T0ACME"


@pytest.fixture
def oauth_app(make_app: Callable[..., Flask], slack_standin: SlackStandIn) -> Flask:
    return make_app(
        "sqlite",
        slack_client_id=slack_standin.client_id,
        slack_client_secret=slack_standin.client_secret,
        slack_signing_secret=SIGNING_SECRET,
        token_encryption_key=KEY,
        slack_api_url=slack_standin.url + "/api/",
        public_url="https://sprintwins.example.com",
    )


def stored(app: Flask, table: Any) -> list[dict[str, Any]]:
    with runtime_of(app).database.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(table))]


def install(app: Flask, standin: SlackStandIn, code: str = "code-acme") -> Any:
    client = app.test_client()
    page = client.get("/slack/install")
    assert page.status_code == 200
    [authorize_url] = re.findall(
        r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page.get_data(as_text=True)
    )
    scopes = ",".join(BOT_SCOPES)
    assert f"scope={scopes}" in authorize_url.replace("%2C", ",").replace("%3A", ":")
    state = re.search(r"state=([^&\"]+)", authorize_url).group(1)  # type: ignore[union-attr]
    standin.add_oauth_code(code, team_id=ACME, team_name="Acme", user_id="U0ADMIN")
    return client, state


def acme_event(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    payload = event_payload(event, event_id, team=ACME)
    payload.pop("enterprise_id", None)
    return payload


def test_install_saves_an_encrypted_token_that_then_works(
    oauth_app: Flask, slack_standin: SlackStandIn
) -> None:
    client, state = install(oauth_app, slack_standin)

    done = client.get(f"/slack/oauth_redirect?code=code-acme&state={state}")

    assert done.status_code == 200, done.get_data(as_text=True)
    [exchange] = slack_standin.calls_to("oauth.v2.access")
    assert exchange.params["redirect_uri"] == "https://sprintwins.example.com/slack/oauth_redirect"
    [row] = stored(oauth_app, slack_installations)
    [bot] = stored(oauth_app, slack_bots)
    token = "xoxb-T0ACME-0001-standinbot"
    assert row["team_id"] == ACME and row["user_id"] == "U0ADMIN"
    for saved in (row["bot_token"], bot["bot_token"]):
        assert token not in saved
        assert Fernet(KEY.encode()).decrypt(saved.encode()).decode() == token

    # The installed token is what acts in that workspace.
    slack = SlackSender(oauth_app.test_client(), slack_standin)
    home = {"type": "app_home_opened", "user": "U0ADMIN", "channel": "D1", "tab": "home", "event_ts": "1.2"}
    assert slack.event(acme_event(home, "EvA1")).status_code == 200
    [publish] = eventually(oauth_app, lambda: slack_standin.calls_to("views.publish"))
    assert publish.headers["Authorization"] == f"Bearer {token}"


def test_the_redirect_refuses_a_state_it_did_not_issue_or_already_used(
    oauth_app: Flask, slack_standin: SlackStandIn
) -> None:
    client, _ = install(oauth_app, slack_standin, code="code-forged")

    forged = client.get("/slack/oauth_redirect?code=code-forged&state=forged-state")
    assert forged.status_code == 400
    assert stored(oauth_app, slack_installations) == []
    assert slack_standin.calls_to("oauth.v2.access") == []

    client, state = install(oauth_app, slack_standin)  # a failed attempt clears the state cookie: start over
    assert client.get(f"/slack/oauth_redirect?code=code-acme&state={state}").status_code == 200
    again = client.get(f"/slack/oauth_redirect?code=code-acme&state={state}")
    assert again.status_code == 400  # the state was consumed


def installed(oauth_app: Flask, slack_standin: SlackStandIn) -> SlackSender:
    client, state = install(oauth_app, slack_standin)
    assert client.get(f"/slack/oauth_redirect?code=code-acme&state={state}").status_code == 200
    return SlackSender(oauth_app.test_client(), slack_standin)


def test_app_uninstalled_removes_every_token_and_the_cached_roles(
    oauth_app: Flask, slack_standin: SlackStandIn
) -> None:
    slack = installed(oauth_app, slack_standin)
    with runtime_of(oauth_app).database.transaction() as session:
        remember_slack_role(
            session, ACME, None, "U0ACMEADMIN", is_admin=True, is_owner=False, now=datetime.now(UTC)
        )
    assert stored(oauth_app, CachedSlackRole.__table__)

    assert slack.event(acme_event({"type": "app_uninstalled", "event_ts": "1.2"}, "EvU1")).status_code == 200

    eventually(
        oauth_app,
        lambda: (
            not stored(oauth_app, slack_installations)
            and not stored(oauth_app, slack_bots)
            and not stored(oauth_app, CachedSlackRole.__table__)
        ),
    )


def test_tokens_revoked_removes_the_bot_token(oauth_app: Flask, slack_standin: SlackStandIn) -> None:
    slack = installed(oauth_app, slack_standin)
    event = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0ACMEBOT"]}, "event_ts": "1.2"}

    assert slack.event(acme_event(event, "EvT1")).status_code == 200

    eventually(oauth_app, lambda: not stored(oauth_app, slack_bots))


def test_oauth_mode_refuses_to_start_without_an_encryption_key(
    make_app: Callable[..., Flask], slack_standin: SlackStandIn
) -> None:
    from service.settings import SettingsError

    with pytest.raises(SettingsError, match="TOKEN_ENCRYPTION_KEY"):
        make_app(
            "sqlite",
            slack_client_id="1.2",
            slack_client_secret="s",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack_standin.url + "/api/",
        )


def test_the_migrated_store_tables_have_every_column_slack_sdk_uses() -> None:
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
    from sqlalchemy import MetaData

    from service.models.slack import slack_oauth_states

    metadata = MetaData()
    store, states = SQLAlchemyInstallationStore, SQLAlchemyOAuthStateStore
    theirs = {
        "slack_installations": store.build_installations_table(metadata, "slack_installations"),
        "slack_bots": store.build_bots_table(metadata, "slack_bots"),
        "slack_oauth_states": states.build_oauth_states_table(metadata, "slack_oauth_states"),
    }
    for ours in (slack_installations, slack_bots, slack_oauth_states):
        assert [c.name for c in ours.columns] == [c.name for c in theirs[ours.name].columns]
        assert {i.name for i in ours.indexes} == {i.name for i in theirs[ours.name].indexes}


def test_the_manifest_asks_for_exactly_the_scopes_the_install_requests() -> None:
    from pathlib import Path

    from service.web.slack.bolt_app import BOT_SCOPES

    text = (Path(__file__).resolve().parents[3] / "slack-app-manifest.yml").read_text()
    # No YAML library in the project: the lists we check are simple "- item  # comment" lines.
    bot_scopes = text.split("    bot:\n", 1)[1].split("settings:", 1)[0]
    listed = [
        line.split("#")[0].strip().removeprefix("- ") for line in bot_scopes.splitlines() if "- " in line
    ]
    assert sorted(listed) == sorted(BOT_SCOPES)
    assert text.count("should_escape: true") == 2
    for needle in ("command: /sprintwins", "command: /win", "callback_id: celebrate_message"):
        assert needle in text
    events = text.split("bot_events:\n", 1)[1].split("interactivity:", 1)[0]
    assert [line.strip("- ").strip() for line in events.splitlines() if line.strip()] == [
        "app_home_opened",
        "app_uninstalled",
        "reaction_added",
        "reaction_removed",
        "tokens_revoked",
    ]
