"""``GET /share/<token>`` in production, from a browser elsewhere: a live link opens its one team's page
(with the page's live feed and assets) and nothing else; expired, revoked and hostile links do not."""

from __future__ import annotations

import html
import logging
import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from service.models import ShareLink, Team, utcnow
from service.web.extensions import runtime_of
from service.workspaces import share_links
from tests.conftest import AppFactory
from tests.workspaces.test_api_isolation import (
    A_SPRINT,
    B_ONLY,
    BACKENDS,
    TwoWorkspaces,
    client_from,
    guarded_calls,
    own,
    two_workspaces,
)

COOKIE = "__Host-sprintwins_session"  # production's session cookie (service/web/signin.py)
SHARED_ENDPOINTS = {"dashboard.team_page", "dashboard.live_wins"}


@pytest.fixture(params=BACKENDS)
def seeded(request: pytest.FixtureRequest, make_app: AppFactory) -> tuple[Flask, TwoWorkspaces]:
    app = make_app(request.param, env="production")
    return app, two_workspaces(app)


def make_link(app: Flask, workspace_id: int, slug: str = "orb", **options: Any) -> share_links.IssuedLink:
    with runtime_of(app).database.transaction() as session:
        return share_links.create_link(session, workspace_id, slug, **options)


def opened(app: Flask, token: str) -> FlaskClient:
    """A browser elsewhere that opened the link: it is sent on to the team's page, with a cookie."""
    browser = client_from(app)
    response = browser.get(f"/share/{token}")
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert browser.get_cookie(COOKIE) is not None
    return browser


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_a_link_opens_its_team_page_its_live_feed_and_its_assets(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    app, both = seeded
    link = make_link(app, both.a.workspace_id, name="office tv")
    browser = client_from(app)
    assert browser.get("/teams/orb").status_code == 401  # nothing before the link

    response = browser.get(f"/share/{link.token}")

    assert response.status_code == 303 and response.headers["Location"].endswith("/teams/orb")
    assert response.headers["Referrer-Policy"] == "no-referrer"  # the address holds the token
    assert response.headers["Cache-Control"] == "no-store"
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE + "=")]
    assert "Secure" in cookie and "HttpOnly" in cookie and link.token not in cookie
    page = browser.get("/teams/orb")
    assert page.status_code == 200 and "Acme win" in text(page) and "Globex" not in text(page)
    assert browser.get("/teams/orb?kind=ticket").status_code == 200  # the page's own filters
    live = browser.get("/teams/orb/live?after=0")
    assert live.status_code == 200 and "Globex" not in text(live)
    for asset in ("/assets/dashboard.css", "/assets/vendor/htmx.min.js"):
        served = browser.get(asset)
        served.close()  # a static file's response holds the file open until closed
        assert served.status_code == 200, asset
    with runtime_of(app).database.sessions() as session:
        row = session.get(ShareLink, link.id)
        assert row is not None and row.last_used_at is not None


def test_a_link_opens_nothing_else(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    """Every other route of the app (found in its URL map) is as for a browser without access."""
    app, both = seeded
    browser = opened(app, make_link(app, both.a.workspace_id).token)
    checked = 0
    for call in guarded_calls(app):
        if call.endpoint in SHARED_ENDPOINTS:
            continue
        response = call.send(browser, call.path(own(both.a, A_SPRINT)))
        assert response.status_code == 401, (call, response.status_code)
        assert "Acme" not in text(response) and "Globex" not in text(response), call
        checked += 1
    assert checked >= 10
    assert browser.get("/").status_code == 401
    assert browser.get(f"/people/{both.a.member_id}").status_code == 401
    assert browser.get(f"/teams/orb/sprints/{A_SPRINT}").status_code == 401
    assert browser.put("/api/v1/teams/orb/rules", json={"issue_types": ["Bug"]}).status_code == 401
    assert browser.get("/api/v1/teams/orb/export?format=csv").status_code == 401
    assert browser.get("/teams/orb").status_code == 200  # and its own page still opens


def test_another_team_is_no_such_team(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    """B's link to ``orb``: B's other team ``bonly`` answers exactly as a team nobody has."""
    app, both = seeded
    browser = opened(app, make_link(app, both.b.workspace_id).token)
    assert "Globex win" in text(browser.get("/teams/orb"))
    for path in ("/teams/{}", "/teams/{}/live?after=0"):
        other = browser.get(path.format(B_ONLY))
        nobody = browser.get(path.format("no-such-team"))
        assert other.status_code == nobody.status_code == 404, path
        assert text(other).replace(B_ONLY, "<slug>") == text(nobody).replace("no-such-team", "<slug>")
        assert "Globex second win" not in text(other) and "Acme" not in text(other)


def test_a_link_follows_its_team_through_a_rename(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    app, both = seeded
    link = make_link(app, both.a.workspace_id)
    browser = opened(app, link.token)
    with runtime_of(app).database.transaction() as session:
        session.execute(update(Team).where(Team.id == both.a.team_id).values(slug="orbit"))
    assert browser.get("/teams/orb").status_code == 404
    assert browser.get("/teams/orbit").status_code == 200
    assert client_from(app).get(f"/share/{link.token}").headers["Location"].endswith("/teams/orbit")


def test_revoking_ends_access_for_a_browser_that_opened_it(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    app, both = seeded
    link = make_link(app, both.a.workspace_id)
    kept = make_link(app, both.b.workspace_id)
    browser, other_screen = opened(app, link.token), opened(app, kept.token)
    assert browser.get("/teams/orb").status_code == 200

    with runtime_of(app).database.transaction() as session:
        share_links.revoke_link(session, link.id)

    assert browser.get("/teams/orb").status_code == 401
    assert browser.get("/teams/orb/live?after=0").status_code == 401
    assert "Acme" not in text(browser.get("/teams/orb"))
    assert client_from(app).get(f"/share/{link.token}").status_code == 404
    assert "Globex win" in text(other_screen.get("/teams/orb"))  # only that link ended


def test_an_expired_link_is_refused_and_ends_for_a_browser_that_opened_it(
    seeded: tuple[Flask, TwoWorkspaces],
) -> None:
    app, both = seeded
    long_ago = make_link(app, both.a.workspace_id, now=utcnow() - timedelta(days=31))
    assert client_from(app).get(f"/share/{long_ago.token}").status_code == 404

    link = make_link(app, both.a.workspace_id, lifetime=timedelta(hours=1))
    browser = opened(app, link.token)
    assert browser.get("/teams/orb").status_code == 200
    with runtime_of(app).database.transaction() as session:  # the hour has passed
        past = utcnow() - timedelta(seconds=1)
        session.execute(update(ShareLink).where(ShareLink.id == link.id).values(expires_at=past))
    assert browser.get("/teams/orb").status_code == 401
    assert client_from(app).get(f"/share/{link.token}").status_code == 404


@pytest.mark.parametrize(
    "hostile",
    [
        "%00",
        "a%00" + "b" * 41,
        "x" * 10_000,
        quote("ünïcødé") * 8,
        quote("<script>alert(1)</script>", safe=""),
        "..%2F..%2Fetc%2Fpasswd",
        "%F0%9F%8E%89" * 20,
        "%FF%FE",
        "'%20OR%201=1--",
    ],
)
def test_hostile_tokens_are_404(seeded: tuple[Flask, TwoWorkspaces], hostile: str) -> None:
    app, both = seeded
    make_link(app, both.a.workspace_id)
    browser = client_from(app)
    response = browser.get(f"/share/{hostile}")
    assert response.status_code == 404, response.status_code
    assert browser.get_cookie(COOKIE) is None
    assert "<script>alert" not in text(response)
    assert browser.get("/teams/orb").status_code == 401


def test_a_near_miss_of_a_real_token_is_404(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    app, both = seeded
    token = make_link(app, both.a.workspace_id).token
    flipped = ("A" if token[0] != "A" else "B") + token[1:]
    for near in (token[:-1], token + "x", flipped, token.upper(), share_links.token_hash(token)):
        assert client_from(app).get(f"/share/{near}").status_code == 404, near
    with runtime_of(app).database.sessions() as session:
        assert session.scalars(select(ShareLink.last_used_at)).one() is None  # nothing matched it


def test_a_links_token_never_reaches_the_logs(make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = make_app("sqlite", env="production", log_requests=True)
    two = two_workspaces(app)
    link = make_link(app, two.a.workspace_id)
    opened(app, link.token).get(f"/share/{link.token}x")  # a near miss too

    logged = caplog.text + "".join(repr(record.args) + repr(record.__dict__) for record in caplog.records)
    assert link.token not in logged
    assert "/share/<token>" in logged  # the request line names the route instead


def test_every_link_on_a_shared_page_opens_for_the_wall_display(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    """The shared page links only to what the link opens: no overview, retros, people or exports that
    would answer "sign in" on a screen nobody signs in to; its own filters and pages still link."""
    app, both = seeded
    browser = opened(app, make_link(app, both.a.workspace_id).token)
    page = text(browser.get("/teams/orb"))
    same_site = sorted(set(re.findall(r'href="(/[^"]*)"', page)))
    assert any(href.startswith("/teams/orb?") for href in same_site), same_site  # the feed's filters
    for href in same_site:
        followed = browser.get(html.unescape(href))
        followed.close()
        assert followed.status_code == 200, href
    assert "Sign in with Slack" not in page and 'action="/auth/' not in page

    signed_out = client_from(app)  # the same page for a token holder still links everywhere
    token = both.a.read_token
    full = text(signed_out.get("/teams/orb", headers={"Authorization": f"Bearer {token}"}))
    assert 'href="/"' in full and "/api/v1/teams/orb/export" in full
