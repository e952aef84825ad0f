"""The heatmap's days, weeks and cells, in the team's time zone (pure, table-driven)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from service.domain import heatmap


@pytest.mark.parametrize(
    ("moment", "zone", "day"),
    [
        (datetime(2026, 3, 1, 23, 30, tzinfo=UTC), "Europe/Berlin", date(2026, 3, 2)),
        (datetime(2026, 3, 2, 3, 0, tzinfo=UTC), "America/Los_Angeles", date(2026, 3, 1)),
        (datetime(2026, 3, 2, 3, 0, tzinfo=UTC), "UTC", date(2026, 3, 2)),
    ],
)
def test_a_win_falls_on_the_teams_local_day(moment: datetime, zone: str, day: date) -> None:
    assert heatmap.local_days([moment], ZoneInfo(zone)) == {day: 1}


def test_week_bounds_run_monday_to_monday_in_the_teams_zone() -> None:
    since, until = heatmap.week_bounds(date(2026, 12, 6), ZoneInfo("Europe/Berlin"))  # a Sunday
    assert since == datetime(2026, 11, 29, 23, 0, tzinfo=UTC) and until == datetime(
        2026, 12, 6, 23, 0, tzinfo=UTC
    )


def test_heatmap_has_53_week_columns_ending_today_with_every_count() -> None:
    today = date(2026, 12, 6)
    counts = {date(2026, 12, 1): 3, date(2026, 1, 5): 1, date(2025, 1, 1): 9}  # the last is too old
    grid = heatmap.heatmap(counts, today)
    assert grid.cells[-1].day == today and grid.cells[0].day.weekday() == 0
    assert len({c.x for c in grid.cells}) == 53
    assert {c.day: c.count for c in grid.cells if c.count} == {date(2026, 12, 1): 3, date(2026, 1, 5): 1}
    assert grid.total == 4 and grid.busiest == 3
    assert [c.level for c in grid.cells if c.count] == [2, 4]
    assert all(len(week) == 7 for week in grid.weeks()[:-1])


@pytest.mark.parametrize(
    ("count", "busiest", "level"), [(0, 5, 0), (1, 100, 1), (5, 5, 4), (3, 4, 3), (2, 0, 0)]
)
def test_levels(count: int, busiest: int, level: int) -> None:
    assert heatmap.level_of(count, busiest) == level


def test_weekly_counts_cover_the_weeks_asked_oldest_first() -> None:
    per_day = {date(2026, 12, 6): 2, date(2026, 11, 30): 1, date(2026, 11, 29): 4}
    assert heatmap.weekly_counts(per_day, date(2026, 12, 6), 2) == [
        (date(2026, 11, 23), 4),
        (date(2026, 11, 30), 3),
    ]
