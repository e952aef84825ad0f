"""The team page's participation, kudos and cheers panel and its digest history.

Kudos are recorded as Slack records them (``record_win`` with ``kudos_from``), digests are stored and
marked posted by the digest modules, and cheers arrive as reactions on the posted message
(``record_cheer``), so every figure here went through the code that production runs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from jobs.digests import run_digest_now
from service.digests.posting import record_posted
from service.digests.stored import ensure_digest
from service.domain.digest_blocks import Digest
from service.domain.digest_periods import RunPeriod
from service.domain.mrkdwn import escape_mrkdwn
from service.domain.wins import WinDraft, WinKind, WinSource, WinVisibility
from service.models import Member, Team, utcnow
from service.models.digests import DigestKind, DigestState, StoredDigest
from service.web.extensions import runtime_of
from service.wins.cheers import record_cheer
from service.wins.record import record_win
from tests.conftest import AppFactory
from tests.dashboard.conftest import api_wins, rows
from tests.dashboard.seed import HOSTILE_TITLE, OPTED_OUT_NAME, PRIVATE_TITLE, SLUG, seed

SLACK_TEAM = "T0TEST"
COUNTED = {"ticket", "manual", "kudos"}
# (giver, receiver, hours ago, visibility): Ada opted out of being named.
KUDOS = [
    ("acc-bob", "acc-cy", 5, WinVisibility.TEAM),
    ("acc-cy", "acc-bob", 4, WinVisibility.TEAM),
    ("acc-ada", "acc-bob", 3, WinVisibility.TEAM),
    ("acc-bob", "acc-ada", 2, WinVisibility.TEAM),
    ("acc-cy", "acc-bob", 1, WinVisibility.PRIVATE),  # "only me": counted nowhere on the page
    ("acc-cy", "acc-bob", 24 * 40, WinVisibility.TEAM),  # before the 30 days
]


def people(app: Flask) -> dict[str, tuple[int, str]]:
    """Each seeded person's (id, name) by Jira account, given a Slack identity (``acc-bob`` is ``UBOB``)
    so that digests can mention them."""
    with runtime_of(app).database.transaction() as session:
        found = {}
        for member in session.scalars(select(Member)):
            account = member.jira_account_id or ""
            member.slack_team_id = SLACK_TEAM
            member.slack_user_id = "U" + account.removeprefix("acc-").upper()
            found[account] = (member.id, member.display_name)
        return found


def give_kudos(app: Flask) -> None:
    who = people(app)
    now = datetime.now(UTC)
    with runtime_of(app).database.transaction() as session:
        team_id = session.scalars(select(Team.id).where(Team.slug == SLUG)).one()
        for n, (giver, receiver, hours, visibility) in enumerate(KUDOS):
            sender_id, sender_name = who[giver]
            draft = WinDraft(
                WinKind.KUDOS,
                WinSource.SLACK,
                f"kudos:test-{n}:{receiver}",
                f"Thanks <b>{n}</b> for the review",
                now - timedelta(hours=hours),
                details={"kudos_from": {"member_id": sender_id, "name": sender_name}},
            )
            record_win(session, draft, team_id=team_id, member_id=who[receiver][0], visibility=visibility)


def post_digest(
    app: Flask, channel: str, period: str, blocks: list[dict[str, Any]], win_ids: tuple[int, ...] = ()
) -> int:
    """A digest stored and marked posted, as the delivery job leaves it."""
    with runtime_of(app).database.transaction() as session:
        team_id = session.scalars(select(Team.id).where(Team.slug == SLUG)).one()
        row = ensure_digest(
            session,
            team_id=team_id,
            slack_team_id=SLACK_TEAM,
            channel_id=channel,
            period_key=period,
            compose=lambda: Digest("fallback", blocks, win_ids=win_ids),
        )
        record_posted(session, row, channel, f"{period}-{channel}", now=utcnow())
        return row.id


def cheer(app: Flask, channel: str, period: str, user: str, reaction: str = "tada") -> None:
    with runtime_of(app).database.transaction() as session:
        assert record_cheer(session, SLACK_TEAM, channel, f"{period}-{channel}", user, reaction, True)


def panel(html: str, heading_id: str) -> str:
    return html.split(f'aria-labelledby="{heading_id}"', 1)[1].split("</section>", 1)[0]


def api_since(client: FlaskClient, days: int, query: str) -> list[dict[str, Any]]:
    since = (datetime.now(UTC) - timedelta(days=days)).isoformat().replace("+00:00", "Z")
    return api_wins(client, f"since={since}&status=active&{query}")


def distinct_people(wins: list[dict[str, Any]]) -> int:
    """People behind the API's wins: named ones by id; the seed's one opted-out person as one more."""
    named = {w["member"]["id"] for w in wins if w["member"] and w["member"]["id"]}
    return len(named) + any(w["member"] and w["member"]["anonymous"] for w in wins)


def test_participation_and_kudos_are_the_apis_counts(seeded_app: Flask, seeded: FlaskClient) -> None:
    give_kudos(seeded_app)
    html = seeded.get("/teams/tes").get_data(as_text=True)
    part = panel(html, "participation-h")

    year = [w for w in api_since(seeded, 365, "") if w["kind"] in COUNTED]
    month = [w for w in api_since(seeded, 30, "") if w["kind"] in COUNTED]
    assert f'data-active="{distinct_people(month)}" data-people="{distinct_people(year)}"' in part
    assert distinct_people(year) == 3

    kudos = api_since(seeded, 30, "kind=kudos")
    assert len(kudos) == 4 and f'class="kudos-count" data-count="{len(kudos)}"' in part
    table = {re.sub(r"<[^>]+>", "", name): (int(g), int(r)) for name, g, r in rows(part, "kudos-table")}
    # Bob gave 2, received 2 (one from Ada); Cy gave 1, received 1; Ada is "a teammate" both ways.
    assert table == {"Bob Builder": (2, 2), "Cy Named": (1, 1), "a teammate": (1, 1)}
    assert "Thanks &lt;b&gt;2&lt;/b&gt; for the review" in part and "<b>2</b>" not in part
    assert OPTED_OUT_NAME not in html and PRIVATE_TITLE not in html
    assert "Thanks <b>4</b>" not in html and "Thanks &lt;b&gt;4&lt;/b&gt;" not in html  # the "only me" kudos
    assert re.search(r'<a href="/people/\d+">Bob Builder</a>', part)


def test_cheers_on_the_teams_recent_wins_are_the_apis(seeded_app: Flask, seeded: FlaskClient) -> None:
    people(seeded_app)
    recent = api_since(seeded, 30, "kind=ticket")
    first, second = recent[0]["id"], recent[1]["id"]
    post_digest(seeded_app, "C1", "week:1", [], (first, second))
    post_digest(seeded_app, "C1", "week:2", [], (first,))
    for user in ("UBOB", "UCY"):
        cheer(seeded_app, "C1", "week:1", user)
    cheer(seeded_app, "C1", "week:2", "UADA", "clap")

    html = seeded.get("/teams/tes").get_data(as_text=True)
    part = panel(html, "participation-h")
    total = sum(w["cheers"] for w in api_since(seeded, 30, ""))
    assert total == 5 and f'class="cheer-count" data-count="{total}"' in part
    ranked = re.findall(r'data-win-cheers="(\d+):(\d+)"', part)
    assert ranked == [(str(first), "3"), (str(second), "2")]


def test_digest_history_shows_each_posted_digest_as_text(seeded_app: Flask, seeded: FlaskClient) -> None:
    people(seeded_app)
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Week <b>48</b> & more :trophy:"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f"*Done* :tada:\n• {escape_mrkdwn(HOSTILE_TITLE)} <@UBOB> <@UADA> <!channel>\n"
                    "• <https://example.com/a?b=1&amp;c=2|the board> <javascript:alert(1)|click me>\n"
                    "• &lt;img src=x onerror=alert(1)&gt; `55%`\n_a quiet week_ for snake_case_name"
                ),
            },
        },
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "From <@UCY>"}]},
        {
            "type": "actions",
            "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Goal met"}}],
        },
    ]
    for channel in ("C1", "C2"):
        post_digest(seeded_app, channel, "week:hostile", blocks)
    cheer(seeded_app, "C2", "week:hostile", "UBOB")
    with runtime_of(seeded_app).database.transaction() as session:
        team_id = session.scalars(select(Team.id).where(Team.slug == SLUG)).one()
        for state in (DigestState.PENDING, DigestState.FAILED, DigestState.SKIPPED):
            session.add(
                StoredDigest(
                    team_id=team_id,
                    channel_id="C1",
                    period_key=f"unsent:{state}",
                    state=state.value,
                    text=f"never sent {state}",
                    blocks=[],
                )
            )

    html = seeded.get("/teams/tes").get_data(as_text=True)
    part = panel(html, "digests-h")
    entry = next(d for d in part.split('<details class="digest"')[1:] if "Week &lt;b&gt;48" in d)
    assert "2 channels" in entry and "1 cheer" in entry
    assert "Week &lt;b&gt;48&lt;/b&gt; &amp; more \U0001f3c6" in part
    assert "<em>a quiet week</em> for snake_case_name" in part
    assert "<strong>Done</strong> \U0001f389" in part
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in part and HOSTILE_TITLE not in html
    assert "@Bob Builder" in part and "@a teammate" in part and "@Cy Named" in part and "@channel" in part
    assert OPTED_OUT_NAME not in html and "UADA" not in part
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer">the board</a>' in part
    assert "javascript" not in part and "click me" in part
    assert "&lt;img src=x onerror=alert(1)&gt;" in part and "<img" not in part
    assert "<code>55%</code>" in part and "<hr>" in part and "Goal met" not in part
    assert "never sent" not in part


def test_a_digest_run_appears_in_the_history_as_composed(seeded_app: Flask, seeded: FlaskClient) -> None:
    with runtime_of(seeded_app).database.sessions() as session:
        team_id = session.scalars(select(Team.id).where(Team.slug == SLUG)).one()
    assert len(run_digest_now(team_id, RunPeriod.SPRINT)) == 1  # the console: no Slack here
    with runtime_of(seeded_app).database.sessions() as session:
        row = session.scalars(
            select(StoredDigest)
            .where(StoredDigest.state == DigestState.RENDERED.value)
            .order_by(StoredDigest.id.desc())
        ).first()
        assert row is not None and row.kind == DigestKind.DIGEST.value
        header = next(b["text"]["text"] for b in row.blocks if b["type"] == "header")
        shown = seeded.get("/teams/tes").get_data(as_text=True)
    part = panel(shown, "digests-h")
    assert f'data-digest-id="{row.id}"' in part
    from markupsafe import escape

    assert header.startswith(":tada: ")  # Slack draws the shortcode; so does the page
    assert f"\U0001f389 {escape(header.removeprefix(':tada: '))}" in part and ":tada:" not in part
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in part and HOSTILE_TITLE not in shown
    assert OPTED_OUT_NAME not in shown and PRIVATE_TITLE not in shown


def test_a_team_without_digests_kudos_or_cheers_says_so(make_app: AppFactory) -> None:
    from service.teams import registry

    app = make_app("sqlite")
    with runtime_of(app).database.transaction() as session:
        registry.create_team(session, "quiet", "Quiet")
    html = app.test_client().get("/teams/quiet").get_data(as_text=True)
    assert 'data-active="0" data-people="0"' in html and ">0%<" in html
    assert "No kudos in the last 30 days." in html and "No digest posted yet." in html
    assert 'class="cheer-count" data-count="0"' in html


@pytest.mark.postgres
def test_panels_match_the_api_on_postgres(make_app: AppFactory) -> None:
    app = make_app("postgres")
    seed(app, datetime.now(UTC) - timedelta(hours=2))
    give_kudos(app)
    client = app.test_client()
    recent = api_since(client, 30, "kind=ticket")
    post_digest(
        app,
        "C1",
        "week:1",
        [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hi* <@UBOB>"}}],
        (recent[0]["id"],),
    )
    cheer(app, "C1", "week:1", "UCY")
    part = panel(client.get("/teams/tes").get_data(as_text=True), "participation-h")
    kudos = api_since(client, 30, "kind=kudos")
    assert f'class="kudos-count" data-count="{len(kudos)}"' in part
    month = [w for w in api_since(client, 30, "") if w["kind"] in COUNTED]
    assert f'data-active="{distinct_people(month)}"' in part
    assert f'class="cheer-count" data-count="{sum(w["cheers"] for w in api_since(client, 30, ""))}"' in part
    digests = panel(client.get("/teams/tes").get_data(as_text=True), "digests-h")
    assert "<strong>Hi</strong> @Bob Builder" in digests


def test_a_digest_posted_before_someone_opted_out_no_longer_names_them(
    seeded_app: Flask, seeded: FlaskClient
) -> None:
    """The seed's sprint-end post went out while Ada still shared her wins; shown today, she is a teammate."""
    with runtime_of(seeded_app).database.sessions() as session:
        row = session.scalars(
            select(StoredDigest).where(StoredDigest.kind == DigestKind.SPRINT_END.value)
        ).one()
        assert OPTED_OUT_NAME in str(row.blocks)
    part = panel(seeded.get("/teams/tes").get_data(as_text=True), "digests-h")
    entry = next(d for d in part.split('<details class="digest"')[1:] if f'data-digest-id="{row.id}"' in d)
    assert OPTED_OUT_NAME not in entry and "— a teammate · 2 pts" in entry and "Bob Builder" in entry
