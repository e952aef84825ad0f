"""What a digest shows, read from the database: the period's public wins, with opt-outs unnamed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from flask import Flask

from service.digests import build as digests
from service.domain.digest_periods import RunPeriod
from service.domain.schedule import Period
from service.models import Cheer, Team, Ticket, sprint_tickets
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

    assert "This week: 3 wins, 2 points" in blocks  # two kudos and a ticket; the streak on its own
    assert "Also: 1 streak" in blocks
    assert "Shy Sam" not in text + blocks and "U0SHY" not in text + blocks
    assert "a teammate → <@U0BOB>: Helped with the release" in blocks
    assert "Bob → a teammate: Thanks for the review" in blocks
    assert "a teammate: 5-day streak" in blocks


def _cheer(app: Flask, win_id: int, *users: str) -> None:
    with runtime_of(app).database.transaction() as session:
        for user in users:
            session.add(Cheer(win_id=win_id, slack_team_id="T0STANDIN", user_id=user, reaction="tada"))


def test_the_most_cheered_wins_are_read_from_the_cheers(slack_app: Flask, seed: Seed) -> None:
    team_id = seed.team()
    alice, shy = seed.member("Alice", "U0ALICE"), seed.member("Shy Sam", "U0SHY", opt_out=True)
    inside = START + timedelta(days=1)
    big = seed.win(team_id, "Big release", inside, member_id=alice, points=8)
    loved = seed.win(team_id, "Fixed the flaky test", inside, member_id=alice, points=1)
    quiet = seed.win(team_id, "Quiet fix", inside, member_id=shy, points=1)
    private = seed.win(team_id, "My own little thing", inside, member_id=alice, visibility="private")
    milestone = seed.win(team_id, "Sprint 9: 50% of the committed scope done", inside, kind="milestone")
    _cheer(slack_app, loved, "U1", "U2", "U3")
    _cheer(slack_app, quiet, "U1", "U2")
    _cheer(slack_app, milestone, "U1")
    _cheer(slack_app, private, "U1", "U2", "U3", "U4")
    _cheer(slack_app, big)  # nobody

    text, blocks = _compose(slack_app, team_id)

    [cheered] = [
        b["text"]["text"] for b in json.loads(blocks) if "*Most cheered*" in b.get("text", {}).get("text", "")
    ]
    lines = cheered.split("\n")[1:]
    assert len(lines) == 3
    assert lines[0].endswith("|Fixed the flaky test> — <@U0ALICE> · 1 pt · 3 :raised_hands:")
    assert lines[1].endswith("|Quiet fix> — a teammate · 1 pt · 2 :raised_hands:")
    assert lines[2].endswith("|Sprint 9: 50% of the committed scope done> — 1 :raised_hands:")
    assert "My own little thing" not in text + blocks  # "only me": never listed, however cheered
    assert "Shy Sam" not in text + blocks


def test_this_weeks_digest_is_monday_to_sunday_even_on_a_sunday(slack_app: Flask, seed: Seed) -> None:
    team_id = seed.team(timezone="Europe/Berlin")
    sunday_noon = datetime(2026, 12, 6, 11, tzinfo=UTC)  # 12:00 in Berlin
    seed.win(team_id, "Monday morning fix", datetime(2026, 11, 29, 23, 30, tzinfo=UTC), points=1)
    seed.win(team_id, "Sunday evening fix", datetime(2026, 12, 6, 22, 30, tzinfo=UTC), points=1)
    seed.win(team_id, "Last Sunday's fix", datetime(2026, 11, 29, 22, 30, tzinfo=UTC), points=1)
    with runtime_of(slack_app).database.sessions() as session:
        team = session.get(Team, team_id)
        assert team is not None
        week = digests.period_for_run(session, team, RunPeriod.WEEK, sunday_noon)
        digest = digests.compose_for_period(session, team, week, now=sunday_noon)
    assert (week.start, week.end) == (
        datetime(2026, 11, 29, 23, tzinfo=UTC),
        datetime(2026, 12, 6, 23, tzinfo=UTC),
    )
    assert week.key == "week:2026-W49"
    assert digest is not None
    assert "This week: 2 wins" in digest.text
    assert "Monday morning fix" in digest.text and "Sunday evening fix" in digest.text
    assert "Last Sunday" not in digest.text
    assert "Mon 30 Nov to Sun 06 Dec" in json.dumps(digest.blocks)


def test_each_sprint_shown_has_its_burn_up_on_its_milestones_basis(slack_app: Flask, seed: Seed) -> None:
    team_id = seed.team()
    seed.win(team_id, "Counted win", START + timedelta(days=1), points=3)
    seed.closed_sprint(team_id, 41, done=2, open_=0, completed_at=START - timedelta(days=1), goal=None)
    seed.closed_sprint(team_id, 42, done=3, open_=1, completed_at=START + timedelta(days=2), goal="Ship it")
    estimated_apart_from_one = seed.closed_sprint(
        team_id, 43, done=1, open_=1, completed_at=START + timedelta(days=3), goal=None
    )
    with runtime_of(slack_app).database.transaction() as session:
        # A finished issue without points: like its milestones, the burn-up counts issues instead.
        ticket = Ticket(team_id=team_id, issue_key="PAY-43X", project_key="PAY", points=None, done=True)
        session.add(ticket)
        session.flush()
        session.execute(
            sprint_tickets.insert().values(sprint_id=estimated_apart_from_one, ticket_id=ticket.id)
        )

    text, _ = _compose(slack_app, team_id)

    assert "• *Sprint 42* `▓▓▓▓▓▓▓▓░░` 75% · 9 of 12 points · goal: Ship it" in text
    assert "• *Sprint 43* `▓▓▓▓▓▓▓░░░` 67% · 2 of 3 issues" in text
    assert "Sprint 41" not in text  # it closed before the period
    assert text.index("Sprint 42") < text.index("Sprint 43") < text.index("Counted win")
