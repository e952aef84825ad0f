"""The sprint retro page carries the API's sprint figures, the feed's sprint wins, and keeps privacy."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.models import Win
from service.teams import registry
from service.web.extensions import runtime_of
from service.workspaces.registry import create_workspace
from tests.conftest import AppFactory
from tests.dashboard.conftest import feed_ids, rows
from tests.dashboard.seed import (
    ACTIVE_SPRINT,
    CLOSED_SPRINT,
    GOAL,
    HOSTILE_TITLE,
    OPTED_OUT_NAME,
    PRIVATE_TITLE,
    seed,
)

COUNTED = {"ticket", "manual", "kudos"}


def api_sprint(client: FlaskClient, jira_id: int) -> dict[str, Any]:
    return next(s for s in client.get("/api/v1/teams/tes/sprints").json["sprints"] if s["id"] == jira_id)


def sprint_wins(client: FlaskClient, jira_id: int) -> list[dict[str, Any]]:
    """The wins the API's export lists for the sprint, that people made and still count."""
    exported = client.get(f"/api/v1/teams/tes/export?format=json&sprint={jira_id}").json["wins"]
    return [w for w in exported if w["kind"] in COUNTED and w["status"] == "active"]


def done_list(html: str) -> list[int]:
    section = html.split('aria-labelledby="done-h"', 1)[1]
    return feed_ids(section)


@pytest.mark.parametrize("jira_id", [ACTIVE_SPRINT, CLOSED_SPRINT])
def test_sprint_page_shows_the_apis_scope_and_the_sprints_done_list(
    seeded: FlaskClient, jira_id: int
) -> None:
    response = seeded.get(f"/teams/tes/sprints/{jira_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    sprint = api_sprint(seeded, jira_id)
    assert f"<h1>{sprint['name']}</h1>" in html
    assert f'data-done="{sprint["completed_issues"]}" data-committed="{sprint["committed_issues"]}"' in html
    assert f'data-done="{sprint["completed_points"]}" data-committed="{sprint["committed_points"]}"' in html

    expected = sprint_wins(seeded, jira_id)
    assert expected and done_list(html) == [w["id"] for w in expected]
    assert f'class="done-count" data-count="{len(expected)}"' in html

    burn = rows(html, "burn-table")
    assert burn and {float(r[2]) for r in burn} == {float(sprint["committed_points"])}
    assert float(burn[-1][1]) == float(sprint["completed_points"])


def test_who_contributed_counts_the_done_list_by_person_and_names_no_one_who_opted_out(
    seeded: FlaskClient,
) -> None:
    html = seeded.get(f"/teams/tes/sprints/{ACTIVE_SPRINT}").get_data(as_text=True)
    expected = Counter(
        w["member"]["name"] or "a teammate" for w in sprint_wins(seeded, ACTIVE_SPRINT) if w["member"]
    )
    shown = Counter()
    for person, wins, _points in rows(html, "contributors-table"):
        shown[re.sub(r"<[^>]+>", "", person)] += int(wins)
    assert shown == expected and shown["a teammate"] >= 1
    assert OPTED_OUT_NAME not in html and "Optedout" not in html
    assert PRIVATE_TITLE not in html
    # Named people link to their page; "a teammate" links nowhere.
    assert re.search(r'<a href="/people/\d+">Bob Builder</a>', html)
    assert not re.search(r"<a [^>]*>a teammate</a>", html)


def test_milestones_hit_are_the_sprints_own(seeded_app: Flask, seeded: FlaskClient) -> None:
    html = seeded.get(f"/teams/tes/sprints/{ACTIVE_SPRINT}").get_data(as_text=True)
    # The engine keys a sprint's milestones by Jira's sprint id; the API hides the key of one an
    # opted-out person triggered, so the stored keys say which are the sprint's.
    with runtime_of(seeded_app).database.sessions() as session:
        of_sprint = set(
            session.scalars(
                select(Win.id).where(
                    Win.kind == "milestone",
                    Win.status == "active",
                    Win.source_key.startswith(f"milestone:{ACTIVE_SPRINT}:"),
                )
            )
        )
    listed = {w["id"] for w in seeded.get("/api/v1/teams/tes/wins?kind=milestone&limit=500").json["wins"]}
    section = html.split('aria-labelledby="milestones-h"', 1)[1].split("</section>", 1)[0]
    shown = {int(i) for i in re.findall(r'data-win-id="(\d+)"', section)}
    assert of_sprint and shown == of_sprint and shown <= listed
    assert OPTED_OUT_NAME not in section


def test_hostile_title_and_goal_stay_text(seeded: FlaskClient) -> None:
    html = seeded.get(f"/teams/tes/sprints/{ACTIVE_SPRINT}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and HOSTILE_TITLE not in html
    assert "Goal: Ship the &lt;b&gt;&#34;search&#34;&lt;/b&gt; page &amp; more" in html and GOAL not in html
    assert " style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_team_page_links_each_sprint_to_its_retro(seeded: FlaskClient) -> None:
    html = seeded.get("/teams/tes").get_data(as_text=True)
    for jira_id in (ACTIVE_SPRINT, CLOSED_SPRINT):
        assert f'href="/teams/tes/sprints/{jira_id}"' in html


@pytest.mark.parametrize(
    "sprint_id",
    [
        "abc",
        "-1",
        "1e3",
        "101.0",
        "%20101",
        "101%00",
        "%00",
        "%EF%BC%91%EF%BC%90%EF%BC%91",  # fullwidth digits: digits to str.isdigit(), not to Jira
        "99999999999999999999999",
        str(2**63),
        "777",
        "0",
        "x" * 5000,
    ],
)
def test_bad_or_unknown_sprint_ids_are_404_never_5xx(seeded: FlaskClient, sprint_id: str) -> None:
    response = seeded.get(f"/teams/tes/sprints/{sprint_id}")
    assert response.status_code == 404, sprint_id
    assert "No such sprint" in response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_sprint_of_another_team_or_workspace_is_the_same_404(
    seeded_app: Flask, seeded: FlaskClient
) -> None:
    with runtime_of(seeded_app).database.transaction() as session:
        registry.create_team(session, "quiet", "Quiet")
        elsewhere = create_workspace(session, "elsewhere", "Elsewhere")
        registry.create_team(session, "far", "Far team", workspace_id=elsewhere.id)
    other_team = seeded.get(f"/teams/quiet/sprints/{ACTIVE_SPRINT}")
    assert other_team.status_code == 404 and "No such sprint" in other_team.get_data(as_text=True)
    far = seeded.get(f"/teams/far/sprints/{ACTIVE_SPRINT}")
    nowhere = seeded.get(f"/teams/nowhere/sprints/{ACTIVE_SPRINT}")
    assert far.status_code == nowhere.status_code == 404
    assert far.get_data(as_text=True).replace("far", "X") == nowhere.get_data(as_text=True).replace(
        "nowhere", "X"
    )
    assert "Far team" not in far.get_data(as_text=True)


def test_query_strings_never_break_the_sprint_page(seeded: FlaskClient) -> None:
    for query in ("sprint=abc", "cursor=%00", "limit=" + "9" * 40, "a=%00&a=1", "x" * 3000 + "=1"):
        response = seeded.get(f"/teams/tes/sprints/{ACTIVE_SPRINT}?{query}")
        assert response.status_code in (200, 400), query


@pytest.mark.postgres
def test_sprint_page_matches_the_api_on_postgres(make_app: AppFactory) -> None:
    app = make_app("postgres")
    seed(app, datetime.now(UTC) - timedelta(hours=2))
    client = app.test_client()
    for jira_id in (ACTIVE_SPRINT, CLOSED_SPRINT):
        html = client.get(f"/teams/tes/sprints/{jira_id}").get_data(as_text=True)
        sprint = api_sprint(client, jira_id)
        assert (
            f'data-done="{sprint["completed_issues"]}" data-committed="{sprint["committed_issues"]}"' in html
        )
        assert done_list(html) == [w["id"] for w in sprint_wins(client, jira_id)]
        assert OPTED_OUT_NAME not in html and PRIVATE_TITLE not in html
    assert client.get("/teams/tes/sprints/99999999999999999999").status_code == 404
