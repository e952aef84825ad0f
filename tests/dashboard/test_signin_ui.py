"""The dashboard's sign-in and sign-out: the "Sign in with Slack" link, the signed-in person's name and
the sign-out form (a plain POST with the CSRF token, no script), against the Slack stand-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.models import Member
from service.web.extensions import runtime_of
from tests.conftest import AppFactory
from tests.standins.slack_api import SlackStandIn
from tests.workspaces.signin_support import ACME, install, session_of, sign_in, signin_app, who

ELSEWHERE = "203.0.113.7"  # not this machine: only a session (or a token) lets a browser in
SIGNOUT_FORM = re.compile(
    r'<form class="account" method="post" action="(?P<action>[^"]+)">\s*'
    r'<span class="account-name">(?P<name>[^<]*)</span>\s*'
    r'<input type="hidden" name="csrf_token" value="(?P<csrf>[^"]*)">\s*'
    r'<button type="submit">Sign out</button>\s*</form>'
)
SIGNIN_LINK = '<a class="account" href="/auth/slack/login">Sign in with Slack</a>'


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(rate_per_channel_per_s=None) as standin:
        standin.add_user("U0ALICE", real_name="Alice")
        yield standin


def browser_of(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ELSEWHERE
    return client


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def signed_in_browser(app: Flask, slack: SlackStandIn, *, known_as: str | None = "Alice") -> FlaskClient:
    """Alice, signed in; the workspace knows her by ``known_as`` (or not yet, with None)."""
    install(app, ACME)
    browser = browser_of(app)
    assert sign_in(browser, slack, user_id="U0ALICE").status_code == 303
    signed = who(app, browser)
    assert signed is not None
    if known_as is not None:
        with runtime_of(app).database.transaction() as session:
            session.add(
                Member(
                    workspace_id=signed.workspace_id,
                    slack_team_id=ACME,
                    slack_user_id="U0ALICE",
                    display_name=known_as,
                )
            )
    return browser


def assert_no_inline_script(page: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "an inline script"
    assert not re.search(r"\son[a-z]+\s*=", page), "an inline event handler"
    assert "javascript:" not in page


def test_signed_out_with_sign_in_on_the_page_offers_it(make_app: AppFactory, slack: SlackStandIn) -> None:
    app = signin_app(make_app, slack)
    page = browser_of(app).get("/")

    assert page.status_code == 401
    assert SIGNIN_LINK in text(page)  # in the header
    assert 'href="/auth/slack/login"' in text(page).split("</header>", 1)[1]  # and in the page's text
    assert "Sign out" not in text(page) and not SIGNOUT_FORM.search(text(page))
    assert_no_inline_script(text(page))
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_without_sign_in_the_page_says_how_an_operator_enables_it(make_app: AppFactory) -> None:
    app = make_app("sqlite", env="production")
    page = browser_of(app).get("/teams/orb")

    assert page.status_code == 401
    body = text(page)
    assert "/auth/slack/login" not in body and "Sign in with Slack</a>" not in body
    assert "SPRINTWINS_SLACK_CLIENT_ID" in body and "SPRINTWINS_SLACK_CLIENT_SECRET" in body
    assert "SPRINTWINS_SESSION_SECRET" in body and "sprintwins share create" in body
    assert "Sign out" not in body


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_signed_in_the_header_names_the_person_and_the_form_signs_out(
    make_app: AppFactory, slack: SlackStandIn, backend: str
) -> None:
    app = signin_app(make_app, slack, backend)
    browser = signed_in_browser(app, slack)

    page = browser.get("/")

    assert page.status_code == 200
    form = SIGNOUT_FORM.search(text(page))
    assert form is not None, text(page)[:1500]
    assert form["name"] == "Alice" and form["action"] == "/auth/signout"
    assert form["csrf"] == session_of(browser)["csrf"]  # the session's own token
    assert SIGNIN_LINK not in text(page)
    assert_no_inline_script(text(page))

    # What the browser sends when the button is pressed: the form's fields, nothing else.
    signed_out = browser.post(form["action"], data={"csrf_token": form["csrf"]})

    assert signed_out.status_code == 303
    assert who(app, browser) is None
    after = browser.get("/")
    assert after.status_code == 401 and SIGNIN_LINK in text(after) and "Alice" not in text(after)


def test_sign_out_without_the_forms_token_is_refused(make_app: AppFactory, slack: SlackStandIn) -> None:
    app = signin_app(make_app, slack)
    browser = signed_in_browser(app, slack)

    for fields in ({}, {"csrf_token": "not-the-token"}):
        assert browser.post("/auth/signout", data=fields).status_code == 403
    assert who(app, browser) is not None
    assert SIGNOUT_FORM.search(text(browser.get("/")))


def test_a_person_the_workspace_does_not_know_yet_is_shown_by_slack_id(
    make_app: AppFactory, slack: SlackStandIn
) -> None:
    app = signin_app(make_app, slack)
    browser = signed_in_browser(app, slack, known_as=None)

    form = SIGNOUT_FORM.search(text(browser.get("/")))

    assert form is not None and form["name"] == "U0ALICE"


def test_a_name_with_markup_is_text(make_app: AppFactory, slack: SlackStandIn) -> None:
    app = signin_app(make_app, slack)
    browser = signed_in_browser(app, slack, known_as='<img src=x onerror="alert(1)">')

    page = text(browser.get("/"))

    assert "<img src=x" not in page and "&lt;img src=x" in page
