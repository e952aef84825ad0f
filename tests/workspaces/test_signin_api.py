"""A signed-in browser through the real ``/api/v1`` guard: its workspace's data, and writes only with CSRF."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from service.teams.registry import create_team
from service.web.extensions import runtime_of
from tests.standins.slack_api import SlackStandIn
from tests.workspaces.signin_support import ACME, install, session_of, sign_in, signin_app, who

# Not this machine: outside production loopback alone would be let in, and the session must do it here.
ELSEWHERE = {"REMOTE_ADDR": "203.0.113.7"}


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(rate_per_channel_per_s=None) as standin:
        standin.add_user("U0ALICE", real_name="Alice")
        yield standin


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_signed_in_browser_reads_its_own_workspace_only(
    make_app: Callable[..., Flask], slack: SlackStandIn, backend: str
) -> None:
    app = signin_app(make_app, slack, backend)
    install(app, ACME)
    client = app.test_client()
    client.environ_base.update(ELSEWHERE)
    assert client.get("/api/v1/teams").status_code == 401
    assert sign_in(client, slack, user_id="U0ALICE").status_code == 303
    signed = who(app, client)
    assert signed is not None
    with runtime_of(app).database.transaction() as session:
        create_team(session, "orb", "Orb", workspace_id=signed.workspace_id)
        create_team(session, "payments", "Payments")  # the implicit workspace's

    listed = client.get("/api/v1/teams")

    assert listed.status_code == 200, listed.get_data(as_text=True)
    assert [team["slug"] for team in listed.get_json()["teams"]] == ["orb"]
    csrf = str(session_of(client)["csrf"])
    # A member, even with the CSRF token, only reads.
    assert client.put("/api/v1/teams/orb/rules", json={}, headers={"X-CSRF-Token": csrf}).status_code == 403


def test_an_admin_writes_with_the_csrf_token_and_only_with_it(
    make_app: Callable[..., Flask], slack: SlackStandIn
) -> None:
    slack.add_user("U0OWNER", real_name="Olga", is_owner=True)
    app = signin_app(make_app, slack)
    install(app, ACME)
    client = app.test_client()
    client.environ_base.update(ELSEWHERE)
    assert sign_in(client, slack, user_id="U0OWNER").status_code == 303
    signed = who(app, client)
    assert signed is not None and signed.is_admin
    with runtime_of(app).database.transaction() as session:
        create_team(session, "orb", "Orb", workspace_id=signed.workspace_id)
    csrf = str(session_of(client)["csrf"])

    without = client.put("/api/v1/teams/orb/rules", json={})
    with_token = client.put("/api/v1/teams/orb/rules", json={}, headers={"X-CSRF-Token": csrf})

    assert without.status_code == 403
    assert "X-CSRF-Token" in without.get_json()["error"]
    assert with_token.status_code not in (401, 403), with_token.get_data(as_text=True)
