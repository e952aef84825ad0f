"""Sign in with Slack end to end against the stand-in: who gets in, to which workspace, and every refusal."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select, update

from service.models import DEFAULT_WORKSPACE_ID, Workspace
from service.models.slack import slack_oauth_states
from service.slack.roles import add_admin
from service.web.extensions import runtime_of
from tests.standins.slack_api import SlackStandIn
from tests.standins.slack_openid import new_rsa_key
from tests.workspaces.signin_support import (
    ACME,
    BOT_TOKEN,
    CALLBACK,
    GLOBEX,
    PUBLIC_URL,
    install,
    sign_in,
    signin_app,
    start,
    who,
)

AppFactory = Callable[..., Flask]
FORGED = object()  # replaced by a fresh RSA key in the test: none is made at import


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(rate_per_channel_per_s=None) as standin:
        standin.add_user("U0ALICE", real_name="Alice")
        standin.add_user("U0OWNER", real_name="Olga", is_owner=True)
        yield standin


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(make_app: AppFactory, slack: SlackStandIn, backend: str) -> Flask:
    built = signin_app(make_app, slack, backend)
    install(built, ACME)
    return built


def workspaces(app: Flask) -> list[Workspace]:
    with runtime_of(app).database.sessions() as session:
        return list(session.scalars(select(Workspace).order_by(Workspace.id)))


def test_login_redirects_to_slack_with_state_nonce_and_openid_scopes(app: Flask, slack: SlackStandIn) -> None:
    url = start(app.test_client())

    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://slack.com/openid/connect/authorize"
    assert query["client_id"] == slack.client_id
    assert query["redirect_uri"] == CALLBACK
    assert query["scope"].split(",") == ["openid", "email", "profile"]
    assert len(query["nonce"]) >= 32
    with runtime_of(app).database.engine.connect() as connection:
        assert connection.scalars(select(slack_oauth_states.c.state)).all() == [query["state"]]


def test_a_full_sign_in_puts_the_slack_teams_workspace_in_the_session(
    app: Flask, slack: SlackStandIn
) -> None:
    client = app.test_client()

    done = sign_in(client, slack, team_id=ACME, user_id="U0ALICE")

    assert done.status_code == 303 and done.headers["Location"] == "/"
    [exchange] = slack.calls_to("openid.connect.token")
    assert exchange.params["redirect_uri"] == CALLBACK
    acme = next(w for w in workspaces(app) if w.slack_team_id == ACME)
    signed = who(app, client)
    assert signed is not None
    assert (signed.workspace_id, signed.slack_team_id, signed.slack_user_id) == (acme.id, ACME, "U0ALICE")
    assert signed.is_admin is False
    # Signing in again (or from the team's Slack requests) finds the same workspace.
    sign_in(app.test_client(), slack, team_id=ACME, user_id="U0ALICE")
    assert [w.id for w in workspaces(app) if w.slack_team_id == ACME] == [acme.id]


def test_two_slack_teams_sign_in_to_two_workspaces(app: Flask, slack: SlackStandIn) -> None:
    install(app, GLOBEX)
    acme_client, globex_client = app.test_client(), app.test_client()

    sign_in(acme_client, slack, team_id=ACME)
    sign_in(globex_client, slack, team_id=GLOBEX)

    acme, globex = who(app, acme_client), who(app, globex_client)
    assert acme is not None and globex is not None
    assert acme.workspace_id != globex.workspace_id
    assert DEFAULT_WORKSPACE_ID not in (acme.workspace_id, globex.workspace_id)


def test_slack_owners_and_named_admins_sign_in_as_admins(app: Flask, slack: SlackStandIn) -> None:
    owner = app.test_client()
    sign_in(owner, slack, user_id="U0OWNER")
    named = app.test_client()
    with runtime_of(app).database.transaction() as session:
        add_admin(session, ACME, None, "U0ALICE", display_name="Alice", added_by_user_id="U0OWNER")
    sign_in(named, slack, user_id="U0ALICE")

    assert (who(app, owner) or pytest.fail()).is_admin is True
    assert (who(app, named) or pytest.fail()).is_admin is True
    [users_info] = slack.calls_to("users.info")  # the named admin needed no question to Slack
    assert users_info.params["user"] == "U0OWNER"


def test_a_team_that_never_installed_sprint_wins_is_refused(app: Flask, slack: SlackStandIn) -> None:
    client = app.test_client()

    refused = sign_in(client, slack, team_id=GLOBEX)

    assert refused.status_code == 403
    assert "does not use Sprint Wins" in refused.get_data(as_text=True)
    assert who(app, client) is None
    assert all(w.slack_team_id != GLOBEX for w in workspaces(app))


@pytest.mark.parametrize(
    ("consent", "why"),
    [
        ({"sign_with": FORGED}, "signed by a key Slack does not publish"),
        ({"sign_with": b"a-shared-secret-of-32-bytes-or-more!", "algorithm": "HS256"}, "HMAC, not RS256"),
        ({"claims": {"aud": "9999999999.8888888888"}}, "minted for another app"),
        ({"claims": {"iss": "https://slack.example.com"}}, "another issuer"),
        ({"claims": {"nonce": "a-nonce-of-another-sign-in"}}, "another sign-in's nonce"),
        ({"claims": {"nonce": None}}, "no nonce"),
        ({"claims": {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 3900}}, "expired"),
        ({"claims": {"https://slack.com/team_id": None}}, "no Slack team"),
        ({"claims": {"https://slack.com/team_id": "T0<script>"}}, "a malformed team"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_an_id_token_that_fails_a_check_signs_nobody_in(
    app: Flask, slack: SlackStandIn, consent: dict[str, Any], why: str
) -> None:
    client = app.test_client()
    if consent.get("sign_with") is FORGED:
        consent = {**consent, "sign_with": new_rsa_key()}  # same key id, another key

    refused = sign_in(client, slack, **consent)

    assert refused.status_code == 400, why
    assert who(app, client) is None, why
    assert "Slack could not confirm who you are" in refused.get_data(as_text=True)


def test_a_state_is_good_for_one_callback(app: Flask, slack: SlackStandIn) -> None:
    client = app.test_client()
    back = slack.openid.consent(start(client), team_id=ACME, user_id="U0ALICE")
    assert client.get(back.removeprefix(PUBLIC_URL)).status_code == 303
    client.post("/auth/signout", headers={"X-CSRF-Token": _csrf(client)})

    replayed = client.get(back.removeprefix(PUBLIC_URL))

    assert replayed.status_code == 400
    assert who(app, client) is None


def _csrf(client: Any) -> str:
    with client.session_transaction() as session:
        return str(session["csrf"])


def test_an_unknown_state_is_refused_before_slack_is_asked(app: Flask, slack: SlackStandIn) -> None:
    client = app.test_client()
    start(client)

    refused = client.get("/auth/slack/callback?code=openid-123&state=0b8d7c9e-0000-4000-8000-000000000000")

    assert refused.status_code == 400
    assert slack.calls_to("openid.connect.token") == []
    assert who(app, client) is None


def test_an_expired_state_is_refused(app: Flask, slack: SlackStandIn) -> None:
    client = app.test_client()
    back = slack.openid.consent(start(client), team_id=ACME, user_id="U0ALICE")
    with runtime_of(app).database.engine.begin() as connection:
        connection.execute(update(slack_oauth_states).values(expire_at=datetime(2000, 1, 1)))

    refused = client.get(back.removeprefix(PUBLIC_URL))

    assert refused.status_code == 400
    assert who(app, client) is None


def test_a_callback_in_another_browser_is_refused(app: Flask, slack: SlackStandIn) -> None:
    # A sign-in started by someone else must not land in this browser (login CSRF).
    back = slack.openid.consent(start(app.test_client()), team_id=ACME, user_id="U0ALICE")
    victim = app.test_client()
    start(victim)

    refused = victim.get(back.removeprefix(PUBLIC_URL))

    assert refused.status_code == 400
    assert who(app, victim) is None


def test_a_code_slack_does_not_know_is_refused(app: Flask, slack: SlackStandIn) -> None:
    client = app.test_client()
    state = parse_qs(urlsplit(start(client)).query)["state"][0]

    refused = client.get(f"/auth/slack/callback?code=openid-never-issued&state={state}")

    assert refused.status_code == 400
    assert [call.method for call in slack.calls] == ["openid.connect.token"]
    assert who(app, client) is None


def test_slack_down_is_a_503_worth_retrying(app: Flask, slack: SlackStandIn) -> None:
    client = app.test_client()
    slack.fail_next("openid.connect.token", 503, times=3)

    down = sign_in(client, slack)

    assert down.status_code == 503
    assert down.headers["Retry-After"]
    assert who(app, client) is None


def test_cancelling_at_slack_is_a_400_page(app: Flask, slack: SlackStandIn) -> None:
    client = app.test_client()
    state = parse_qs(urlsplit(start(client)).query)["state"][0]

    cancelled = client.get(f"/auth/slack/callback?error=access_denied&state={state}")

    assert cancelled.status_code == 400
    assert "cancelled" in cancelled.get_data(as_text=True)
    assert slack.calls_to("openid.connect.token") == []


# -- single-workspace mode (one bot token) -------------------------------------------------------------------


@pytest.fixture
def single_app(make_app: AppFactory, slack: SlackStandIn, backend: str) -> Flask:
    slack.valid_tokens = {BOT_TOKEN}
    return signin_app(make_app, slack, backend, single=True)


def test_single_workspace_signs_the_bots_team_in_to_the_implicit_workspace(
    single_app: Flask, slack: SlackStandIn
) -> None:
    client = single_app.test_client()

    done = sign_in(client, slack, team_id=slack.workspace.team_id, user_id="U0OWNER")

    assert done.status_code == 303
    signed = who(single_app, client)
    assert signed is not None
    assert (signed.workspace_id, signed.is_admin) == (DEFAULT_WORKSPACE_ID, True)
    assert [w.id for w in workspaces(single_app)] == [DEFAULT_WORKSPACE_ID]


def test_single_workspace_refuses_another_slack_team(single_app: Flask, slack: SlackStandIn) -> None:
    client = single_app.test_client()

    refused = sign_in(client, slack, team_id=GLOBEX, user_id="U0ALICE")

    assert refused.status_code == 403
    assert who(single_app, client) is None
    assert [w.id for w in workspaces(single_app)] == [DEFAULT_WORKSPACE_ID]
