"""The JSON API reads the tables the pipeline writes."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from service.models import Member, SlackPost, Win
from service.web.extensions import runtime_of
from service.wins.cheers import record_cheer
from tests.conftest import AppFactory, post_jira
from tests.jobs.helpers import issue_payload, run_jobs

T0 = 1_763_900_000_000
RESOLVED = "webhook-issue-updated-resolved.json"


def seeded(app: Flask, n: int = 7) -> FlaskClient:
    client = app.test_client()
    for i in range(n):
        who = ("acc-ada", "Ada") if i % 2 else ("acc-bob", "Bob")
        post_jira(
            client,
            issue_payload(RESOLVED, key=f"TES-{i}", timestamp=T0 + i * 3_600_000, assignee=who, points=i),
            delivery_id=f"d{i}",
        )
    run_jobs(app)
    return client


def test_teams(app: Flask) -> None:
    client = seeded(app, 1)
    assert client.get("/api/v1/teams").json == {
        "teams": [
            {
                "slug": "tes",
                "name": "test1",
                "jira_projects": ["TES"],
                "slack_channel": None,
                "timezone": "UTC",
            }
        ]
    }


def test_wins_newest_first_with_all_fields(app: Flask) -> None:
    body = seeded(app, 3).get("/api/v1/teams/tes/wins?kind=ticket").json
    assert [w["source_key"] for w in body["wins"]] == ["TES-2", "TES-1", "TES-0"]
    first = body["wins"][0]
    assert set(first) == {
        "id",
        "kind",
        "status",
        "title",
        "member",
        "points",
        "source",
        "source_key",
        "url",
        "occurred_at",
        "cheers",
    }
    assert first["member"]["name"] == "Bob" and first["points"] == 2
    assert first["occurred_at"].endswith("Z")
    assert body["next_cursor"] is None


def test_cursor_pages_cover_everything_once(app: Flask) -> None:
    client = seeded(app, 7)
    seen: list[str] = []
    url = "/api/v1/teams/tes/wins?kind=ticket&limit=3"
    while True:
        body = client.get(url).json
        seen += [w["source_key"] for w in body["wins"]]
        if not body["next_cursor"]:
            break
        url = f"/api/v1/teams/tes/wins?kind=ticket&limit=3&cursor={body['next_cursor']}"
    assert seen == [f"TES-{i}" for i in reversed(range(7))]


def test_filters(app: Flask) -> None:
    client = seeded(app, 6)
    by_member = client.get("/api/v1/teams/tes/wins?kind=ticket&member=acc-ada").json["wins"]
    assert {w["member"]["name"] for w in by_member} == {"Ada"} and len(by_member) == 3
    since = client.get("/api/v1/teams/tes/wins?kind=ticket&since=2025-11-23T14:00:00Z").json["wins"]
    assert all(w["occurred_at"] >= "2025-11-23T14:00:00Z" for w in since) and 0 < len(since) < 6
    until = client.get("/api/v1/teams/tes/wins?kind=ticket&until=2025-11-23T14:00:00Z").json["wins"]
    assert len(since) + len(until) == 6
    assert client.get("/api/v1/teams/tes/wins?kind=challenge").json["wins"] == []
    badges = client.get("/api/v1/teams/tes/wins?kind=badge").json["wins"]  # the engine's, after each batch
    assert {w["title"] for w in badges} == {"First win"} and len(badges) == 2
    assert len(client.get("/api/v1/teams/tes/wins?kind=ticket&status=active").json["wins"]) == 6


def test_bad_parameters_are_400_with_the_parameter_named(app: Flask) -> None:
    client = seeded(app, 1)
    for query, word in [
        ("kind=nope", "kind"),
        ("status=gone", "status"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("since=yesterday", "since"),
        ("cursor=@@@", "cursor"),
    ]:
        response = client.get(f"/api/v1/teams/tes/wins?{query}")
        assert response.status_code == 400, query
        assert word in response.json["error"]


def test_unknown_team_is_404_json(client: FlaskClient) -> None:
    for path in ("/api/v1/teams/nope/wins", "/api/v1/teams/nope/sprints"):
        response = client.get(path)
        assert response.status_code == 404 and "nope" in response.json["error"]


def test_opted_out_people_are_counted_but_not_named(app: Flask) -> None:
    client = seeded(app, 2)
    with runtime_of(app).database.transaction() as session:
        for member in session.query(Member).filter(Member.jira_account_id == "acc-ada"):
            member.sharing_opt_out = True
    wins = client.get("/api/v1/teams/tes/wins?kind=ticket").json["wins"]
    assert len(wins) == 2
    assert {"id": None, "name": None, "anonymous": True} in [w["member"] for w in wins]
    assert "Ada" not in str(wins)
    # Nor by the keys of their own streaks and badges, which carry their Jira account id.
    everything = client.get("/api/v1/teams/tes/wins?limit=500").json["wins"]
    assert any(
        w["source"] == "engine" and w["member"] == {"id": None, "name": None, "anonymous": True}
        for w in everything
    )
    assert "acc-ada" not in str(everything)


def test_each_win_counts_the_cheers_on_the_posts_that_celebrated_it(app: Flask) -> None:
    client = seeded(app, 2)
    with runtime_of(app).database.transaction() as session:
        win = session.query(Win).filter(Win.source_key == "TES-1").one()
        session.add(SlackPost(slack_team_id="T1", channel_id="C1", ts="1700000000.000100", win_id=win.id))
    with runtime_of(app).database.transaction() as session:
        for user, emoji in (("U1", "tada"), ("U2", "tada"), ("U1", "heart")):
            record_cheer(session, "T1", "C1", "1700000000.000100", user, emoji, added=True)
    wins = {
        w["source_key"]: w["cheers"] for w in client.get("/api/v1/teams/tes/wins?kind=ticket").json["wins"]
    }
    assert wins == {"TES-1": 3, "TES-0": 0}


def test_the_legacy_api_token_when_configured(make_app: AppFactory) -> None:
    app = make_app("sqlite", api_token="t0ken")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.4"  # not this machine
    assert client.get("/api/v1/teams").status_code == 401
    assert client.get("/api/v1/teams", headers={"Authorization": "Bearer t0ken"}).status_code == 200
    assert client.get("/api/v1/teams", headers={"Authorization": "Bearer t0ke"}).status_code == 401
    assert client.get("/healthz").status_code == 200  # probes need no token
