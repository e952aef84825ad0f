"""A person's page lists what the API lists for them, and exists only for people who share their wins."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from service.models import Member, Win
from service.web.extensions import runtime_of
from service.workspaces.registry import create_workspace
from tests.conftest import AppFactory
from tests.dashboard.conftest import api_wins, cells, feed_ids, iterate_pages
from tests.dashboard.seed import HOSTILE_TITLE, OPTED_OUT_NAME, PRIVATE_TITLE, seed

COUNTED = {"ticket", "manual", "kudos"}
EARNED = {"streak", "badge", "milestone"}


def member_id(app: Flask, account: str) -> int:
    with runtime_of(app).database.sessions() as session:
        return int(session.scalars(select(Member.id).where(Member.jira_account_id == account)).one())


def utc_day(stamp: str) -> str:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).date().isoformat()


def test_person_page_lists_the_apis_wins_for_them_page_by_page(
    seeded_app: Flask, seeded: FlaskClient
) -> None:
    bob = member_id(seeded_app, "acc-bob")
    theirs = api_wins(seeded, f"member={bob}")
    assert theirs and all(w["member"]["id"] == bob for w in theirs)
    paged = [i for html in iterate_pages(seeded, f"/people/{bob}?limit=3") for i in feed_ids(html)]
    assert paged == [w["id"] for w in theirs]
    html = seeded.get(f"/people/{bob}").get_data(as_text=True)
    assert "<h1>Bob Builder</h1>" in html and 'href="/teams/tes"' in html


def test_calendar_streaks_and_badges_are_the_apis(seeded_app: Flask, seeded: FlaskClient) -> None:
    bob = member_id(seeded_app, "acc-bob")
    html = seeded.get(f"/people/{bob}").get_data(as_text=True)
    theirs = api_wins(seeded, f"member={bob}&status=active")
    by_day = Counter(utc_day(w["occurred_at"]) for w in theirs if w["kind"] in COUNTED)
    heat = cells(html)
    assert len(heat) >= 52 * 7 and {d: n for d, n in heat.items() if n} == dict(by_day)

    streaks = seeded.get("/api/v1/teams/tes/streaks").json["members"]
    mine = next(s for s in streaks if s["member"] and s["member"]["id"] == bob)
    assert f'data-team="tes" data-current="{mine["current"]}" data-best="{mine["best"]}"' in html

    badges = html.split('class="badges"', 1)[1].split("</ul>", 1)[0]
    shown = [int(i) for i in re.findall(r'data-earned-id="(\d+)"', badges)]
    assert shown == [w["id"] for w in theirs if w["kind"] in EARNED]


def test_only_me_wins_are_not_shown_to_others(seeded_app: Flask, seeded: FlaskClient) -> None:
    bob = member_id(seeded_app, "acc-bob")  # the seed's "only me" win is Bob's
    first = seeded.get(f"/people/{bob}?limit=100").get_data(as_text=True)
    assert PRIVATE_TITLE not in first
    # Nor counted on his calendar: the day of the private win shows only his shared wins.
    with runtime_of(seeded_app).database.sessions() as session:
        moment = session.scalars(select(Win.occurred_at).where(Win.title == PRIVATE_TITLE)).one()
    day = moment.astimezone(UTC).date().isoformat()
    shared = [
        w
        for w in api_wins(seeded, f"member={bob}&status=active")
        if w["kind"] in COUNTED and utc_day(w["occurred_at"]) == day
    ]
    assert cells(first)[day] == len(shared)


def test_someone_who_opted_out_has_no_page_and_is_a_teammate_elsewhere(
    seeded_app: Flask, seeded: FlaskClient
) -> None:
    ada = member_id(seeded_app, "acc-ada")
    hers = seeded.get(f"/people/{ada}")
    nobody = seeded.get("/people/2147483647")
    assert hers.status_code == nobody.status_code == 404
    assert hers.get_data(as_text=True) == nobody.get_data(as_text=True)
    assert OPTED_OUT_NAME not in hers.get_data(as_text=True)
    team = seeded.get("/teams/tes").get_data(as_text=True)
    assert f'href="/people/{ada}"' not in team and "a teammate" in team


def test_a_person_of_another_workspace_is_the_same_404(seeded_app: Flask, seeded: FlaskClient) -> None:
    with runtime_of(seeded_app).database.transaction() as session:
        elsewhere = create_workspace(session, "elsewhere", "Elsewhere")
        stranger = Member(workspace_id=elsewhere.id, display_name="Stranger Danger", jira_account_id="acc-x")
        session.add(stranger)
        session.flush()
        stranger_id = stranger.id
    response = seeded.get(f"/people/{stranger_id}")
    assert response.status_code == 404 and "Stranger" not in response.get_data(as_text=True)


def test_hostile_title_is_text_on_the_person_page(seeded_app: Flask, seeded: FlaskClient) -> None:
    owner = next(
        w["member"]["id"]
        for w in api_wins(seeded)
        if HOSTILE_TITLE in w["title"] and w["member"] and w["member"]["id"]
    )
    html = seeded.get(f"/people/{owner}?limit=100").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and HOSTILE_TITLE not in html
    assert " style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)


@pytest.mark.parametrize(
    "raw",
    ["abc", "0", "-1", "1.0", "%201", "1%00", "%00", "%EF%BC%91", str(2**31), "9" * 40, "x" * 5000],
)
def test_bad_person_ids_are_404(seeded: FlaskClient, raw: str) -> None:
    response = seeded.get(f"/people/{raw}")
    assert response.status_code == 404, raw
    assert "No such person" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "field"),
    [("cursor=@@@", "cursor"), ("cursor=a%00", "cursor"), ("limit=0", "limit"), ("limit=abc", "limit")],
)
def test_bad_query_values_are_400_naming_them(
    seeded_app: Flask, seeded: FlaskClient, query: str, field: str
) -> None:
    bob = member_id(seeded_app, "acc-bob")
    response = seeded.get(f"/people/{bob}?{query}")
    assert response.status_code == 400 and f"<code>{field}</code>" in response.get_data(as_text=True)


def test_person_page_never_fails_on_hostile_query_strings(seeded_app: Flask, seeded: FlaskClient) -> None:
    bob = member_id(seeded_app, "acc-bob")
    values = st.one_of(
        st.text(max_size=40),
        st.text(min_size=1, max_size=5).map(lambda s: s + "\x00"),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
    )
    queries: Any = st.lists(
        st.tuples(st.sampled_from(["cursor", "limit", "person"]) | st.text(max_size=6), values)
    )

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(query=queries)
    def check(query: list[tuple[str, str]]) -> None:
        response = seeded.get(f"/people/{bob}?{urlencode(query)}")
        assert response.status_code in (200, 400), (query, response.status_code)

    check()


@pytest.mark.postgres
def test_person_page_matches_the_api_on_postgres(make_app: AppFactory) -> None:
    app = make_app("postgres")
    seed(app, datetime.now(UTC) - timedelta(hours=2))
    client = app.test_client()
    bob = member_id(app, "acc-bob")
    html = client.get(f"/people/{bob}?limit=100").get_data(as_text=True)
    assert feed_ids(html) == [w["id"] for w in api_wins(client, f"member={bob}")]
    assert PRIVATE_TITLE not in html
    assert client.get(f"/people/{member_id(app, 'acc-ada')}").status_code == 404
    assert client.get("/people/99999999999999999999").status_code == 404
