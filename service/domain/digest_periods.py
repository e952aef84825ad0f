"""Digest periods other than the scheduled ones, and the keys that make each digest unique.

A digest row is unique on (team, channel, period key), so a key names exactly one digest: the
scheduled periods build theirs in ``service.domain.schedule`` ("weekly:2026-W47"); this module
builds the keys of a digest run by hand (``digest preview|run``: this week, today, this sprint) and
of a sprint-end celebration. "This week" is always Monday to Sunday of the team's current week, for a
digest as for a challenge (``current_week``).

A sprint's period keys hold our sprint row id. That is not a sprint win's ``source_key``
(``service.domain.sprints.sprint_win_key``), which holds Jira's sprint id.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta

from service.domain.schedule import Period, load_timezone

SPRINT_END_KEY_PREFIX = "sprint-end:"
# A sprint Jira reports without a start date is taken to be the usual two weeks long.
ASSUMED_SPRINT_LENGTH = timedelta(days=14)


class RunPeriod(enum.StrEnum):
    """The periods ``sprintwins digest preview|run`` can show now."""

    WEEK = "week"
    DAY = "day"
    SPRINT = "sprint"


def sprint_period_key(sprint_id: int) -> str:
    """The key of a digest over one sprint so far (``--period sprint``), by our sprint row id."""
    return f"sprint:{sprint_id}"


def sprint_end_period_key(sprint_id: int) -> str:
    """The key of a sprint's end celebration, by our sprint row id: one celebration per channel."""
    return f"{SPRINT_END_KEY_PREFIX}{sprint_id}"


def run_now_period_key(period_key: str) -> str:
    """A digest posted by hand is kept apart from the scheduled digest of the same period."""
    return f"now-{period_key}"


def current_week(today: date) -> tuple[date, date]:
    """The Monday and the Sunday of the week ``today`` (a local date) is in."""
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


def period_so_far(which: RunPeriod, tz_name: str, now: datetime) -> Period:
    """This week (Monday to Sunday) or today up to ``now``, in the team's time zone.

    ``RunPeriod.SPRINT`` is built from the sprint (``sprint_so_far``).
    """
    tz = load_timezone(tz_name)
    local_now = now.astimezone(tz)
    if which is RunPeriod.DAY:
        midnight = datetime.combine(local_now.date(), time(0), tzinfo=tz).astimezone(UTC)
        return Period(key=f"day:{local_now.date().isoformat()}", start=midnight, end=now, label="Today")
    if which is RunPeriod.WEEK:
        monday, _ = current_week(local_now.date())
        start = datetime.combine(monday, time(0), tzinfo=tz).astimezone(UTC)
        # The whole week, Monday to Sunday, whatever day it is: a win stamped a little ahead of our
        # clock still belongs to it, and the footer names the week people mean.
        end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz).astimezone(UTC)
        year, week, _ = local_now.date().isocalendar()
        return Period(key=f"week:{year}-W{week:02d}", start=start, end=end, label="This week")
    raise ValueError("a sprint's period is built from the sprint: use sprint_so_far")


def sprint_so_far(sprint_id: int, name: str | None, start: datetime | None, end: datetime) -> Period:
    """A sprint from its start up to ``end`` (now for an active sprint, its completion otherwise)."""
    return Period(
        key=sprint_period_key(sprint_id),
        start=start or end - ASSUMED_SPRINT_LENGTH,
        end=end,
        label=name or "This sprint",
    )


def sprint_end_period(sprint_id: int, start: datetime | None, end: datetime) -> Period:
    """The whole of a finished sprint, for its celebration's highlights; ``end`` itself included."""
    return Period(
        key=sprint_end_period_key(sprint_id),
        start=start or end - ASSUMED_SPRINT_LENGTH,
        end=end + timedelta(seconds=1),
        label="",
    )
