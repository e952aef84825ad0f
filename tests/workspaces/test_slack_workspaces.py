"""Two Slack teams installed through OAuth, each its own workspace with a team ``orb``: every Slack
request, digest and reaction touches only its own workspace's rows, on SQLite and Postgres."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import select
from werkzeug.test import TestResponse

from jobs.digests import run_digest_now
from jobs.slack_events import record_reaction
from service.models import Member, Team, Win, Workspace
from service.models.slack import ChannelLink, Cheer, DigestCheer, SlackPost
from service.teams.registry import create_team
from service.web.extensions import runtime_of
from service.web.slack.routes import SLACK_HANDLER
from tests.jobs.helpers import run_jobs
from tests.standins.slack_api import SlackStandIn
from tests.web.slack.conftest import SlackSender, command_fields, eventually, load_json

KEY = Fernet.generate_key().decode()
A, B = "T0AAA", "T0BBB"
OWNER = {A: "UA0OWNER", B: "UB0OWNER"}
CHANNEL = {A: "CA0WINS", B: "CB0WINS"}
# Both owners answer to the same name: whatever names one must never reach the other's rows.
NAME = "Robin Quill"
EMAIL = {A: "robin@a.example", B: "robin@b.example"}


@dataclass
class TwoWorkspaces:
    """An app in OAuth mode with Slack teams A and B installed, and requests signed as Slack sends them."""

    app: Flask
    standin: SlackStandIn
    sender: SlackSender
    _sent: int = 0

    def command(self, team: str, command: str, text: str, *, user: str | None = None) -> TestResponse:
        self._sent += 1
        fields = command_fields(
            command,
            text,
            team_id=team,
            team_domain=team.lower(),
            channel_id=CHANNEL[team],
            user_id=user or OWNER[team],
            response_url=self.standin.response_url(f"{team}/{self._sent}"),
            trigger_id=f"{team}.{self._sent}.trigger",
        )
        for enterprise_field in ("enterprise_id", "enterprise_name"):  # a plain (non-Grid) install
            fields.pop(enterprise_field, None)
        return self.sender.raw(urlencode(fields), "application/x-www-form-urlencoded")

    def event(self, team: str, event: dict[str, Any]) -> TestResponse:
        self._sent += 1
        payload = copy.deepcopy(load_json("event_callback_reaction_added.json"))
        payload.update(
            event=event, event_id=f"Ev{team}{self._sent}", team_id=team, authed_users=[OWNER[team]]
        )
        payload.pop("enterprise_id", None)
        return self.sender.event(payload)

    def interaction(self, team: str, payload: dict[str, Any], *, user: str | None = None) -> TestResponse:
        body = copy.deepcopy(payload)
        who = user or OWNER[team]
        body["user"] = {"id": who, "username": who.lower(), "name": who.lower(), "team_id": team}
        body["team"] = {"id": team, "domain": team.lower()}
        return self.sender.interaction(body)

    def replies(self, team: str) -> list[str]:
        return [str(r["text"]) for r in self.standin.responses() if r["path"].startswith(f"/hooks/{team}/")]

    def workspace_id(self, team: str) -> int:
        with runtime_of(self.app).database.sessions() as session:
            return session.scalars(select(Workspace.id).where(Workspace.slack_team_id == team)).one()

    def team(self, team: str, slug: str = "orb") -> Team:
        with runtime_of(self.app).database.sessions() as session:
            found = session.scalars(
                select(Team).where(Team.workspace_id == self.workspace_id(team), Team.slug == slug)
            ).one()
            session.expunge(found)
            return found

    def rows(self, model: Any, *where: Any) -> list[Any]:
        with runtime_of(self.app).database.sessions() as session:
            found = list(session.scalars(select(model).where(*where)))
            session.expunge_all()
            return found


def install(app: Flask, standin: SlackStandIn, team: str) -> None:
    """Click through the install flow for ``team``, as its owner would."""
    client = app.test_client()
    page = client.get("/slack/install")
    assert page.status_code == 200
    state = re.search(r"state=([^&\"]+)", page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    standin.add_oauth_code(f"code-{team}", team_id=team, team_name=f"Team {team}", user_id=OWNER[team])
    done = client.get(f"/slack/oauth_redirect?code=code-{team}&state={state}")
    assert done.status_code == 200, done.get_data(as_text=True)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(rate_per_channel_per_s=None) as server:
        for team in (A, B):
            server.add_user(OWNER[team], email=EMAIL[team], name=NAME, real_name=NAME, is_primary_owner=True)
        yield server


@pytest.fixture
def two(make_app: Callable[..., Flask], backend: str, standin: SlackStandIn) -> Iterator[TwoWorkspaces]:
    """Slack teams A and B installed, each with a team ``orb``; A also has ``alpha-only``."""
    yield from two_workspaces(make_app, standin, backend)


def two_workspaces(
    make_app: Callable[..., Flask], standin: SlackStandIn, backend: str, redis: str | None = None
) -> Iterator[TwoWorkspaces]:
    app = make_app(
        backend,
        redis=redis,
        slack_client_id=standin.client_id,
        slack_client_secret=standin.client_secret,
        slack_signing_secret="test-slack-signing-secret",
        token_encryption_key=KEY,
        slack_api_url=standin.url + "/api/",
        public_url="https://sprintwins.example.com",
    )
    both = TwoWorkspaces(app, standin, SlackSender(app.test_client(), standin))
    for team in (A, B):
        install(app, standin, team)
    with runtime_of(app).database.transaction() as session:
        create_team(session, "orb", "Orb A", workspace_id=both.workspace_id(A))
        create_team(session, "alpha-only", "Alpha", workspace_id=both.workspace_id(A))
        create_team(session, "orb", "Orb B", workspace_id=both.workspace_id(B))
    yield both
    handler = app.extensions.get(SLACK_HANDLER)
    if handler is not None:  # listeners run after the ack: let them finish before the next test
        handler.app.listener_runner.listener_executor.shutdown(wait=True)


def connected(two: TwoWorkspaces) -> TwoWorkspaces:
    for team in (A, B):
        assert two.command(team, "/sprintwins", "connect orb").status_code == 200
    run_jobs(two.app)
    return two


def test_each_install_makes_its_own_workspace(two: TwoWorkspaces) -> None:
    with runtime_of(two.app).database.sessions() as session:
        made = {team: ws for team, ws in session.execute(select(Workspace.slack_team_id, Workspace.id))}
    assert set(made) == {None, A, B}  # the implicit workspace, and one per installed Slack team
    assert len(set(made.values())) == 3


def test_connect_links_each_channel_to_its_own_workspaces_orb(two: TwoWorkspaces) -> None:
    connected(two)

    links = {link.channel_id: link.team_id for link in two.rows(ChannelLink)}
    assert links == {CHANNEL[A]: two.team(A).id, CHANNEL[B]: two.team(B).id}
    assert all("Orb A" in reply for reply in two.replies(A))
    assert all("Orb B" in reply for reply in two.replies(B))


def test_the_unknown_team_hint_of_one_workspace_never_names_anothers_teams(two: TwoWorkspaces) -> None:
    for team in (A, B):
        two.command(team, "/sprintwins", "connect alpha-onl")
    run_jobs(two.app)

    [hint_a], [hint_b] = two.replies(A), two.replies(B)
    assert "alpha-only" in hint_a
    assert "alpha-only" not in hint_b and "`orb`" in hint_b
    assert two.rows(ChannelLink) == []


def test_a_win_records_on_its_own_workspaces_team_and_person(two: TwoWorkspaces) -> None:
    connected(two)
    for team in (A, B):
        assert two.command(team, "/win", f"shipped the {team} thing").status_code == 200
    run_jobs(two.app)

    for team in (A, B):
        [win] = two.rows(Win, Win.title == f"shipped the {team} thing")
        [member] = two.rows(Member, Member.id == win.member_id)
        assert win.team_id == two.team(team).id
        assert (member.workspace_id, member.slack_user_id) == (two.workspace_id(team), OWNER[team])


def test_link_finds_the_jira_person_only_in_the_callers_workspace(two: TwoWorkspaces) -> None:
    connected(two)
    with runtime_of(two.app).database.transaction() as session:
        for team in (A, B):  # one Jira account id, two Jira sites: two people
            session.add(
                Member(workspace_id=two.workspace_id(team), jira_account_id="acc-robin", display_name=NAME)
            )

    two.command(A, "/sprintwins", f"link <@{OWNER[A]}> acc-robin")
    run_jobs(two.app)

    jira_people = {m.workspace_id: m for m in two.rows(Member, Member.jira_account_id == "acc-robin")}
    assert jira_people[two.workspace_id(A)].slack_user_id == OWNER[A]
    assert jira_people[two.workspace_id(B)].slack_user_id is None


def test_a_digest_posts_to_its_own_workspaces_channel_with_its_token_only(two: TwoWorkspaces) -> None:
    connected(two)
    with runtime_of(two.app).database.transaction() as session:
        # A link of A's team in B's Slack (left from before workspaces) must never be posted to.
        session.add(
            ChannelLink(
                team_id=two.team(A).id, slack_team_id=B, channel_id="CB0STALE", linked_by_user_id=OWNER[B]
            )
        )
    two.standin.reset()

    outcomes = run_digest_now(two.team(A).id)

    assert [outcome.channel_id for outcome in outcomes] == [CHANNEL[A]]
    posts = two.standin.calls_to("chat.postMessage")
    assert [post.params["channel"] for post in posts] == [CHANNEL[A]]
    assert {post.headers["Authorization"] for post in posts} == {f"Bearer {_bot_token(two, A)}"}


def test_reactions_cheer_only_the_posts_of_their_own_workspace(two: TwoWorkspaces) -> None:
    connected(two)
    two.command(A, "/win", "shipped the A thing")
    run_jobs(two.app)
    [outcome] = run_digest_now(two.team(A).id)
    [post] = two.rows(SlackPost)
    assert outcome.ts == post.ts

    # The same channel id and ts, seen from B's Slack, is not one of our posts there.
    assert record_reaction(B, CHANNEL[A], post.ts, OWNER[B], "tada", True) is None
    item = {"type": "message", "channel": CHANNEL[A], "ts": post.ts}
    event = {"type": "reaction_added", "user": OWNER[A], "item": item, "reaction": "tada", "event_ts": "1.2"}
    assert two.event(A, event).status_code == 200
    eventually(two.app, lambda: two.rows(DigestCheer))

    assert [(cheer.slack_team_id, cheer.user_id) for cheer in two.rows(DigestCheer)] == [(A, OWNER[A])]
    assert {(cheer.slack_team_id, cheer.user_id) for cheer in two.rows(Cheer)} <= {(A, OWNER[A])}


def test_app_home_shows_each_person_only_their_workspaces_wins(two: TwoWorkspaces) -> None:
    connected(two)
    for team in (A, B):
        two.command(team, "/win", f"shipped the {team} thing")
    run_jobs(two.app)
    two.standin.reset()

    for team in (A, B):
        home = {
            "type": "app_home_opened",
            "user": OWNER[team],
            "channel": "D1",
            "tab": "home",
            "event_ts": "1.2",
        }
        assert two.event(team, home).status_code == 200
    eventually(two.app, lambda: len(two.standin.published_views()) == 2)

    views = two.standin.published_views()
    for team, other in ((A, B), (B, A)):
        shown = json.dumps(views[OWNER[team]]["blocks"])
        assert f"shipped the {team} thing" in shown and f"shipped the {other} thing" not in shown
    publishers = {
        call.params["user_id"]: call.headers["Authorization"]
        for call in two.standin.calls_to("views.publish")
    }
    assert publishers == {OWNER[A]: f"Bearer {_bot_token(two, A)}", OWNER[B]: f"Bearer {_bot_token(two, B)}"}


def _bot_token(two: TwoWorkspaces, team: str) -> str:
    """The bot token Slack issued at the team's install (the stand-in numbers them in install order)."""
    serial = 1 if team == A else 2
    return f"xoxb-{team}-{serial:04d}-standinbot"


def test_the_celebrate_shortcut_offers_the_team_of_the_channels_own_workspace(two: TwoWorkspaces) -> None:
    connected(two)
    shortcut = copy.deepcopy(load_json("message_shortcut.json"))
    shortcut.update(callback_id="celebrate_message", channel={"id": CHANNEL[B], "name": "wins"})
    shortcut["message"].update(text="shipped the B thing", user=OWNER[B])

    assert two.interaction(B, shortcut).status_code == 200
    [modal] = eventually(two.app, lambda: two.standin.opened_views())

    shown = json.dumps(modal["blocks"])
    assert "Orb B" in shown and "Orb A" not in shown
    [opener] = two.standin.calls_to("views.open")
    assert opener.headers["Authorization"] == f"Bearer {_bot_token(two, B)}"


def test_an_org_wide_install_makes_the_workspace_of_every_slack_team_it_covers(
    make_app: Callable[..., Flask], standin: SlackStandIn
) -> None:
    app = make_app(
        "sqlite",
        slack_client_id=standin.client_id,
        slack_client_secret=standin.client_secret,
        slack_signing_secret="test-slack-signing-secret",
        token_encryption_key=KEY,
        slack_api_url=standin.url + "/api/",
        public_url="https://sprintwins.example.com",
    )
    standin.org_teams.update({"T0ORG1": "Org East", "T0ORG2": "Org West"})
    handler = app.extensions[SLACK_HANDLER]
    org_install = Installation(
        app_id="A0STANDIN",
        user_id="U0ORGADMIN",
        enterprise_id="E0ORG",
        team_id=None,
        bot_token="xoxb-E0ORG-standinbot",
        bot_id="B0ORG",
        bot_user_id="U0ORGBOT",
        is_enterprise_install=True,
    )

    handler.app.oauth_flow.settings.installation_store.save(org_install)  # as the install flow does
    run_jobs(app)

    with runtime_of(app).database.sessions() as session:
        made = {ws.slack_team_id: ws.slack_enterprise_id for ws in session.scalars(select(Workspace))}
    assert made == {None: None, "T0ORG1": "E0ORG", "T0ORG2": "E0ORG"}
    [listed] = standin.calls_to("auth.teams.list")
    assert listed.headers["Authorization"] == "Bearer xoxb-E0ORG-standinbot"
