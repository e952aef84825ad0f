"""The progress commands, run through click against the databases the pipeline filled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from service.models import Member, Win
from service.models.progress import ChallengeRow, StreakFreezeDay, StreakStat
from service.web.extensions import runtime_of
from tests.progress.conftest import (
    TODAY,
    cli,
    day,
    deliver,
    engine_wins,
    member_id,
    resolved,
    sprint_started,
)


def _badges(app: Flask) -> set[tuple[str, str]]:
    return {
        (w.member.display_name if w.member else "-", w.details["badge"])
        for w in engine_wins(app)
        if w.kind == "badge"
    }


def test_recompute_is_deterministic_and_reports_what_changed(progress_app: Flask) -> None:
    deliver(progress_app, [sprint_started(), resolved("TES-1", day(0)), resolved("TES-2", day(1))])
    # The pipeline recomputed after each batch; lose those results, as a restored backup might.
    with runtime_of(progress_app).database.transaction() as session:
        session.execute(delete(Win).where(Win.source == "engine"))
    first = cli(progress_app, "recompute", "tes", "--today", TODAY).output
    assert "+ badge      First win" in first
    assert "+ milestone  First win of Sprint 7" in first
    assert "up to date, nothing changed" in cli(progress_app, "recompute", "tes", "--today", TODAY).output
    assert "no team" in cli(progress_app, "recompute", "nope", ok=False).output


def test_rules_decide_which_tickets_count(progress_app: Flask) -> None:
    deliver(
        progress_app,
        [
            resolved("TES-1", day(0), ("acc-ada", "Ada"), issue_type="Story"),
            resolved("TES-2", day(1), ("acc-bob", "Bob"), issue_type="Bug", labels=["customer"]),
        ],
    )
    cli(progress_app, "recompute", "tes", "--today", TODAY)
    assert _badges(progress_app) == {("Ada", "first_win"), ("Bob", "first_win")}
    out = cli(progress_app, "rules", "set", "tes", "issue_types=Bug", "min_points=1", "--today", TODAY).output
    assert '"issue_types": [\n    "bug"\n  ]' in out
    assert "- badge" in out  # Ada's story no longer counts: her badge is retracted
    assert _badges(progress_app) == {("Bob", "first_win")}
    shown = json.loads(cli(progress_app, "rules", "show", "tes").output)
    assert shown["rules"]["issue_types"] == ["bug"] and shown["stored"] == {
        "issue_types": ["bug"],
        "min_points": 1.0,
    }
    cli(progress_app, "rules", "set", "tes", "issue_types=null", "excluded_labels=customer", "--today", TODAY)
    assert _badges(progress_app) == {("Ada", "first_win")}


@pytest.mark.parametrize(
    ("assignments", "problems"),
    [
        (["min_points=-1"], ["min_points: must be a number ≥ 0"]),
        (
            ["enabled_badges=first_win,gold_star", "count_subtasks=maybe", "colour=blue"],
            [
                "enabled_badges: unknown name 'gold_star'",
                "count_subtasks: must be true or false",
                "unknown setting 'colour'",
            ],
        ),
        (["streak_thresholds=[0, 5]"], ["streak_thresholds[0]: must be a positive integer"]),
    ],
)
def test_invalid_rules_are_refused_with_every_problem(
    progress_app: Flask, assignments: list[str], problems: list[str]
) -> None:
    deliver(progress_app, [resolved("TES-1", day(0))])
    result = cli(progress_app, "rules", "set", "tes", *assignments, ok=False)
    assert result.exit_code == 1
    assert f"invalid team rules ({len(problems)} problems)" in result.output
    for problem in problems:
        assert problem in result.output
    assert json.loads(cli(progress_app, "rules", "show", "tes").output)["stored"] == {}


def test_rules_load_replaces_them_from_a_file(progress_app: Flask, tmp_path: Path) -> None:
    deliver(progress_app, [resolved("TES-1", day(0))])
    good = tmp_path / "rules.json"
    good.write_text(json.dumps({"enabled_badges": ["wins_10"], "count_subtasks": False}))
    cli(progress_app, "rules", "load", "tes", str(good), "--today", TODAY)
    assert _badges(progress_app) == set()  # first_win is switched off
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"velocity_window": 0, "projects": "TES"}))
    result = cli(progress_app, "rules", "load", "tes", str(bad), ok=False)
    assert "velocity_window: must be a positive integer" in result.output
    assert "projects: must be a list of strings" in result.output
    stored = json.loads(cli(progress_app, "rules", "show", "tes").output)["stored"]
    assert stored == {"count_subtasks": False, "enabled_badges": ["wins_10"]}


def test_challenges_are_tracked_from_events(progress_app: Flask) -> None:
    deliver(progress_app, [resolved("TES-1", day(0))])
    ada = member_id(progress_app, "acc-ada")
    out = cli(
        progress_app, "challenge", "add", "tes", "close 2 bugs this week", "--today", "2026-11-09"
    ).output
    assert "challenge 1 for the team: Close 2 bugs this week (bugs_closed 2, 2026-11-09 to 2026-11-15)" in out
    cli(
        progress_app,
        "challenge",
        "add",
        "tes",
        "3 wins by fri",
        "--member",
        str(ada),
        "--today",
        "2026-11-09",
    )
    assert "can't read" in cli(progress_app, "challenge", "add", "tes", "be awesome", ok=False).output
    deliver(
        progress_app,
        [
            resolved("TES-2", day(1), issue_type="Bug"),
            resolved("TES-3", day(2), ("acc-bob", "Bob"), issue_type="Bug"),
            resolved("TES-4", day(3)),
        ],
    )
    cli(progress_app, "recompute", "tes", "--today", "2026-11-12")
    listed = {
        c["id"]: c
        for c in json.loads(cli(progress_app, "challenge", "list", "tes", "--json").output)["challenges"]
    }
    assert listed[1]["progress"] == 2 and listed[1]["completed_at"] is not None
    assert listed[2]["member_id"] == ada and listed[2]["progress"] == 3 and listed[2]["completed_at"]
    titles = {w.title for w in engine_wins(progress_app) if w.kind == "challenge"}
    assert titles == {"Challenge complete: Close 2 bugs this week", "Challenge complete: 3 wins by fri"}


def _streak(app: Flask, account: str) -> tuple[int, int]:
    with runtime_of(app).database.sessions() as session:
        row = session.scalars(select(StreakStat).where(StreakStat.member_id == member_id(app, account))).one()
        return row.current, row.best


# Mon, Tue, Thu, Fri and next Mon: Wednesday 11 November is missing.
GAP_WEEK = [resolved(f"TES-{n}", day(d)) for n, d in enumerate([0, 1, 3, 4, 7], start=1)]


def test_a_streak_freeze_protects_a_day_off(progress_app: Flask) -> None:
    deliver(progress_app, GAP_WEEK)
    cli(progress_app, "recompute", "tes", "--today", "2026-11-16")
    assert _streak(progress_app, "acc-ada") == (3, 3)
    assert not [w for w in engine_wins(progress_app) if w.kind == "streak"]
    ada = member_id(progress_app, "acc-ada")
    out = cli(progress_app, "member", "freeze", str(ada), "2026-11-11", "--today", "2026-11-16").output
    assert "2026-11-11 frozen in tes" in out
    assert _streak(progress_app, "acc-ada") == (5, 5)
    assert {w.title for w in engine_wins(progress_app) if w.kind == "streak"} == {"5-day win streak"}
    cli(progress_app, "member", "freeze", str(ada), "2026-11-11", "--today", "2026-11-16")  # again: no-op
    with runtime_of(progress_app).database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(StreakFreezeDay)) == 1


def test_a_team_holiday_breaks_nobodys_streak(progress_app: Flask) -> None:
    deliver(progress_app, GAP_WEEK)
    cli(progress_app, "team", "holiday", "tes", "2026-11-11", "--name", "Day off", "--today", "2026-11-16")
    assert _streak(progress_app, "acc-ada") == (5, 5)
    assert {w.title for w in engine_wins(progress_app) if w.kind == "streak"} == {
        "5-day win streak",
        "Team 5-day win streak",
    }


def _team_totals(app: Flask) -> tuple[int, float]:
    with runtime_of(app).database.sessions() as session:
        count, points = session.execute(
            select(func.count(), func.coalesce(func.sum(Win.points), 0.0)).where(
                Win.kind.in_(["ticket", "manual", "kudos"]), Win.status == "active"
            )
        ).one()
        return count, float(points)


def test_export_then_forget_keeps_team_totals(progress_app: Flask) -> None:
    deliver(
        progress_app, [sprint_started(), *GAP_WEEK, resolved("TES-9", day(2), ("acc-bob", "Bob"), points=5)]
    )
    ada = member_id(progress_app, "acc-ada")
    cli(progress_app, "member", "freeze", str(ada), "2026-11-11", "--today", "2026-11-16")
    cli(
        progress_app,
        "challenge",
        "add",
        "tes",
        "3 wins by fri",
        "--member",
        str(ada),
        "--today",
        "2026-11-09",
    )
    exported = json.loads(cli(progress_app, "member", "export", str(ada)).output)
    assert exported["member"]["display_name"] == "Ada"
    assert exported["member"]["jira_account_id"] == "acc-ada"
    assert {w["source_key"] for w in exported["wins"] if w["kind"] == "ticket"} == {
        f"TES-{n}" for n in range(1, 6)
    }
    assert {w["kind"] for w in exported["wins"]} >= {"ticket", "badge", "streak"}
    assert [f["day"] for f in exported["streak_freezes"]] == ["2026-11-11"]
    assert [c["title"] for c in exported["challenges"]] == ["3 wins by fri"]
    assert exported["streaks"] and exported["assigned_tickets"] == [f"TES-{n}" for n in range(1, 6)]

    totals = _team_totals(progress_app)
    out = cli(progress_app, "member", "forget", str(ada), "--yes", "--today", "2026-11-16").output
    assert "6 wins kept anonymously" in out  # 5 tickets and the first win of the sprint
    assert _team_totals(progress_app) == totals
    with runtime_of(progress_app).database.sessions() as session:
        assert session.get(Member, ada) is None
        assert session.scalar(select(func.count()).select_from(ChallengeRow)) == 0
        assert session.scalar(select(func.count()).select_from(StreakFreezeDay)) == 0
        anonymous = session.scalars(select(Win).where(Win.kind == "ticket", Win.member_id.is_(None))).all()
        assert {w.source_key for w in anonymous} == {f"TES-{n}" for n in range(1, 6)}
    # Her badges and streaks are gone; Bob keeps his; the team streak still counts her days.
    assert {
        w.member.display_name for w in engine_wins(progress_app) if w.kind in {"badge", "streak"} and w.member
    } == {"Bob"}
    # Bob's Wednesday fills the team's gap; her anonymous days still carry the team streak.
    assert "Team 5-day win streak" in {w.title for w in engine_wins(progress_app)}
    assert "no member with id" in cli(progress_app, "member", "export", str(ada), ok=False).output
    # Idempotent after the fact: a recompute finds nothing left to change.
    assert "nothing changed" in cli(progress_app, "recompute", "tes", "--today", "2026-11-16").output
