"""Hostile input to every /api/v1 route: a bad value is a 4xx naming its field, an outage a 503."""

from __future__ import annotations

import base64
import json
import socket
from typing import Any

import pytest
from flask.testing import FlaskClient

from jobs.progress import update_progress
from service.app import create_app
from service.settings import Settings
from tests.conftest import AppFactory
from tests.progress.conftest import team_ids
from tests.web.test_api import seeded

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def closed_port() -> int:
    """A local port nothing listens on: the OS handed it out, and we closed it again."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(params=BACKENDS)
def hostile_client(request: pytest.FixtureRequest, make_app: AppFactory) -> FlaskClient:
    return seeded(make_app(request.param), 2)


# -- the reported cases, one request each ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=0001-01-01T00:00:00%2B14:00", "since"),
        ("until=9999-12-31T23:59:59-14:00", "until"),
        ("since=2026-11-01%00", "since"),
        (f"cursor={cursor_of(['2026-11-01T10:00:00', 5])}", "cursor"),  # a date without a time zone
        (f"cursor={cursor_of(['0001-01-01T00:00:00+14:00', 5])}", "cursor"),
        (f"cursor={cursor_of(['2026-11-01T10:00:00+00:00', 2**63])}", "cursor"),
        (f"cursor={cursor_of(['2026-11-01T10:00:00+00:00', 1.5])}", "cursor"),
        (f"cursor={cursor_of(['2026-11-01T10:00:00+00:00', True])}", "cursor"),
        (f"cursor={cursor_of({'a': 1, 'b': 2})}", "cursor"),
        (f"cursor={cursor_of([[[[]]]])}", "cursor"),
        (f"cursor={base64.urlsafe_b64encode(b'[' * 100_000).decode()[:190]}", "cursor"),
        ("cursor=%C3%A9t%C3%A9", "cursor"),
        ("limit=%C2%B2", "limit"),
        ("limit=99999999999999999999999", "limit"),
        ("kind=ticket%00", "kind"),
        ("member=acc%00", "member"),
        ("member=" + "x" * 129, "member"),
    ],
)
def test_bad_query_values_are_400_naming_the_field(
    hostile_client: FlaskClient, query: str, field: str
) -> None:
    response = hostile_client.get(f"/api/v1/teams/tes/wins?{query}")
    assert response.status_code == 400, (query, response.json)
    assert response.json["field"] == field and field in response.json["error"]


@pytest.mark.parametrize("member", ["²", "٣", "99999999999", "2147483648", "9" * 40])
def test_members_that_name_nobody_find_nothing(hostile_client: FlaskClient, member: str) -> None:
    response = hostile_client.get("/api/v1/teams/tes/wins", query_string={"member": member})
    assert response.status_code == 200 and response.json["wins"] == []


def test_a_good_member_id_still_filters(hostile_client: FlaskClient) -> None:
    [some, *_] = hostile_client.get("/api/v1/teams/tes/wins?kind=ticket").json["wins"]
    member_id = some["member"]["id"]
    found = hostile_client.get(f"/api/v1/teams/tes/wins?kind=ticket&member={member_id}").json["wins"]
    assert found and {w["member"]["id"] for w in found} == {member_id}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/teams/tes/sprints/9223372036854775808/scope", "sprint_id"),
        ("/api/v1/teams/tes/sprints/" + "9" * 40 + "/scope", "sprint_id"),
        ("/api/v1/teams/%00/wins", "slug"),
        ("/api/v1/teams/%00/sprints", "slug"),
        ("/api/v1/teams/te%00s/rules", "slug"),
        ("/api/v1/teams/%1B%5B2J/streaks", "slug"),
        ("/api/v1/teams/%00/challenges", "slug"),
        ("/api/v1/teams/%00/sprints/1/scope", "slug"),
        ("/api/v1/teams/" + "x" * 65 + "/wins", "slug"),
    ],
)
def test_bad_path_values_are_400_naming_the_field(hostile_client: FlaskClient, path: str, field: str) -> None:
    response = hostile_client.get(path)
    assert response.status_code == 400, (path, response.json)
    assert response.json["field"] == field


def test_the_largest_sprint_id_is_simply_not_found(hostile_client: FlaskClient) -> None:
    response = hostile_client.get(f"/api/v1/teams/tes/sprints/{2**63 - 1}/scope")
    assert response.status_code == 404 and str(2**63 - 1) in response.json["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"spec": "5 wins by fri", "member_id": 2147483648}, "member_id"),
        ({"spec": "5 wins by fri", "member_id": 2**64}, "body.member_id"),
        ({"spec": "5 wins by fri", "member_id": True}, "member_id"),
        ({"spec": "5 wins by fri", "member_id": 1.0}, "member_id"),
        ({"spec": "5 wins by fri", "member_id": 0}, "member_id"),
        ({"spec": "5 wins\x00 by fri"}, "body.spec"),
        ({"spec": "5 wins \x1b[2J by fri"}, "spec"),
        ({"spec": "x" * 1001}, "spec"),
        ({"spec": 5}, "spec"),
        ({"member_id": 3}, "spec"),
        ([], "body"),
    ],
)
def test_bad_challenges_are_400_naming_the_field(hostile_client: FlaskClient, body: Any, field: str) -> None:
    response = hostile_client.post("/api/v1/teams/tes/challenges", json=body)
    assert response.status_code == 400, (body, response.json)
    assert response.json["field"] == field and f'"{field}"' in response.json["error"]
    assert hostile_client.get("/api/v1/teams/tes/challenges").json["challenges"] == []


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("close 99999999999999999999 bugs this week", "spec"),
        ("close -5 bugs this week", "spec"),
        ("close 1e308 bugs this week", "spec"),
        ("one small win a day for 99999999999 days", "spec"),
        ("close 5 bugs in 999999999 days", "spec"),
    ],
)
def test_challenges_with_numbers_out_of_range_are_400_naming_the_field(
    hostile_client: FlaskClient, spec: str, field: str
) -> None:
    response = hostile_client.post("/api/v1/teams/tes/challenges", json={"spec": spec})
    assert response.status_code == 400, (spec, response.json)
    assert response.json["field"] == field and response.json["problems"][0].startswith(f'"{field}"')
    assert hostile_client.get("/api/v1/teams/tes/challenges").json["challenges"] == []


def test_a_challenge_past_the_end_of_the_calendar_is_refused(hostile_client: FlaskClient) -> None:
    """Stored, it would stop every recompute of the team: the day after its end does not exist."""
    refused = hostile_client.post("/api/v1/teams/tes/challenges", json={"spec": "close 5 bugs by 9999-12-31"})
    assert refused.status_code == 400 and refused.json["field"] == "spec", refused.json
    assert hostile_client.get("/api/v1/teams/tes/challenges").json["challenges"] == []
    kept = hostile_client.post(
        "/api/v1/teams/tes/challenges", json={"spec": "one small win a day for 1000 days"}
    )
    assert kept.status_code == 201, kept.json
    ids = team_ids(hostile_client.application)
    assert set(update_progress(ids, "2026-11-30")) == {str(i) for i in ids}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"issue_types": ["bug\\u0000"]}', "body.issue_types[0]"),
        (b'{"issue\\u0000types": ["bug"]}', "body"),
        (b'{"min_points": 1e400}', "body.min_points"),
        (b'{"min_points": NaN}', "body"),
        (b'{"min_points": ' + b"9" * 400 + b"}", "body.min_points"),
        (b'{"streak_thresholds": [18446744073709551616]}', "body.streak_thresholds[0]"),
        (b"[" * 100_000 + b"]" * 100_000, "body"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "body"),  # refused before it is parsed: no path yet
        (b'{"issue_types": ["bug"]', "body"),
        (b"\xff\xfe", "body"),
    ],
)
def test_bad_rules_bodies_are_400_and_change_nothing(
    hostile_client: FlaskClient, raw: bytes, field: str
) -> None:
    response = hostile_client.put(
        "/api/v1/teams/tes/rules", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, (raw[:60], response.json)
    assert response.json["field"] == field
    assert hostile_client.get("/api/v1/teams/tes/rules").json["stored"] == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"comeback_pause_days": 2**50}, "comeback_pause_days"),
        ({"comeback_pause_days": -(2**50)}, "comeback_pause_days"),
        ({"comeback_pause_days": 3661}, "comeback_pause_days"),
        ({"velocity_window": 10**15}, "velocity_window"),
        ({"bug_squasher_bugs": 2**53 - 1}, "bug_squasher_bugs"),
        ({"streak_thresholds": [5, 2**50]}, "streak_thresholds.1"),
        ({"streak_thresholds": [-3]}, "streak_thresholds.0"),
        ({"streak_thresholds": list(range(1, 60))}, "streak_thresholds"),
        ({"min_points": 1e300}, "min_points"),
        ({"min_points": -0.5}, "min_points"),
        ({"issue_types": ["x" * 256]}, "issue_types.0"),
        ({"required_labels": ["l"] * 501}, "required_labels"),
    ],
)
def test_rules_out_of_bounds_are_400_naming_the_field(
    hostile_client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    response = hostile_client.put("/api/v1/teams/tes/rules", json=body)
    assert response.status_code == 400, (body, response.json)
    assert response.json["error"] == "invalid team rules" and response.json["field"] == field
    top = field.split(".")[0]
    assert any(problem.startswith(top) for problem in response.json["problems"]), response.json
    assert hostile_client.get("/api/v1/teams/tes/rules").json["stored"] == {}


def test_rules_at_their_bounds_are_kept(hostile_client: FlaskClient) -> None:
    largest = {"comeback_pause_days": 3660, "velocity_window": 100, "streak_thresholds": [1, 3660]}
    response = hostile_client.put("/api/v1/teams/tes/rules", json={**largest, "min_points": 1_000_000})
    assert response.status_code == 200, response.json
    assert response.json["stored"] == {**largest, "min_points": 1_000_000.0}
    # The recompute the change asks for runs with them: no date or loop overflows at the bounds.
    ids = team_ids(hostile_client.application)
    assert set(update_progress(ids, "2026-11-30")) == {str(i) for i in ids}


def test_a_body_that_is_not_json_is_400(hostile_client: FlaskClient) -> None:
    for method, path in (("PUT", "/api/v1/teams/tes/rules"), ("POST", "/api/v1/teams/tes/challenges")):
        response = hostile_client.open(path, method=method, data="spec=5 wins", content_type="text/plain")
        assert response.status_code == 400 and response.json["field"] == "body"


def test_good_input_still_answers_the_same(hostile_client: FlaskClient) -> None:
    """The checks change errors only: the same filters, cursors and bodies still work."""
    page = hostile_client.get("/api/v1/teams/tes/wins?kind=ticket&limit=1&since=2025-01-01&until=").json
    assert len(page["wins"]) == 1 and page["next_cursor"]
    rest = hostile_client.get(f"/api/v1/teams/tes/wins?kind=ticket&cursor={page['next_cursor']}").json
    assert [w["source_key"] for w in page["wins"] + rest["wins"]] == ["TES-1", "TES-0"]
    created = hostile_client.post("/api/v1/teams/tes/challenges", json={"spec": "5 wins by fri", "x": 1})
    assert created.status_code == 201 and created.json["member"] is None


def test_without_the_token_a_bad_path_is_401_not_400(make_app: AppFactory) -> None:
    client = make_app("sqlite", api_token="t0ken").test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.4"  # not this machine
    assert client.get("/api/v1/teams/%00/wins").status_code == 401
    assert client.get("/api/v1/teams/tes/sprints/99999999999999999999/scope").status_code == 401


# -- outages --------------------------------------------------------------------------------------------


def test_while_the_database_is_down_the_api_answers_503() -> None:
    """A Postgres URL on a port that refuses connections: the app starts, and every route says 503."""
    down = f"postgresql://postgres@127.0.0.1:{closed_port()}/sprintwins"
    app = create_app(Settings.from_env({}, env="test", database_url=down), install_runtime=False)
    client = app.test_client()
    for method, path, body in [
        ("GET", "/api/v1/teams", None),
        ("GET", "/api/v1/teams/tes/wins?kind=ticket", None),
        ("GET", "/api/v1/teams/tes/sprints", None),
        ("GET", "/api/v1/teams/tes/sprints/7/scope", None),
        ("GET", "/api/v1/teams/tes/rules", None),
        ("PUT", "/api/v1/teams/tes/rules", {"issue_types": ["bug"]}),
        ("POST", "/api/v1/teams/tes/challenges", {"spec": "5 wins by fri"}),
        ("GET", "/api/v1/teams/tes/streaks", None),
    ]:
        response = client.open(path, method=method, json=body)
        assert response.status_code == 503, (path, response.json)
        assert response.headers["Retry-After"] == "30"
        assert response.json["error"] == "storage is unavailable; retry later"
    assert client.get("/api/v1/teams/%00/wins").status_code == 400  # bad input is still the caller's


def test_a_change_is_kept_while_the_queue_is_down(make_app: AppFactory) -> None:
    seeded(make_app("sqlite"), 1)
    dead_queue = make_app("sqlite", redis=f"redis://127.0.0.1:{closed_port()}/12")
    response = dead_queue.test_client().post("/api/v1/teams/tes/challenges", json={"spec": "5 wins by fri"})
    assert response.status_code == 201, response.json
    assert len(dead_queue.test_client().get("/api/v1/teams/tes/challenges").json["challenges"]) == 1
