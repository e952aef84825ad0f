"""Sign in with Slack against the Slack stand-in: apps in each mode, the browser's round trip, the cookie."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from slack_sdk.oauth.installation_store import Installation
from werkzeug.test import TestResponse

from integrations.slack import installation
from service.web.extensions import runtime_of
from service.web.signin import SESSION_ACCESS, SignedIn, signed_in
from tests.standins.slack_api import SlackStandIn

PUBLIC_URL = "https://sprintwins.example.com"
CALLBACK = f"{PUBLIC_URL}/auth/slack/callback"
SESSION_SECRET = "test-session-secret-with-enough-entropy"
SIGNING_SECRET = "test-slack-signing-secret"
BOT_TOKEN = "xoxb-standin-single-bot"
ENCRYPTION_KEY = Fernet.generate_key().decode()
COOKIE = "sprintwins_session"
ACME = "T0ACME"
GLOBEX = "T0GLOBEX"


def signin_app(
    make_app: Callable[..., Flask],
    slack: SlackStandIn,
    backend: str = "sqlite",
    *,
    single: bool = False,
    **overrides: Any,
) -> Flask:
    """An app with Sign in with Slack on: multi-workspace, or ``single`` (one bot token's team)."""
    values: dict[str, Any] = {
        "slack_client_id": slack.client_id,
        "slack_client_secret": slack.client_secret,
        "slack_signing_secret": SIGNING_SECRET,
        "token_encryption_key": ENCRYPTION_KEY,
        "slack_api_url": slack.url + "/api/",
        "slack_oidc_jwks_url": slack.url + "/openid/connect/keys",
        "public_url": PUBLIC_URL,
        "session_secret": SESSION_SECRET,
    }
    if single:
        values["slack_bot_token"] = BOT_TOKEN
    return make_app(backend, **{**values, **overrides})


def install(app: Flask, team_id: str, installer: str = "U0INSTALLER") -> None:
    """Sprint Wins installed in a Slack team (multi-workspace mode), as the OAuth redirect saves it."""
    rt = runtime_of(app)
    store = installation.build_installation_store(rt.settings, rt.database.engine)
    store.save(
        Installation(
            app_id="A0STANDIN",
            enterprise_id=None,
            team_id=team_id,
            bot_token=f"xoxb-{team_id}-standin",
            bot_id=f"B{team_id}",
            bot_user_id=f"U{team_id}BOT",
            bot_scopes=["users:read"],
            user_id=installer,
            installed_at=time.time(),
        )
    )


def start(client: FlaskClient) -> str:
    """``/auth/slack/login``: the authorize URL the browser is sent to."""
    response = client.get("/auth/slack/login")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def sign_in(
    client: FlaskClient, slack: SlackStandIn, *, team_id: str = ACME, user_id: str = "U0ALICE", **consent: Any
) -> TestResponse:
    """The whole round trip: login, consent at (stand-in) Slack, the callback."""
    back = slack.openid.consent(start(client), team_id=team_id, user_id=user_id, **consent)
    assert back.startswith(CALLBACK + "?")
    return client.get(back.removeprefix(PUBLIC_URL))


def session_of(client: FlaskClient) -> dict[str, Any]:
    with client.session_transaction() as session:
        return dict(session)


def _cookie_headers(client: FlaskClient, headers: dict[str, str] | None) -> dict[str, str]:
    cookie = client.get_cookie(COOKIE)
    sent = {"Cookie": f"{COOKIE}={cookie.value}"} if cookie is not None else {}
    return {**sent, **(headers or {})}


def who(app: Flask, client: FlaskClient) -> SignedIn | None:
    """``signed_in()`` for a request that carries the client's cookie."""
    with app.test_request_context("/", headers=_cookie_headers(client, None)):
        return signed_in()


def access(
    app: Flask,
    client: FlaskClient,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
) -> tuple[int, bool] | None:
    """What the API's access layer gets from the registered session reader for such a request."""
    with app.test_request_context(
        "/api/v1/teams", method=method, headers=_cookie_headers(client, headers), data=data
    ):
        reader: Callable[[], tuple[int, bool] | None] = app.extensions[SESSION_ACCESS]
        return reader()
