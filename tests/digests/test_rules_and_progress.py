"""Digests follow the team's rules and lead with progress, on wins that went through the real pipeline."""

from __future__ import annotations

from flask import Flask

from tests.progress.conftest import (
    TODAY,
    cli,
    day,
    deliver,
    engine_wins,
    progress_app,
    resolved,
    sprint_started,
)

__all__ = ["progress_app"]  # the fixture, run on SQLite and on Postgres

PROGRESS = ":chart_with_upwards_trend: *Progress*"


def _sprint_of_mixed_tickets(app: Flask) -> None:
    deliver(
        app,
        [
            sprint_started(),
            resolved("TES-1", day(0)),
            resolved("TES-2", day(1), ("acc-bob", "Bob"), issue_type="Bug"),
            resolved("TES-3", day(2)),
            resolved("TES-4", day(3), issue_type="Task"),
        ],
    )
    cli(app, "recompute", "tes", "--today", TODAY)


def _preview(app: Flask) -> str:
    return cli(app, "digest", "preview", "tes", "--period", "sprint").output


def test_the_teams_rules_decide_what_a_digest_lists_and_counts(progress_app: Flask) -> None:
    _sprint_of_mixed_tickets(progress_app)
    before = _preview(progress_app)
    assert before.startswith(":tada: Sprint 7: 4 wins, 12 points")
    assert all(f"TES-{n}: " in before for n in (1, 2, 3, 4))

    cli(progress_app, "rules", "set", "tes", "issue_types=Bug", "--today", TODAY)
    after = _preview(progress_app)

    assert after.startswith(":tada: Sprint 7: 1 win, 3 points")
    assert "TES-2: " in after
    for left_out in ("TES-1: ", "TES-3: ", "TES-4: "):
        assert left_out not in after
    # What the engine retracted (Ada's first-win badge and her first win of the sprint) is gone too.
    assert "Ada: First win" not in after and "Ada" not in after
    assert "• :medal: Bob: First win" in after
    retracted = engine_wins(progress_app, "retracted")
    assert retracted  # the engine took Ada's badge back; the digest no longer shows it either
    for win in retracted:
        assert win.member is not None
        shown = f"{win.member.display_name}: {win.title}"
        assert shown in before and shown not in after


def test_a_sprint_digest_leads_with_its_burn_up_and_every_milestone(progress_app: Flask) -> None:
    _sprint_of_mixed_tickets(progress_app)
    out = _preview(progress_app)
    lines = out.split("\n")

    assert lines[2] == "Also: 7 milestones · 2 badges"  # counted apart from the 4 wins
    assert lines[3] == PROGRESS
    assert lines[4] == "• *Sprint 7* `▓▓▓▓▓▓▓▓▓▓` 100% · 12 of 12 points · 0 days left"
    progress = lines[4 : lines.index("*Top wins*")]
    for step in (25, 50, 75, 100):
        assert f"• :dart: Sprint 7: {step}% of the committed scope done" in progress
    assert "• :dart: Sprint 7: all committed scope done before the sprint ends" in progress
    assert "• :dart: Sprint 7: closed TES-1, the oldest open ticket" in progress
    assert "• :dart: Ada: First win of Sprint 7" in progress
    assert "more" not in out
    assert _preview(progress_app) == out  # the same period renders the same digest
