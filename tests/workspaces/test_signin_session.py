"""The signed-in session: its cookie, its CSRF token, what the API's access layer reads, sign-out,
the settings it needs, and callbacks with hostile query strings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from service.settings import Settings, SettingsError
from service.web.signin import csrf_ok
from tests.standins.slack_api import SlackStandIn
from tests.workspaces.signin_support import (
    ACME,
    COOKIE,
    access,
    install,
    session_of,
    sign_in,
    signin_app,
    start,
    who,
)

AppFactory = Callable[..., Flask]


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(rate_per_channel_per_s=None) as standin:
        standin.add_user("U0ALICE", real_name="Alice")
        standin.add_user("U0OWNER", real_name="Olga", is_owner=True)
        yield standin


@pytest.fixture
def app(make_app: AppFactory, slack: SlackStandIn) -> Flask:
    built = signin_app(make_app, slack)
    install(built, ACME)
    return built


def signed_in_client(app: Flask, slack: SlackStandIn, user_id: str = "U0OWNER") -> tuple[FlaskClient, str]:
    """A browser signed in as ``user_id``, and its CSRF token."""
    client = app.test_client()
    assert sign_in(client, slack, user_id=user_id).status_code == 303
    return client, str(session_of(client)["csrf"])


def test_the_cookie_is_http_only_lax_and_lasts_twelve_hours(app: Flask, slack: SlackStandIn) -> None:
    client = app.test_client()

    done = sign_in(client, slack)

    [cookie] = [c for c in done.headers.getlist("Set-Cookie") if c.startswith(COOKIE + "=")]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "expires"} <= attributes
    assert "SameSite=Lax" in cookie
    assert "secure" not in attributes  # only in production, where the public URL is https
    stored = session_of(client)
    assert set(stored) == {"signed_in", "csrf", "_permanent"}
    assert set(stored["signed_in"]) == {"workspace", "team", "user", "admin"}  # ids only
    assert app.permanent_session_lifetime.total_seconds() == 12 * 3600


def test_production_cookies_are_secure(make_app: AppFactory, slack: SlackStandIn) -> None:
    app = signin_app(make_app, slack, env="production")
    install(app, ACME)
    client = app.test_client()

    done = sign_in(client, slack)

    [cookie] = [c for c in done.headers.getlist("Set-Cookie") if c.startswith(f"__Host-{COOKIE}=")]
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie


def test_production_refuses_to_start_without_a_session_secret(
    make_app: AppFactory, slack: SlackStandIn
) -> None:
    with pytest.raises(SettingsError, match="SPRINTWINS_SESSION_SECRET is required"):
        signin_app(make_app, slack, env="production", session_secret=None)


@pytest.mark.parametrize("blank", [" ", "\t\n"])
def test_a_blank_session_secret_is_refused(blank: str) -> None:
    with pytest.raises(SettingsError, match="SPRINTWINS_SESSION_SECRET is blank"):
        Settings.from_env({"SPRINTWINS_SESSION_SECRET": blank})


def test_a_cookie_signed_with_another_secret_is_nobody(make_app: AppFactory, slack: SlackStandIn) -> None:
    app = signin_app(make_app, slack)
    install(app, ACME)
    client, _ = signed_in_client(app, slack)
    other = signin_app(make_app, slack, session_secret="another-session-secret-entirely")

    assert who(app, client) is not None
    assert who(other, client) is None


def test_an_admin_with_the_csrf_token_may_write(app: Flask, slack: SlackStandIn) -> None:
    client, token = signed_in_client(app, slack, user_id="U0OWNER")
    workspace_id = (who(app, client) or pytest.fail()).workspace_id

    assert access(app, client) == (workspace_id, False)
    assert access(app, client, method="PUT", headers={"X-CSRF-Token": token}) == (workspace_id, True)
    assert access(app, client, method="POST", data={"csrf_token": token}) == (workspace_id, True)


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": "not-the-token"}, {"X-CSRF-Token": "ünïcode\x00"}],
    ids=["missing", "empty", "wrong", "garbage"],
)
def test_a_write_without_the_right_csrf_token_is_read_only(
    app: Flask, slack: SlackStandIn, headers: dict[str, str]
) -> None:
    client, _ = signed_in_client(app, slack, user_id="U0OWNER")

    with app.test_request_context("/", method="POST", headers=headers):
        assert csrf_ok() is False
    signed = access(app, client, method="POST", headers=headers)
    assert signed is not None and signed[1] is False


def test_another_sessions_csrf_token_does_not_count(app: Flask, slack: SlackStandIn) -> None:
    mine, _ = signed_in_client(app, slack, user_id="U0OWNER")
    _, theirs = signed_in_client(app, slack, user_id="U0OWNER")

    signed = access(app, mine, method="POST", headers={"X-CSRF-Token": theirs})

    assert signed is not None and signed[1] is False


def test_a_member_never_writes_even_with_the_token(app: Flask, slack: SlackStandIn) -> None:
    client, token = signed_in_client(app, slack, user_id="U0ALICE")

    signed = access(app, client, method="POST", headers={"X-CSRF-Token": token})

    assert signed is not None and signed[1] is False


def test_nobody_signed_in_has_no_session_access(app: Flask) -> None:
    client = app.test_client()

    assert access(app, client) is None
    with app.test_request_context("/", method="POST", headers={"X-CSRF-Token": "anything"}):
        assert csrf_ok() is False


def test_pages_get_the_csrf_token_in_a_meta_tag(app: Flask, slack: SlackStandIn) -> None:
    client, token = signed_in_client(app, slack)
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None

    with app.test_request_context("/", headers={"Cookie": f"{COOKIE}={cookie.value}"}):
        signed_page = render_template_string("{{ csrf_meta }}")
    with app.test_request_context("/"):
        anonymous_page = render_template_string("{{ csrf_meta }}")

    assert signed_page == f'<meta name="csrf-token" content="{token}">'
    assert anonymous_page == ""


def test_the_dashboard_carries_the_meta_tag_of_a_signed_in_browser(app: Flask, slack: SlackStandIn) -> None:
    client, token = signed_in_client(app, slack)

    page = client.get("/")

    assert page.status_code == 200
    assert f'<meta name="csrf-token" content="{token}">' in page.get_data(as_text=True)
    assert 'name="csrf-token"' not in app.test_client().get("/").get_data(as_text=True)


def test_sign_out_clears_the_session(app: Flask, slack: SlackStandIn) -> None:
    client, token = signed_in_client(app, slack)

    done = client.post("/auth/signout", headers={"X-CSRF-Token": token})

    assert done.status_code == 303
    assert who(app, client) is None
    assert session_of(client) == {}


def test_sign_out_without_the_csrf_token_is_refused(app: Flask, slack: SlackStandIn) -> None:
    client, _ = signed_in_client(app, slack)

    refused = client.post("/auth/signout")

    assert refused.status_code == 403
    assert who(app, client) is not None


def test_sign_in_answers_a_clear_404_when_it_is_not_configured(app: Flask, make_app: AppFactory) -> None:
    plain = make_app("sqlite").test_client()

    for path in ("/auth/slack/login", "/auth/slack/callback?code=a&state=b"):
        page = plain.get(path)
        assert page.status_code == 404
        assert "SPRINTWINS_SLACK_CLIENT_ID" in page.get_data(as_text=True)


# -- hostile callbacks ---------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_backend_app(request: pytest.FixtureRequest, make_app: AppFactory, slack: SlackStandIn) -> Flask:
    built = signin_app(make_app, slack, str(request.param))
    install(built, ACME)
    return built


HOSTILE = {
    "nothing": "",
    "no state": "code=openid-1",
    "no code": "state={state}",
    "nul in state": "code=openid-1&state=%00{state}",
    "nul in code": "code=openid-%00&state={state}",
    "10 kB state": "code=openid-1&state=" + "a" * 10_000,
    "10 kB code": "code=" + "c" * 10_000 + "&state={state}",
    "two states": "code=openid-1&state={state}&state={state}",
    "not utf-8": "code=%ff%fe&state=%ff{state}",
    "markup": "code=" + quote("<script>alert(1)</script>") + "&state={state}",
    "error and no state": "error=" + "e" * 10_000,
}


@pytest.mark.parametrize("query", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_callbacks_are_4xx_never_5xx(any_backend_app: Flask, slack: SlackStandIn, query: str) -> None:
    client = any_backend_app.test_client()
    state = parse_qs(urlsplit(start(client)).query)["state"][0]

    answer = client.get("/auth/slack/callback?" + query.replace("{state}", state))

    assert 400 <= answer.status_code < 500
    assert "<script>" not in answer.get_data(as_text=True)
    assert who(any_backend_app, client) is None


def test_a_callback_with_no_sign_in_started_is_a_400(any_backend_app: Flask) -> None:
    answer = any_backend_app.test_client().get("/auth/slack/callback?code=x&state=y")

    assert answer.status_code == 400
