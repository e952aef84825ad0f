"""A team's wins by day and by week in its own time zone, and the calendar heatmap drawn from them.

Pure values: the dashboard's read models hand in the moments wins happened and the team's zone; the
templates draw the cells this module places. A day is the team's day (a win at 23:30 in Berlin is on
that Berlin date), and a week runs Monday to Sunday, as the team's digests count them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

HEATMAP_WEEKS = 53
CELL = 11  # px, the side of a day's square
GAP = 2  # px between squares
LEFT = 28  # px for the weekday labels
TOP = 16  # px for the month labels
LEVELS = 4  # shades above "no win"


def local_days(moments: Iterable[datetime], zone: ZoneInfo) -> Counter[date]:
    """How many of ``moments`` fall on each of the team's local dates."""
    return Counter(moment.astimezone(zone).date() for moment in moments)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The UTC moment the team's ``day`` begins (a DST change makes some days 23 or 25 hours long)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def week_bounds(today: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """This week, Monday 00:00 to the next Monday 00:00 in the team's zone, as UTC moments."""
    monday = monday_of(today)
    return day_start(monday, zone), day_start(monday + timedelta(days=7), zone)


def weekly_counts(per_day: Mapping[date, int], today: date, weeks: int) -> list[tuple[date, int]]:
    """The last ``weeks`` weeks (this one included, oldest first): each Monday and its wins."""
    this_monday = monday_of(today)
    mondays = [this_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    totals = Counter({m: 0 for m in mondays})
    first = mondays[0]
    for day, count in per_day.items():
        if first <= day <= today:
            totals[monday_of(day)] += count
    return [(m, totals[m]) for m in mondays]


def daily_counts(per_day: Mapping[date, int], today: date, days: int) -> list[tuple[date, int]]:
    """The last ``days`` days, today included, oldest first."""
    return [(d, per_day.get(d, 0)) for d in (today - timedelta(days=n) for n in range(days - 1, -1, -1))]


@dataclass(frozen=True, slots=True)
class HeatCell:
    day: date
    count: int
    level: int  # 0 for no win, then 1..LEVELS by share of the busiest day
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class MonthLabel:
    name: str
    x: int


@dataclass(frozen=True, slots=True)
class Heatmap:
    cells: tuple[HeatCell, ...]
    months: tuple[MonthLabel, ...]
    width: int
    height: int
    total: int
    busiest: int
    first_day: date
    last_day: date

    def weeks(self) -> list[list[HeatCell]]:
        """The cells a week at a time (the text alternative's rows)."""
        rows: list[list[HeatCell]] = []
        for cell in self.cells:
            if not rows or cell.day.weekday() == 0:
                rows.append([])
            rows[-1].append(cell)
        return rows


def level_of(count: int, busiest: int) -> int:
    if count <= 0 or busiest <= 0:
        return 0
    return max(1, min(LEVELS, -(-count * LEVELS // busiest)))


def heatmap(per_day: Mapping[date, int], today: date, weeks: int = HEATMAP_WEEKS) -> Heatmap:
    """GitHub's layout: one column per week (Monday on top), the last column ending today."""
    first = monday_of(today) - timedelta(weeks=weeks - 1)
    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    counts = [per_day.get(d, 0) for d in days]
    busiest = max(counts, default=0)
    step = CELL + GAP
    cells = tuple(
        HeatCell(d, c, level_of(c, busiest), LEFT + ((d - first).days // 7) * step, TOP + d.weekday() * step)
        for d, c in zip(days, counts, strict=True)
    )
    months: list[MonthLabel] = []
    for cell in cells:
        if cell.day.day == 1 or cell is cells[0]:
            label = MonthLabel(cell.day.strftime("%b"), cell.x)
            # A month that starts in the last days of the first column would overlap the next label.
            if months and label.x - months[-1].x < 3 * step:
                months[-1] = label
            else:
                months.append(label)
    return Heatmap(
        cells=cells,
        months=tuple(months),
        width=LEFT + weeks * step,
        height=TOP + 7 * step,
        total=sum(counts),
        busiest=busiest,
        first_day=first,
        last_day=today,
    )
