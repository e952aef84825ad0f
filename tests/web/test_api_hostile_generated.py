"""Generated hostile input to every /api/v1 route: whatever arrives, the answer is never a 5xx."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.test_api_hostile import cursor_of
from tests.web.test_api_hostile import hostile_client as hostile_client

# Each strategy mixes known-bad values with generated ones of the parameter's own kind (dates at the ends
# of the calendar in any zone, digits from any script, ids past every column width), so a few hundred
# examples reach the edges that one request at a time found.

NASTY = [
    "\x00",
    "²",
    "٣",
    "-1",
    "0",
    "1e400",
    "NaN",
    "null",
    "tes",
    "ticket",
    "🎉",
    "\u202e",
    "\x1b[2J",
    "x" * 3000,
    "9" * 30,
    str(2**31),
    str(2**63),
]
HUGE = [0, -1, 1, 2**31 - 1, 2**31, 2**53, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**400]
hostile_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=12))
hostile_int = st.one_of(st.sampled_from(HUGE), st.integers())
digits = st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=12)
moments = st.one_of(
    st.datetimes().map(datetime.isoformat),
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
    st.dates().map(date.isoformat),
)
hostile_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(), hostile_int, hostile_text, moments),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(["spec", "member_id", "a"]), st.text(max_size=6)), inner),
    ),
    max_leaves=8,
)
cursors = st.one_of(
    hostile_text,
    st.tuples(moments, st.one_of(hostile_int, hostile_json)).map(lambda pair: cursor_of(list(pair))),
    hostile_json.map(cursor_of),
)
WIN_QUERY = {
    "since": st.one_of(moments, hostile_text),
    "until": st.one_of(moments, hostile_text),
    "kind": st.one_of(st.sampled_from(["ticket", "badge", "nope"]), hostile_text),
    "member": st.one_of(digits, hostile_int.map(str), hostile_text),
    "status": st.one_of(st.sampled_from(["active", "retracted"]), hostile_text),
    "limit": st.one_of(hostile_int.map(str), digits, hostile_text),
    "cursor": cursors,
    "other": hostile_text,
}
TEAM_ROUTES = [
    ("GET", "/api/v1/teams/{slug}/wins"),
    ("GET", "/api/v1/teams/{slug}/sprints"),
    ("GET", "/api/v1/teams/{slug}/sprints/{sprint}/scope"),
    ("GET", "/api/v1/teams/{slug}/rules"),
    ("PUT", "/api/v1/teams/{slug}/rules"),
    ("GET", "/api/v1/teams/{slug}/challenges"),
    ("POST", "/api/v1/teams/{slug}/challenges"),
    ("GET", "/api/v1/teams/{slug}/streaks"),
]
rule_bodies = st.dictionaries(
    st.sampled_from(["issue_types", "min_points", "streak_thresholds", "comeback_pause_days", "typo"]),
    hostile_json,
    max_size=3,
)
challenge_bodies = st.fixed_dictionaries(
    {"spec": st.one_of(st.sampled_from(["5 wins by fri", "close 3 bugs this week"]), hostile_text)},
    optional={"member_id": st.one_of(hostile_int, hostile_json)},
)
raw_bodies = st.one_of(
    st.one_of(rule_bodies, challenge_bodies, hostile_json).map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=40),
    st.sampled_from([b"[" * 5000, b'{"a":' * 2000, b"", b"Infinity", b'{"spec": "a\\u0000"}']),
)
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_no_5xx(client: FlaskClient, method: str, path: str, **request: Any) -> None:
    response = client.open(path, method=method, **request)
    assert response.status_code < 500, (method, path, request, response.get_data()[:300])
    if response.status_code >= 400:
        assert response.is_json and "error" in response.json


@FUZZ
@given(query=st.fixed_dictionaries({}, optional=WIN_QUERY))
def test_no_win_query_gets_a_5xx(hostile_client: FlaskClient, query: dict[str, str]) -> None:
    assert_no_5xx(hostile_client, "GET", "/api/v1/teams/tes/wins", query_string=query)


@FUZZ
@given(
    route=st.sampled_from(TEAM_ROUTES),
    slug=st.one_of(st.just("tes"), hostile_text),
    sprint=st.one_of(hostile_int.map(str), digits, hostile_text),
)
def test_no_path_gets_a_5xx(
    hostile_client: FlaskClient, route: tuple[str, str], slug: str, sprint: str
) -> None:
    method, template = route
    path = template.format(slug=quote(slug, safe=""), sprint=quote(sprint, safe=""))
    assert_no_5xx(hostile_client, method, path, json={"spec": "5 wins by fri"} if method == "POST" else {})


@FUZZ
@given(
    route=st.sampled_from([("PUT", "/api/v1/teams/tes/rules"), ("POST", "/api/v1/teams/tes/challenges")]),
    body=raw_bodies,
    json_type=st.booleans(),
)
def test_no_body_gets_a_5xx(
    hostile_client: FlaskClient, route: tuple[str, str], body: bytes, json_type: bool
) -> None:
    method, path = route
    content_type = "application/json" if json_type else "text/plain"
    assert_no_5xx(hostile_client, method, path, data=body, content_type=content_type)


def test_the_fuzzed_app_is_seeded(hostile_client: FlaskClient) -> None:
    """The generated requests reach real rows: the team exists and has wins."""
    assert len(hostile_client.get("/api/v1/teams/tes/wins?kind=ticket").json["wins"]) == 2
    assert hostile_client.get("/api/v1/teams").json["teams"][0]["slug"] == "tes"
