"""The dashboard's pages carry the JSON API's numbers, keep people's privacy and escape their text."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.domain.heatmap import monday_of
from tests.conftest import AppFactory
from tests.dashboard.conftest import api_wins, cells, feed_ids, iterate_pages, rows
from tests.dashboard.seed import (
    ACTIVE_SPRINT,
    CLOSED_SPRINT,
    GOAL,
    HOSTILE_TITLE,
    OPTED_OUT_NAME,
    PRIVATE_TITLE,
    post_signed,
    seed,
    ticket_done,
)
from tests.jobs.helpers import run_jobs

COUNTED = {"ticket", "manual", "kudos"}


def counted_api_wins(client: FlaskClient) -> list[dict[str, object]]:
    """The wins the dashboard counts, as the API lists them: counted kinds, still active. Neither lists
    the "only me" win."""
    listed = api_wins(client, "status=active")
    assert listed and all(w["title"] != PRIVATE_TITLE for w in listed)
    return [w for w in listed if w["kind"] in COUNTED]


def utc_day(stamp: object) -> str:
    # The seeded team's zone is UTC, so its days are UTC days.
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).date().isoformat()


def test_overview_shows_each_teams_week_sprint_and_streak_as_the_api_does(seeded: FlaskClient) -> None:
    html = seeded.get("/").get_data(as_text=True)
    today = datetime.now(UTC).date()
    monday = monday_of(today).isoformat()
    this_week = [
        w for w in counted_api_wins(seeded) if monday <= utc_day(w["occurred_at"]) <= today.isoformat()
    ]
    assert re.search(rf'class="week-wins" data-count="{len(this_week)}"', html)

    active = next(
        s for s in seeded.get("/api/v1/teams/tes/sprints").json["sprints"] if s["id"] == ACTIVE_SPRINT
    )
    assert f'data-done="{active["completed_issues"]}" data-committed="{active["committed_issues"]}"' in html
    streaks = seeded.get("/api/v1/teams/tes/streaks").json
    longest = max([streaks["team"]["current"], *(m["current"] for m in streaks["members"])])
    assert f'data-days="{longest}"' in html

    weeks = Counter(
        monday_of(datetime.fromisoformat(utc_day(w["occurred_at"])).date()) for w in counted_api_wins(seeded)
    )
    table = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    assert table is not None
    shown = dict(re.findall(r"<tr><td>([\d-]+)</td><td>(\d+)</td></tr>", table.group(1)))
    assert len(shown) == 12 and sum(map(int, shown.values())) == sum(weeks.values())
    assert all(int(n) == weeks.get(datetime.fromisoformat(d).date(), 0) for d, n in shown.items())


def test_heatmap_and_daily_bars_count_the_apis_wins_by_the_teams_day(seeded: FlaskClient) -> None:
    html = seeded.get("/teams/tes").get_data(as_text=True)
    by_day = Counter(utc_day(w["occurred_at"]) for w in counted_api_wins(seeded))
    heat = cells(html)
    assert len(heat) >= 52 * 7 and max(heat) == datetime.now(UTC).date().isoformat()
    assert {d: n for d, n in heat.items() if n} == dict(by_day)
    daily = {d: int(n) for d, n in rows(html, "daily-table")}
    assert len(daily) == 30 and all(n == by_day.get(d, 0) for d, n in daily.items())


def test_sprint_burn_up_and_velocity_use_the_apis_scope(seeded: FlaskClient) -> None:
    html = seeded.get("/teams/tes").get_data(as_text=True)
    sprints = {s["id"]: s for s in seeded.get("/api/v1/teams/tes/sprints").json["sprints"]}
    active, closed = sprints[ACTIVE_SPRINT], sprints[CLOSED_SPRINT]
    burn = rows(html, "burn-table")
    assert burn and {float(r[2]) for r in burn} == {float(active["committed_points"])}
    assert float(burn[-1][1]) == float(active["completed_points"])
    velocity = rows(html, "velocity-table")
    assert velocity == [
        [closed["name"], str(float(closed["committed_points"])), str(float(closed["completed_points"]))]
    ]
    assert "Goal: Ship the &lt;b&gt;&#34;search&#34;&lt;/b&gt; page &amp; more" in html and GOAL not in html


def test_feed_pages_and_filters_list_what_the_api_lists(seeded: FlaskClient) -> None:
    everything = [w["id"] for w in api_wins(seeded) if w["title"] != PRIVATE_TITLE]
    paged = [i for html in iterate_pages(seeded, "/teams/tes?limit=4") for i in feed_ids(html)]
    assert paged == everything

    bob = next(
        w["member"]["id"] for w in api_wins(seeded) if w["member"] and w["member"]["name"] == "Bob Builder"
    )
    by_bob = [w["id"] for w in api_wins(seeded, f"member={bob}") if w["title"] != PRIVATE_TITLE]
    assert feed_ids(seeded.get(f"/teams/tes?person={bob}&limit=100").get_data(as_text=True)) == by_bob
    tickets = [w["id"] for w in api_wins(seeded, "kind=ticket")]
    assert feed_ids(seeded.get("/teams/tes?kind=ticket&limit=100").get_data(as_text=True)) == tickets

    in_sprint = feed_ids(
        seeded.get(f"/teams/tes?kind=ticket&sprint={ACTIVE_SPRINT}&limit=100").get_data(as_text=True)
    )
    exported = seeded.get(f"/api/v1/teams/tes/export?format=json&sprint={ACTIVE_SPRINT}").json["wins"]
    assert in_sprint == [w["id"] for w in exported if w["kind"] == "ticket"] and len(in_sprint) == 5


def test_privacy_on_every_page_and_the_export(seeded_app: Flask, seeded: FlaskClient) -> None:
    pages = ["/", "/teams/tes", "/teams/tes?limit=2", "/teams/tes/live?after=0"]
    exports = ["/api/v1/teams/tes/export?format=csv", "/api/v1/teams/tes/export?format=json"]
    for url in pages + exports:
        text = seeded.get(url).get_data(as_text=True)
        assert OPTED_OUT_NAME not in text and "Optedout" not in text, url
        assert PRIVATE_TITLE not in text, url
    team = seeded.get("/teams/tes").get_data(as_text=True)
    assert "a teammate" in team
    ada = next(w["member"] for w in api_wins(seeded) if w["member"] and w["member"]["anonymous"])
    assert ada["id"] is None  # the API does not name her either
    # Her wins are listed (counted), never under a link or a filter of her own.
    assert not re.search(r'<a class="win-person"[^>]*>a teammate</a>', team)
    assert "Ada" not in re.search(r'<select name="person">(.*?)</select>', team, re.S).group(1)  # type: ignore[union-attr]


def test_hostile_titles_are_escaped_as_text(seeded: FlaskClient) -> None:
    for url in ("/teams/tes", "/teams/tes/live?after=0", "/teams/tes?kind=ticket"):
        html = seeded.get(url).get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
        assert HOSTILE_TITLE not in html, url
    assert HOSTILE_TITLE in seeded.get("/api/v1/teams/tes/export?format=csv").get_data(as_text=True)


def test_every_page_response_carries_csp_and_nosniff(seeded_app: Flask, seeded: FlaskClient) -> None:
    responses = [
        seeded.get(url)
        for url in (
            "/",
            "/teams/tes",
            "/teams/nope",
            "/teams/tes?limit=zero",
            "/teams/tes/live?after=0",
            "/assets/dashboard.css",
            "/assets/vendor/htmx.min.js",
        )
    ]
    responses.append(seeded.get("/", environ_base={"REMOTE_ADDR": "203.0.113.9"}))
    for response in responses:
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        response.close()  # a static file's response holds the file open until closed
    html = responses[1].get_data(as_text=True)
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script


def test_unknown_team_is_a_404_page_and_bad_values_a_400_page(seeded: FlaskClient) -> None:
    missing = seeded.get("/teams/nope")
    assert missing.status_code == 404 and "No such team" in missing.get_data(as_text=True)
    assert seeded.get("/teams/nope/live").status_code == 404
    for query, field in [
        ("person=abc", "person"),
        ("person=99999999999999999999", "person"),
        ("kind=nope", "kind"),
        ("sprint=-1", "sprint"),
        ("sprint=777", "sprint"),
        ("cursor=@@@", "cursor"),
        ("limit=100000", "limit"),
        ("kind=ticket%00", "kind"),
    ]:
        response = seeded.get(f"/teams/tes?{query}")
        assert response.status_code == 400, query
        assert f"<code>{field}</code>" in response.get_data(as_text=True), query
    assert seeded.get("/teams/" + "x" * 65).status_code == 400
    assert seeded.get("/teams/te%00s").status_code == 400


def test_export_csv_equals_its_json(seeded: FlaskClient) -> None:
    import csv
    import io

    for sprint in ("", f"&sprint={ACTIVE_SPRINT}"):
        as_json = seeded.get(f"/api/v1/teams/tes/export?format=json{sprint}").json["wins"]
        response = seeded.get(f"/api/v1/teams/tes/export?format=csv{sprint}")
        assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
        as_csv = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
        flattened = [
            {
                **{k: "" if v is None else str(v) for k, v in w.items() if k != "member"},
                "member_id": "" if not w["member"] or w["member"]["id"] is None else str(w["member"]["id"]),
                "member_name": "" if not w["member"] or w["member"]["name"] is None else w["member"]["name"],
                "member_anonymous": "" if not w["member"] else str(w["member"]["anonymous"]),
            }
            for w in as_json
        ]
        assert as_csv == flattened and as_csv
    assert {w["id"] for w in seeded.get("/api/v1/teams/tes/export?format=json").json["wins"]} == {
        w["id"] for w in api_wins(seeded) if w["title"] != PRIVATE_TITLE
    }


def test_export_refuses_bad_format_and_sprint_naming_the_field(seeded: FlaskClient) -> None:
    for query, field in [
        ("", "format"),
        ("format=xml", "format"),
        ("format=csv&sprint=abc", "sprint"),
        ("format=csv&sprint=777", "sprint"),
        ("format=json&sprint=99999999999999999999999", "sprint"),
    ]:
        response = seeded.get(f"/api/v1/teams/tes/export?{query}")
        assert response.status_code == 400, query
        assert response.json["field"] == field and response.json["status"] == 400, query
    assert seeded.get("/api/v1/teams/nope/export?format=csv").status_code == 404


def test_live_fragment_brings_new_wins_without_the_page(seeded_app: Flask, seeded: FlaskClient) -> None:
    page = seeded.get("/teams/tes").get_data(as_text=True)
    after = re.search(r'id="live-poll" hx-get="[^"]*after=(\d+)', page)
    assert after and 'hx-trigger="every' in page
    quiet = seeded.get(f"/teams/tes/live?after={after.group(1)}").get_data(as_text=True)
    assert feed_ids(quiet) == [] and 'id="live-poll"' in quiet

    def post(path: str, body: bytes, headers: dict[str, str]) -> object:
        return seeded.post(path, data=body, headers=headers)

    now = datetime.now(UTC)
    post_signed(
        post,
        ticket_done("TES-99", now, ("acc-cy", "Cy Named"), ACTIVE_SPRINT, "active", "Live one"),
        "live-1",
    )
    run_jobs(seeded_app)
    fresh = seeded.get(f"/teams/tes/live?after={after.group(1)}").get_data(as_text=True)
    assert "Live one" in fresh and 'hx-swap-oob="afterbegin:#feed-list"' in fresh
    newer = re.search(r'data-after="(\d+)"', fresh)
    assert newer and int(newer.group(1)) > int(after.group(1))
    assert "Live one" not in seeded.get(f"/teams/tes/live?after={newer.group(1)}").get_data(as_text=True)


def test_production_pages_need_sign_in_unless_the_api_token_is_sent(make_app: AppFactory) -> None:
    app = make_app("sqlite", env="production", api_token="s3cret-token")
    client = app.test_client()
    refused = client.get("/")
    assert refused.status_code == 401 and "Sign-in required" in refused.get_data(as_text=True)
    assert client.get("/teams/tes").status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_outside_production_only_this_machine_opens_the_pages(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/", environ_base={"REMOTE_ADDR": "192.0.2.4"}).status_code == 401


@pytest.mark.postgres
def test_numbers_match_the_api_on_postgres(make_app: AppFactory) -> None:
    app = make_app("postgres")
    seed(app, datetime.now(UTC) - timedelta(hours=2))
    client = app.test_client()
    html = client.get("/teams/tes").get_data(as_text=True)
    by_day = Counter(utc_day(w["occurred_at"]) for w in counted_api_wins(client))
    assert {d: n for d, n in cells(html).items() if n} == dict(by_day)
    assert feed_ids(html) == [w["id"] for w in api_wins(client) if w["title"] != PRIVATE_TITLE][:25]
    assert PRIVATE_TITLE not in client.get("/api/v1/teams/tes/export?format=csv").get_data(as_text=True)


def test_days_and_weeks_are_the_teams_own_in_its_time_zone(seeded_app: Flask, seeded: FlaskClient) -> None:
    from zoneinfo import ZoneInfo

    from service.teams import registry
    from service.web.extensions import runtime_of

    zone = "Pacific/Kiritimati"  # UTC+14: most wins land on the next calendar day there
    with runtime_of(seeded_app).database.transaction() as session:
        registry.set_timezone(session, "tes", zone)
    html = seeded.get("/teams/tes").get_data(as_text=True)
    local = Counter(
        datetime.fromisoformat(str(w["occurred_at"]).replace("Z", "+00:00"))
        .astimezone(ZoneInfo(zone))
        .date()
        .isoformat()
        for w in counted_api_wins(seeded)
    )
    heat = cells(html)
    assert {d: n for d, n in heat.items() if n} == dict(local)
    assert max(heat) == datetime.now(ZoneInfo(zone)).date().isoformat()


def test_the_overview_lists_every_team_even_without_wins(seeded_app: Flask, seeded: FlaskClient) -> None:
    from service.teams import registry
    from service.web.extensions import runtime_of

    with runtime_of(seeded_app).database.transaction() as session:
        registry.create_team(session, "quiet", "Quiet <team>")
    html = seeded.get("/").get_data(as_text=True)
    slugs = [t["slug"] for t in seeded.get("/api/v1/teams").json["teams"]]
    assert re.findall(r'data-team="([^"]+)"', html) == slugs and "quiet" in slugs
    quiet = html.split('data-team="quiet"', 1)[1].split("</li>", 1)[0]
    assert 'data-count="0"' in quiet and "No sprint running." in quiet and "Quiet &lt;team&gt;" in quiet
    assert seeded.get("/teams/quiet").status_code == 200
