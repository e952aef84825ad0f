"""What a digest shows, read from the database: the period's public wins, with opt-outs unnamed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from flask import Flask

from service.digests import build as digests
from service.domain.schedule import Period
from service.models import Team
from service.web.extensions import runtime_of
from tests.digests.conftest import Seed

START = datetime(2026, 11, 23, tzinfo=UTC)
WEEK = Period(key="weekly:2026-W48", start=START, end=START + timedelta(days=5), label="This week")


def _compose(app: Flask, team_id: int) -> tuple[str, str]:
    with runtime_of(app).database.sessions() as session:
        team = session.get(Team, team_id)
        assert team is not None
        digest = digests.compose_for_period(session, team, WEEK, now=START + timedelta(days=5))
    assert digest is not None
    return digest.text, json.dumps(digest.blocks, ensure_ascii=False)


def test_only_the_periods_active_public_wins_of_the_team_count(slack_app: Flask, seed: Seed) -> None:
    team_id, other = seed.team(), seed.team("other")
    alice = seed.member("Alice", "U0ALICE")
    inside = START + timedelta(days=1)
    seed.win(team_id, "Counted win", inside, member_id=alice, points=3)
    seed.win(team_id, "Reopened ticket", inside, status="retracted", points=8)
    seed.win(team_id, "Only me", inside, visibility="private", points=8)
    seed.win(team_id, "Last week", START - timedelta(seconds=1), points=8)
    seed.win(team_id, "Next period", WEEK.end, points=8)
    seed.win(other, "Another team's", inside, points=8)

    text, blocks = _compose(slack_app, team_id)

    assert "This week: 1 win, 3 points" in blocks
    assert "Counted win" in text and "<@U0ALICE>" in text
    for absent in ("Reopened", "Only me", "Last week", "Next period", "Another team"):
        assert absent not in text + blocks


def test_people_who_opted_out_are_never_named_but_still_count(slack_app: Flask, seed: Seed) -> None:
    team_id = seed.team()
    shy = seed.member("Shy Sam", "U0SHY", opt_out=True)
    bob = seed.member("Bob", "U0BOB")
    inside = START + timedelta(days=2)
    seed.win(team_id, "Quiet fix", inside, member_id=shy, points=2)
    seed.win(
        team_id,
        "Helped with the release",
        inside,
        member_id=bob,
        kind="kudos",
        details={"kudos_from": {"member_id": shy, "slack_user_id": "U0SHY", "name": "Shy Sam"}},
    )
    seed.win(
        team_id,
        "Thanks for the review",
        inside,
        member_id=shy,
        kind="kudos",
        details={"kudos_from": {"member_id": bob, "slack_user_id": "U0BOB", "name": "Bob"}},
    )
    seed.win(team_id, "5-day streak", inside, member_id=shy, kind="streak")

    text, blocks = _compose(slack_app, team_id)

    assert "This week: 4 wins, 2 points" in blocks
    assert "Shy Sam" not in text + blocks and "U0SHY" not in text + blocks
    assert "a teammate → <@U0BOB>: Helped with the release" in blocks
    assert "Bob → a teammate: Thanks for the review" in blocks
    assert "a teammate: 5-day streak" in blocks
