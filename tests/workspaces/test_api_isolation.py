"""Two workspaces, each with a team ``orb``: every ``/api/v1`` route and every dashboard page, found in
the app's own URL map, answers workspace A's token with A's data only, and anything of B's is a 404.

The routes are read from ``app.url_map``, so a route added later is checked here without being listed:
it must refuse a request without access, hide the other workspace, and answer for an unknown team
exactly as for the other workspace's team.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from service.models import Member, Sprint, Team, Ticket, Win, sprint_tickets
from service.models.progress import OWNER_MEMBER, OWNER_TEAM, ChallengeRow, StreakStat
from service.web.extensions import runtime_of
from service.workspaces import registry as workspaces
from service.workspaces import tokens
from tests.conftest import AppFactory

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ELSEWHERE = "192.0.2.4"  # not this machine: no access there without a token or a session
A_SPRINT, B_SPRINT, B_ONLY_SPRINT = 501, 502, 503
B_ONLY = "bonly"  # a team only workspace B has
# What names nothing at all, for each path parameter: the answer for B's thing must be the same.
NOTHING = {"slug": "no-such-team", "sprint_id": "999999", "member_id": str(2**31 - 1)}


def client_from(app: Flask, address: str = ELSEWHERE) -> FlaskClient:
    """A test client whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


@dataclass(frozen=True)
class Side:
    """One workspace's rows and tokens, and the word every text of its rows carries."""

    marker: str
    workspace_id: int
    team_id: int
    member_id: int
    read_token: str
    write_token: str

    def bearer(self, *, write: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.write_token if write else self.read_token}"}


@dataclass(frozen=True)
class TwoWorkspaces:
    a: Side
    b: Side


def _side(app: Flask, slug: str, marker: str, sprint_jira_id: int, *, extra_team: bool = False) -> Side:
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    with runtime_of(app).database.transaction() as session:
        workspace = workspaces.create_workspace(session, slug, f"{marker} Inc")
        ws = workspace.id
        team = Team(workspace_id=ws, slug="orb", name=f"{marker} team", timezone="UTC")
        member = Member(workspace_id=ws, jira_account_id=f"acc-{slug}", display_name=f"{marker} person")
        session.add_all([team, member])
        session.flush()
        sprint = Sprint(
            workspace_id=ws,
            team_id=team.id,
            jira_id=sprint_jira_id,
            name=f"{marker} sprint",
            state="active",
            goal=f"{marker} goal",
            start_at=now - timedelta(days=3),
            end_at=now + timedelta(days=7),
        )
        ticket = Ticket(
            workspace_id=ws,
            team_id=team.id,
            issue_key="ORB-1",
            project_key="ORB",
            summary=f"{marker} ticket",
            points=3,
            done=True,
            done_at=now - timedelta(hours=2),
            status_category="done",
            assignee_id=member.id,
        )
        session.add_all([sprint, ticket])
        session.flush()
        session.execute(sprint_tickets.insert().values(sprint_id=sprint.id, ticket_id=ticket.id))
        session.add_all(
            [
                _win(ws, team.id, member.id, f"{marker} win", "ORB-1", now - timedelta(hours=2)),
                StreakStat(team_id=team.id, owner=OWNER_TEAM, member_id=None, current=2, best=4),
                StreakStat(team_id=team.id, owner=OWNER_MEMBER, member_id=member.id, current=2, best=3),
                ChallengeRow(
                    team_id=team.id,
                    owner=OWNER_TEAM,
                    title=f"{marker} challenge",
                    metric="wins",
                    target=5,
                    starts_on=today,
                    ends_on=today + timedelta(days=7),
                    spec="5 wins this week",
                ),
            ]
        )
        if extra_team:
            other = Team(workspace_id=ws, slug=B_ONLY, name=f"{marker} second team", timezone="UTC")
            session.add(other)
            session.flush()
            session.add(_win(ws, other.id, member.id, f"{marker} second win", "BON-1", now))
            session.add(
                Sprint(
                    workspace_id=ws,
                    team_id=other.id,
                    jira_id=B_ONLY_SPRINT,
                    name="bonly sprint",
                    state="active",
                )
            )
        read = tokens.create_token(session, ws, name="read")
        write = tokens.create_token(session, ws, name="write", can_write=True)
        return Side(marker, ws, team.id, member.id, read.secret, write.secret)


def _win(workspace_id: int, team_id: int, member_id: int, title: str, key: str, at: datetime) -> Win:
    return Win(
        workspace_id=workspace_id,
        team_id=team_id,
        kind="ticket",
        title=title,
        member_id=member_id,
        points=3,
        source="jira",
        source_key=key,
        url=f"https://example.atlassian.net/browse/{key}",
        occurred_at=at,
    )


def two_workspaces(app: Flask) -> TwoWorkspaces:
    """Workspaces ``acme`` (A) and ``globex`` (B), each with a team ``orb``; B also has ``bonly``."""
    return TwoWorkspaces(
        a=_side(app, "acme", "Acme", A_SPRINT),
        b=_side(app, "globex", "Globex", B_SPRINT, extra_team=True),
    )


# -- the routes, from the URL map ---------------------------------------------------------------------------

# What a route needs beyond its path to give a real answer (a required query, a valid body); any route
# not named here is still checked, with no query and an empty JSON object as its body.
QUERIES = {"dashboard_export.export_wins": "format=json"}
BODIES: dict[str, dict[str, Any]] = {
    "progress_api.put_rules": {"issue_types": ["Story"]},
    "progress_api.post_challenge": {"spec": "close 5 bugs this week"},
}
WRITES = {"PUT", "POST", "PATCH", "DELETE"}
# Routes outside the access check by design: the API's document, the probes, static files, and the
# edges with a gate of their own (metrics' token, Slack's and Jira's signatures, sign-in itself, and
# ``/share/<token>``, whose token is the access it checks: tests/workspaces/test_share_links_access.py).
# Every other route of the app is checked below, whichever blueprint adds it.
NOT_BEHIND_ACCESS = {
    "openapi.openapi_json",
    "health.healthz",
    "health.readyz",
    "metrics.scrape",
    "static",
    "dashboard.static",
}
OWN_GATE = {"slack", "jira_webhook", "signin", "share"}


@dataclass(frozen=True)
class Call:
    endpoint: str
    method: str
    rule: str

    @property
    def parameters(self) -> list[str]:
        names = re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", self.rule)
        unknown = set(names) - set(NOTHING)
        assert not unknown, f"teach this test the path parameters {sorted(unknown)} of {self.rule}"
        return names

    def path(self, values: dict[str, str]) -> str:
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], self.rule)
        query = QUERIES.get(self.endpoint)
        return f"{path}?{query}" if query else path

    def send(self, client: FlaskClient, path: str, headers: dict[str, str] | None = None) -> Any:
        body = BODIES.get(self.endpoint, {}) if self.method in WRITES else None
        return client.open(path, method=self.method, json=body, headers=headers or {})


def guarded_calls(app: Flask) -> list[Call]:
    """Every route behind the access check: all of /api/v1 but its document, and every page."""
    calls = []
    for rule in app.url_map.iter_rules():
        if not _guarded(rule):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            calls.append(Call(rule.endpoint, method, rule.rule))
    return sorted(calls, key=lambda c: (c.rule, c.method))


def _guarded(rule: Rule) -> bool:
    return rule.endpoint not in NOT_BEHIND_ACCESS and rule.endpoint.split(".")[0] not in OWN_GATE


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def _not_found_body(response: Any, value: str) -> str:
    """The 404's body with the value asked for taken out, to compare the answers for two values."""
    return _text(response).replace(value, "<value>")


def own(side: Side, sprint_id: int) -> dict[str, str]:
    """Path values that name a side's own things: its team ``orb``, its sprint, its person."""
    return {"slug": "orb", "sprint_id": str(sprint_id), "member_id": str(side.member_id)}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def seeded(make_app: AppFactory, backend: str) -> Iterator[tuple[Flask, TwoWorkspaces]]:
    app = make_app(backend)
    yield app, two_workspaces(app)


def test_the_url_map_holds_the_routes_this_file_knows(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    """The enumeration finds the API and the pages (so an empty list cannot pass the tests below)."""
    app, _ = seeded
    endpoints = {c.endpoint for c in guarded_calls(app)}
    assert {"api.list_teams", "api.team_wins", "dashboard.overview", "dashboard.team_page"} <= endpoints
    assert set(QUERIES) | set(BODIES) <= endpoints


def test_every_route_refuses_a_request_without_access(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    app, both = seeded
    client = client_from(app)
    for call in guarded_calls(app):
        for headers in ({}, {"Authorization": "Bearer swk_not-a-token"}):
            response = call.send(client, call.path(own(both.a, A_SPRINT)), headers)
            assert response.status_code == 401, (call, headers)
            assert "Globex" not in _text(response) and "Acme" not in _text(response)


def test_every_route_answers_a_only_with_as_data(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    app, both = seeded
    client = client_from(app)
    for call in guarded_calls(app):
        response = call.send(
            client, call.path(own(both.a, A_SPRINT)), both.a.bearer(write=call.method in WRITES)
        )
        assert response.status_code in (200, 201), (call, response.status_code, _text(response)[:300])
        assert "Globex" not in _text(response), call
    # The same routes give B its own: the reads above were A's, not whatever was there.
    overview = client.get("/", headers=both.b.bearer())
    assert "Globex team" in _text(overview) and "Acme" not in _text(overview)


def test_anything_of_bs_is_404_for_a_exactly_as_what_does_not_exist(
    seeded: tuple[Flask, TwoWorkspaces],
) -> None:
    app, both = seeded
    client = client_from(app)
    # What of B's each path parameter can name: B's own team, B's sprint (under A's slug), B's person.
    of_b_values = {"slug": B_ONLY, "sprint_id": str(B_SPRINT), "member_id": str(both.b.member_id)}
    checked = 0
    for call in guarded_calls(app):
        a_headers = both.a.bearer(write=call.method in WRITES)
        for name in call.parameters:
            b_value, nothing = of_b_values[name], NOTHING[name]
            of_b = call.send(client, call.path({**own(both.a, A_SPRINT), name: b_value}), a_headers)
            missing = call.send(client, call.path({**own(both.a, A_SPRINT), name: nothing}), a_headers)
            assert of_b.status_code == missing.status_code == 404, (call, name, of_b.status_code)
            assert _not_found_body(of_b, b_value) == _not_found_body(missing, nothing), (call, name)
            assert "Globex" not in _text(of_b)
            # And B's own token finds it, so the 404 above is the workspace's doing.
            b_own = {**own(both.b, B_ONLY_SPRINT if name == "slug" else B_SPRINT), name: b_value}
            found = call.send(client, call.path(b_own), both.b.bearer(write=True))
            assert found.status_code in (200, 201), (call, name, found.status_code)
            checked += 1
    assert checked >= 10
    # B's sprint, asked for under A's team of the same slug, is a sprint A does not have.
    scope = client.get(f"/api/v1/teams/orb/sprints/{B_SPRINT}/scope", headers=both.a.bearer())
    assert scope.status_code == 404 and "Globex" not in _text(scope)
    export = client.get(f"/api/v1/teams/orb/export?format=json&sprint={B_SPRINT}", headers=both.a.bearer())
    assert export.status_code == 400 and "Globex" not in _text(export)


def test_as_team_orb_is_as_own(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    app, both = seeded
    client = client_from(app)
    for side, other in ((both.a, both.b), (both.b, both.a)):
        wins = client.get("/api/v1/teams/orb/wins", headers=side.bearer()).json["wins"]
        assert [w["title"] for w in wins] == [f"{side.marker} win"]
        teams = client.get("/api/v1/teams", headers=side.bearer()).json["teams"]
        expected = {f"{side.marker} team"} | ({f"{side.marker} second team"} if side is both.b else set())
        assert {t["name"] for t in teams} == expected
        sprints = client.get("/api/v1/teams/orb/sprints", headers=side.bearer()).json["sprints"]
        assert [s["name"] for s in sprints] == [f"{side.marker} sprint"]
        page = _text(client.get("/teams/orb", headers=side.bearer()))
        assert f"{side.marker} win" in page and other.marker not in page
        exported = client.get("/api/v1/teams/orb/export?format=csv", headers=side.bearer())
        assert f"{side.marker} win" in _text(exported) and other.marker not in _text(exported)


def test_a_member_of_b_is_nobody_in_a(seeded: tuple[Flask, TwoWorkspaces]) -> None:
    app, both = seeded
    client = client_from(app)
    a, b = both.a, both.b

    def wins(member: object) -> list[dict[str, Any]]:
        response = client.get(f"/api/v1/teams/orb/wins?member={member}", headers=a.bearer())
        assert response.status_code == 200
        return list(response.json["wins"])

    assert [w["title"] for w in wins(a.member_id)] == ["Acme win"]
    assert wins(b.member_id) == wins(2**31 - 1) == []  # B's person is as unknown as an id nobody has
    assert wins("acc-globex") == wins("acc-nobody") == []
    person = _text(client.get(f"/teams/orb?person={b.member_id}", headers=a.bearer()))
    assert "Globex" not in person and "Acme win" not in person  # the feed is empty, as for nobody

    def challenge(member_id: int) -> Any:
        body = {"spec": "close 5 bugs this week", "member_id": member_id}
        return client.post("/api/v1/teams/orb/challenges", json=body, headers=a.bearer(write=True))

    of_b, nobody = challenge(b.member_id), challenge(2**31 - 1)
    assert of_b.status_code == nobody.status_code == 400
    assert of_b.json["field"] == "member_id"
    assert of_b.json["error"].replace(str(b.member_id), "<id>") == nobody.json["error"].replace(
        str(2**31 - 1), "<id>"
    )
    assert challenge(a.member_id).status_code == 201


def test_reads_of_an_unknown_team_and_of_bs_team_give_the_same_json(
    seeded: tuple[Flask, TwoWorkspaces],
) -> None:
    """The exact bodies, once, for the record: nothing in them tells that B has a team ``bonly``."""
    app, both = seeded
    client = client_from(app)
    assert client.get(f"/api/v1/teams/{B_ONLY}/wins", headers=both.a.bearer()).json == {
        "error": f"no team with slug {B_ONLY!r}",
        "status": 404,
    }
    assert client.get(f"/api/v1/teams/{B_ONLY}/rules", headers=both.a.bearer()).json == {
        "error": f"no team with slug {B_ONLY!r}",
        "status": 404,
    }
