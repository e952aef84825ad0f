"""A signed-in person sees their own page whole ("only me" wins included); nobody else does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from service.domain.wins import WinKind, WinSource, WinVisibility
from service.models import Member, Win
from service.teams.registry import create_team
from service.web.extensions import runtime_of
from tests.conftest import AppFactory
from tests.standins.slack_api import SlackStandIn
from tests.workspaces.signin_support import ACME, install, sign_in, signin_app, who

ELSEWHERE = {"REMOTE_ADDR": "203.0.113.7"}  # not this machine: only the session lets the browser in
PRIVATE = "Private: finished the on-call runbook"
SHARED = "Shipped the invoice export"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(rate_per_channel_per_s=None) as standin:
        standin.add_user("U0ALICE", real_name="Alice")
        standin.add_user("U0BOB", real_name="Bob")
        yield standin


def _alice_with_a_private_win(app: Flask, workspace_id: int) -> int:
    now = datetime.now(UTC)
    with runtime_of(app).database.transaction() as session:
        team = create_team(session, "orb", "Orb", workspace_id=workspace_id)
        alice = Member(
            workspace_id=workspace_id, slack_team_id=ACME, slack_user_id="U0ALICE", display_name="Alice"
        )
        session.add(alice)
        session.flush()
        for key, title, visibility in (
            ("m-1", SHARED, WinVisibility.TEAM),
            ("m-2", PRIVATE, WinVisibility.PRIVATE),
        ):
            session.add(
                Win(
                    workspace_id=workspace_id,
                    team_id=team.id,
                    kind=WinKind.MANUAL.value,
                    title=title,
                    member_id=alice.id,
                    source=WinSource.SLACK.value,
                    source_key=key,
                    visibility=visibility.value,
                    occurred_at=now - timedelta(hours=1),
                )
            )
        return alice.id


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_only_the_person_signed_in_sees_their_only_me_wins(
    make_app: AppFactory, slack: SlackStandIn, backend: str
) -> None:
    app = signin_app(make_app, slack, backend)
    install(app, ACME)
    alice_browser, bob_browser = app.test_client(), app.test_client()
    for browser, user in ((alice_browser, "U0ALICE"), (bob_browser, "U0BOB")):
        browser.environ_base.update(ELSEWHERE)
        assert sign_in(browser, slack, user_id=user).status_code == 303
    signed = who(app, alice_browser)
    assert signed is not None
    alice = _alice_with_a_private_win(app, signed.workspace_id)

    hers = alice_browser.get(f"/people/{alice}")
    his = bob_browser.get(f"/people/{alice}")

    assert hers.status_code == his.status_code == 200
    assert SHARED in hers.get_data(as_text=True) and PRIVATE in hers.get_data(as_text=True)
    assert SHARED in his.get_data(as_text=True) and PRIVATE not in his.get_data(as_text=True)
