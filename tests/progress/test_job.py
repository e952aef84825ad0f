"""update_progress on wins recorded by the real pipeline, on SQLite and on Postgres + Redis (RQ)."""

from __future__ import annotations

import random

from flask import Flask
from sqlalchemy import select

from jobs.progress import request_progress_update, update_progress
from service.models import Win
from service.models.progress import StreakStat
from service.web.extensions import runtime_of
from tests.jobs.helpers import run_jobs
from tests.progress.conftest import (
    TODAY,
    count_rows,
    day,
    deliver,
    engine_keys,
    engine_wins,
    member_id,
    resolved,
    sprint_started,
    team_id,
    team_ids,
)

# Ada closes a ticket on each working day of the sprint's first week and on the next Monday (a
# 6-day streak across a weekend); Bob closes one bug on Wednesday.
STORY = [
    sprint_started(),
    *(resolved(f"TES-{n}", day(d)) for n, d in enumerate([0, 1, 2, 3, 4, 7], start=1)),
    resolved("TES-50", day(2, 11), ("acc-bob", "Bob"), issue_type="Bug", points=2),
]


def _summaries(result: dict[str, dict[str, int]]) -> list[int]:
    return [v for summary in result.values() for v in summary.values()]


def test_recorded_wins_earn_streaks_badges_and_milestones(progress_app: Flask) -> None:
    deliver(progress_app, STORY)  # the pipeline asks for a recompute after each batch
    update_progress(team_ids(progress_app), TODAY)  # and again with today pinned, for the streak figures
    kinds = {(w.kind, w.title) for w in engine_wins(progress_app)}
    assert ("badge", "First win") in kinds
    assert ("streak", "5-day win streak") in kinds  # Mon-Fri
    assert ("streak", "Team 5-day win streak") in kinds
    assert ("milestone", "First win of Sprint 7") in kinds
    first_win_of_sprint = next(
        w for w in engine_wins(progress_app) if w.details.get("milestone") == "first_win_of_sprint"
    )
    assert first_win_of_sprint.member is not None and first_win_of_sprint.member.display_name == "Ada"
    badges = {
        (w.member.display_name, w.details["badge"])
        for w in engine_wins(progress_app)
        if w.kind == "badge" and w.member
    }
    assert {("Ada", "first_win"), ("Bob", "first_win")} <= badges
    ada = member_id(progress_app, "acc-ada")
    with runtime_of(progress_app).database.sessions() as session:
        stats = {(s.owner, s.member_id): s for s in session.scalars(select(StreakStat))}
    assert stats[("member", ada)].best == 6
    assert stats[("member", ada)].last_day.isoformat() == "2026-11-16"
    assert stats[("team", None)].best == 6


def test_running_twice_changes_nothing(progress_app: Flask) -> None:
    deliver(progress_app, STORY)
    update_progress(team_ids(progress_app), TODAY)
    wins_before = count_rows(progress_app, Win)
    stats_before = count_rows(progress_app, StreakStat)
    again = update_progress(team_ids(progress_app), TODAY)
    assert _summaries(again) == [0] * len(_summaries(again))
    assert (count_rows(progress_app, Win), count_rows(progress_app, StreakStat)) == (
        wins_before,
        stats_before,
    )


def test_two_delivery_orders_with_a_recompute_after_each_batch_end_the_same(progress_app: Flask) -> None:
    """Late webhooks change which win crossed a threshold; the stored engine wins follow the history."""
    forwards = list(STORY)
    deliver(progress_app, forwards, recompute_each=True)
    expected = engine_keys(progress_app)
    _empty(progress_app)
    shuffled = list(STORY)
    random.Random(3).shuffle(shuffled)
    shuffled.reverse()
    deliver(progress_app, shuffled, recompute_each=True)
    assert engine_keys(progress_app) == expected
    # Intermediate recomputes earned drafts that a later, earlier-dated win superseded: retracted.
    assert all(w.status in {"active", "retracted"} for w in engine_wins(progress_app, status=None))


def test_request_progress_update_goes_through_the_queue_once_per_team(progress_app: Flask) -> None:
    deliver(progress_app, STORY)
    tes = team_id(progress_app)
    queue = runtime_of(progress_app).queue
    assert request_progress_update([tes, tes]) == 1
    assert request_progress_update([tes], queue) == 0  # one is already waiting: coalesced
    run_jobs(progress_app)
    assert any(w.kind == "badge" for w in engine_wins(progress_app))
    assert request_progress_update([tes]) == 1  # the job cleared its flag


def test_a_reopened_ticket_retracts_what_only_it_earned(progress_app: Flask) -> None:
    from tests.jobs.helpers import issue_payload

    deliver(progress_app, [sprint_started(), resolved("TES-1", day(0), ("acc-bob", "Bob"))])
    update_progress(team_ids(progress_app), TODAY)
    assert {w.details.get("badge") for w in engine_wins(progress_app) if w.kind == "badge"} == {"first_win"}
    reopened = issue_payload(
        "webhook-issue-updated-reopened.json", key="TES-1", timestamp=int(day(0).timestamp() * 1000) + 5000
    )
    deliver(progress_app, [reopened])
    update_progress(team_ids(progress_app), TODAY)
    assert [w for w in engine_wins(progress_app) if w.kind == "badge"] == []
    [retracted] = [w for w in engine_wins(progress_app, status="retracted") if w.kind == "badge"]
    assert retracted.details["badge"] == "first_win"


def _empty(app: Flask) -> None:
    from service.models import Base
    from tests.conftest import restore_default_workspace

    with runtime_of(app).database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        restore_default_workspace(connection)
