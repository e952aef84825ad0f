"""Who gets into ``/api/v1`` and the dashboard, and in which workspace: API tokens, the legacy key, a
signed-in session (through the registry sign-in fills), and this machine outside production."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from service.models import DEFAULT_WORKSPACE_ID, ApiToken, Team
from service.web.access import SESSION_ACCESS
from service.web.extensions import runtime_of
from service.workspaces import tokens
from tests.conftest import AppFactory
from tests.workspaces.test_api_isolation import BACKENDS, TwoWorkspaces, client_from, two_workspaces

RULES = {"issue_types": ["bug"]}


def _stored_rules(app: Flask, workspace_id: int, slug: str = "orb") -> dict[str, Any]:
    with runtime_of(app).database.sessions() as session:
        team = session.scalars(select(Team).where(Team.workspace_id == workspace_id, Team.slug == slug)).one()
        return dict(team.rules or {})


def _default_team(app: Flask, slug: str = "home") -> None:
    with runtime_of(app).database.transaction() as session:
        session.add(Team(workspace_id=DEFAULT_WORKSPACE_ID, slug=slug, name="Home team", timezone="UTC"))


@pytest.fixture(params=BACKENDS)
def seeded(request: pytest.FixtureRequest, make_app: AppFactory) -> tuple[Flask, TwoWorkspaces]:
    app = make_app(request.param)
    return app, two_workspaces(app)


def test_without_a_token_or_with_a_wrong_one_it_is_401(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    app, both = seeded
    client = client_from(app)
    for headers in (
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer swk_wrong"},
        {"Authorization": "Bearer " + both.a.read_token[:-1]},
        {"Authorization": both.a.read_token},  # no scheme
        {"Authorization": "Basic " + both.a.read_token},
        {"Authorization": "Bearer " + "x" * 10_000},
    ):
        response = client.get("/api/v1/teams", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "token" in response.json["error"]
    assert client.get("/api/v1/teams", headers=both.a.bearer()).status_code == 200


def test_a_revoked_token_is_401_at_once(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    app, both = seeded
    client = client_from(app)
    assert client.get("/api/v1/teams/orb/wins", headers=both.a.bearer()).status_code == 200
    with runtime_of(app).database.transaction() as session:
        token_id = session.scalars(
            select(ApiToken.id).where(ApiToken.token_hash == tokens.token_hash(both.a.read_token))
        ).one()
        tokens.revoke_token(session, token_id)
    refused = client.get("/api/v1/teams/orb/wins", headers=both.a.bearer())
    assert refused.status_code == 401 and refused.json["error"] == "the API token is unknown or revoked"
    assert client.get("/teams/orb", headers=both.a.bearer()).status_code == 401  # the pages too
    assert client.get("/api/v1/teams/orb/wins", headers=both.b.bearer()).status_code == 200


def test_a_read_only_token_may_not_write(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    app, both = seeded
    client = client_from(app)
    put = client.put("/api/v1/teams/orb/rules", json=RULES, headers=both.a.bearer())
    assert put.status_code == 403 and put.json["needs"] == "read-write"
    assert "PUT needs read-write access" in put.json["error"]
    post = client.post(
        "/api/v1/teams/orb/challenges", json={"spec": "5 wins by fri"}, headers=both.a.bearer()
    )
    assert post.status_code == 403 and post.json["needs"] == "read-write"
    # Refused before the body is read: a bad body from a read-only token is still the 403.
    assert client.put("/api/v1/teams/orb/rules", data=b"[", headers=both.a.bearer()).status_code == 403
    assert _stored_rules(app, both.a.workspace_id) == {}
    written = client.put("/api/v1/teams/orb/rules", json=RULES, headers=both.a.bearer(write=True))
    assert written.status_code == 200 and written.json["stored"] == RULES
    assert _stored_rules(app, both.a.workspace_id) == RULES
    assert _stored_rules(app, both.b.workspace_id) == {}  # B's team of the same slug is untouched


def test_another_workspaces_token_finds_nothing_of_this_one(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    app, both = seeded
    _default_team(app)
    client = client_from(app)
    for path in ("/api/v1/teams/home/wins", "/api/v1/teams/home/rules", "/teams/home"):
        assert client.get(path, headers=both.a.bearer()).status_code == 404, path
    listed = client.get("/api/v1/teams", headers=both.a.bearer()).json["teams"]
    assert [t["slug"] for t in listed] == ["orb"]
    put = client.put("/api/v1/teams/home/rules", json=RULES, headers=both.b.bearer(write=True))
    assert put.status_code == 404
    assert _stored_rules(app, DEFAULT_WORKSPACE_ID, "home") == {}


def test_last_used_is_written_at_most_once_a_minute(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    app, both = seeded
    client = client_from(app)
    digest = tokens.token_hash(both.a.read_token)

    def last_used() -> Any:
        with runtime_of(app).database.sessions() as session:
            return session.scalars(select(ApiToken.last_used_at).where(ApiToken.token_hash == digest)).one()

    assert last_used() is None
    client.get("/api/v1/teams", headers=both.a.bearer())
    first = last_used()
    assert first is not None
    for _ in range(3):
        client.get("/api/v1/teams", headers=both.a.bearer())
    assert last_used() == first  # reads within the minute wrote nothing
    earlier = first - timedelta(minutes=2)
    with runtime_of(app).database.transaction() as session:
        session.execute(update(ApiToken).where(ApiToken.token_hash == digest).values(last_used_at=earlier))
    client.get("/api/v1/teams", headers=both.a.bearer())
    assert last_used() > earlier


# -- production, this machine, the legacy key --------------------------------------------------------


def test_in_production_nothing_gets_in_without_a_token_even_from_this_machine(make_app: AppFactory) -> None:
    app = make_app("sqlite", env="production")
    both = two_workspaces(app)
    for client in (app.test_client(), client_from(app, "::1")):
        for path in ("/api/v1/teams", "/api/v1/teams/orb/wins", "/api/v1/teams/orb/export?format=csv"):
            assert client.get(path).status_code == 401, path
        assert client.put("/api/v1/teams/orb/rules", json=RULES).status_code == 401
        refused = client.get("/")
        assert refused.status_code == 401 and "Sign-in required" in refused.get_data(as_text=True)
        assert client.get("/teams/orb").status_code == 401
        # Public: the document and the probes.
        assert client.get("/api/v1/openapi.json").status_code == 200
        assert client.get("/healthz").status_code == 200
        # A token opens its own workspace.
        assert client.get("/api/v1/teams/orb/wins", headers=both.a.bearer()).json["wins"][0]["title"] == (
            "Acme win"
        )
        assert "Acme team" in client.get("/", headers=both.a.bearer()).get_data(as_text=True)


def test_the_legacy_key_is_the_default_workspaces_only(make_app: AppFactory) -> None:
    app = make_app("sqlite", env="production", api_token="legacy-key")
    two_workspaces(app)
    _default_team(app)
    client = app.test_client()
    legacy = {"Authorization": "Bearer legacy-key"}
    assert [t["slug"] for t in client.get("/api/v1/teams", headers=legacy).json["teams"]] == ["home"]
    assert client.get("/api/v1/teams/orb/wins", headers=legacy).status_code == 404
    assert client.put("/api/v1/teams/home/rules", json=RULES, headers=legacy).status_code == 200
    assert client.get("/api/v1/teams").status_code == 401


def test_outside_production_this_machine_acts_in_the_default_workspace(make_app: AppFactory) -> None:
    app = make_app("sqlite")
    two_workspaces(app)
    _default_team(app)
    for address in ("127.0.0.1", "::1"):
        client = client_from(app, address)
        assert [t["slug"] for t in client.get("/api/v1/teams").json["teams"]] == ["home"]
        assert client.get("/api/v1/teams/orb/wins").status_code == 404  # the other workspaces' teams
        assert client.put("/api/v1/teams/home/rules", json=RULES).status_code == 200  # and it may write
        assert client.get("/teams/home").status_code == 200
        # A token that is sent is checked, even from here: a wrong one is never quietly ignored.
        assert client.get("/api/v1/teams", headers={"Authorization": "Bearer swk_wrong"}).status_code == 401
    elsewhere = client_from(app)
    assert elsewhere.get("/api/v1/teams").status_code == 401
    assert elsewhere.get("/").status_code == 401


# -- a signed-in session, through the registry sign-in fills ------------------------------------------


def _signed_in(app: Flask, reader: Callable[[], tuple[int, bool] | None]) -> None:
    app.extensions[SESSION_ACCESS] = reader


@pytest.mark.parametrize("env", ["test", "production"])
def test_a_signed_in_session_reads_its_workspace_and_writes_only_when_allowed(
    make_app: AppFactory, env: str
) -> None:
    app = make_app("sqlite", env=env)
    both = two_workspaces(app)
    client = client_from(app)
    _signed_in(app, lambda: (both.b.workspace_id, False))
    assert {t["name"] for t in client.get("/api/v1/teams").json["teams"]} == {
        "Globex team",
        "Globex second team",
    }
    assert "Globex team" in client.get("/").get_data(as_text=True)
    refused = client.put("/api/v1/teams/orb/rules", json=RULES)
    assert refused.status_code == 403 and "session" in refused.json["error"]
    _signed_in(app, lambda: (both.b.workspace_id, True))  # an admin, with the page's CSRF token
    assert client.put("/api/v1/teams/orb/rules", json=RULES).status_code == 200
    assert _stored_rules(app, both.b.workspace_id) == RULES and _stored_rules(app, both.a.workspace_id) == {}
    # A token sent along wins over the session: it is what the client chose to act as.
    assert {t["name"] for t in client.get("/api/v1/teams", headers=both.a.bearer()).json["teams"]} == {
        "Acme team"
    }
    _signed_in(app, lambda: None)  # not signed in
    assert client.get("/api/v1/teams").status_code == 401
