"""When a team's digest is posted, computed in the team's own time zone.

Pure calendar arithmetic: callers pass ``now``/``after``; nothing here reads the clock.

Wall-clock times follow PEP 495 on DST changes: a time skipped by a spring-forward moves forward
by the gap (02:30 becomes 03:30), an ambiguous autumn time uses its first occurrence, so a digest
is never posted twice on the night the clocks go back.

Returned datetimes are in UTC: Python compares and subtracts two datetimes that share a
``ZoneInfo`` by wall clock, which is wrong across DST changes.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_GRACE = timedelta(hours=6)
DEFAULT_DAILY_TIME = time(9, 0)
DEFAULT_WEEKLY_TIME = time(16, 0)

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_ALIASES = {
    **{name: index for index, name in enumerate(WEEKDAY_NAMES)},
    **{
        full: index
        for index, full in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}
_TIME_RE = re.compile(r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<meridiem>am|pm)?")
_INCLUDE_WEEKENDS = "include-weekends"
_POST_WHEN_EMPTY = "post-when-empty"

# Raw text: callers escape it (``service.domain.mrkdwn``) before showing it in Slack.
SCHEDULE_USAGE = (
    "Accepted schedules:\n"
    "• `daily [HH:MM] [include-weekends] [post-when-empty]`  e.g. `daily 09:30`\n"
    "• `weekly <mon…sun> [HH:MM] [post-when-empty]`  e.g. `weekly fri 16:00`\n"
    "• `sprint-end`  (post when a sprint closes)\n"
    "• `off`"
)


class ScheduleError(ValueError):
    """Schedule text that could not be parsed; ``str(err)`` ends with the accepted forms."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason}\n{SCHEDULE_USAGE}")
        self.reason = reason


class ScheduleKind(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    SPRINT_END = "sprint_end"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """How often a channel gets a digest. ``weekday`` is 0=Monday … 6=Sunday (weekly only)."""

    kind: ScheduleKind
    time: time = DEFAULT_DAILY_TIME
    weekday: int | None = None
    skip_weekends: bool = True
    post_when_empty: bool = False

    def __post_init__(self) -> None:
        if self.time.tzinfo is not None:
            raise ValueError("a schedule time is a wall-clock time; the team's time zone applies")
        if self.kind is ScheduleKind.WEEKLY and (self.weekday is None or not 0 <= self.weekday <= 6):
            raise ValueError("a weekly schedule needs a weekday between 0 (Monday) and 6 (Sunday)")
        if self.kind is not ScheduleKind.WEEKLY and self.weekday is not None:
            raise ValueError("only weekly schedules have a weekday")


@dataclass(frozen=True, slots=True)
class Period:
    """One digest's worth of time: ``[start, end)``, posted at ``end``; both in UTC.

    ``key`` is stable across processes and restarts ("daily:2026-11-23", "weekly:2026-W47"), so
    it can be a job id and part of the unique (team, channel, period) key.
    """

    key: str
    start: datetime
    end: datetime
    label: str

    @property
    def run_at(self) -> datetime:
        return self.end


def load_timezone(tz_name: str) -> ZoneInfo:
    """Return the IANA zone ``tz_name``; ValueError (never OSError) for anything that is not one."""
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: tzdata raises IsADirectoryError for region names such as "America".
        raise ValueError(f"unknown time zone {tz_name!r}; use an IANA name such as Europe/Berlin") from exc


def parse_schedule(args: str) -> DigestSchedule:
    """Parse ``daily 09:30``, ``weekly fri 16:00``, ``sprint-end`` or ``off`` (case-insensitive)."""
    tokens = args.lower().split()
    if not tokens:
        raise ScheduleError("Say which schedule you want.")
    head, rest = tokens[0], tokens[1:]
    if head in {"off", "none", "stop"}:
        _reject_extra(head, rest)
        return DigestSchedule(ScheduleKind.OFF)
    if head in {"sprint-end", "sprint_end", "sprintend"}:
        _reject_extra(head, rest)
        return DigestSchedule(ScheduleKind.SPRINT_END)
    if head == "daily":
        flags = {token for token in rest if token in {_INCLUDE_WEEKENDS, _POST_WHEN_EMPTY}}
        rest = [token for token in rest if token not in flags]
        wall = _parse_time(rest[0]) if rest else DEFAULT_DAILY_TIME
        _reject_extra(head, rest[1:])
        return DigestSchedule(
            ScheduleKind.DAILY,
            time=wall,
            skip_weekends=_INCLUDE_WEEKENDS not in flags,
            post_when_empty=_POST_WHEN_EMPTY in flags,
        )
    if head == "weekly":
        flags = {token for token in rest if token == _POST_WHEN_EMPTY}
        rest = [token for token in rest if token not in flags]
        if not rest or rest[0] not in _WEEKDAY_ALIASES:
            raise ScheduleError("A weekly digest needs a day, e.g. `weekly fri 16:00`.")
        wall = _parse_time(rest[1]) if len(rest) > 1 else DEFAULT_WEEKLY_TIME
        _reject_extra(head, rest[2:])
        return DigestSchedule(
            ScheduleKind.WEEKLY,
            time=wall,
            weekday=_WEEKDAY_ALIASES[rest[0]],
            post_when_empty=_POST_WHEN_EMPTY in flags,
        )
    raise ScheduleError(f"Unknown schedule {args.strip()!r}.")


def format_schedule(schedule: DigestSchedule) -> str:
    """The canonical text for ``schedule``; ``parse_schedule`` reads it back to an equal value."""
    if schedule.kind is ScheduleKind.OFF:
        return "off"
    if schedule.kind is ScheduleKind.SPRINT_END:
        return "sprint-end"
    parts = [schedule.kind.value]
    if schedule.kind is ScheduleKind.WEEKLY:
        assert schedule.weekday is not None  # guaranteed by __post_init__
        parts.append(WEEKDAY_NAMES[schedule.weekday])
    parts.append(schedule.time.strftime("%H:%M"))
    if schedule.kind is ScheduleKind.DAILY and not schedule.skip_weekends:
        parts.append(_INCLUDE_WEEKENDS)
    if schedule.post_when_empty:
        parts.append(_POST_WHEN_EMPTY)
    return " ".join(parts)


def next_run(schedule: DigestSchedule, tz_name: str, after: datetime) -> datetime | None:
    """The first run strictly after ``after`` (in UTC); None for sprint-end/off."""
    _require_aware(after, "after")
    after = after.astimezone(UTC)
    if not _is_clock_driven(schedule):
        return None
    tz = load_timezone(tz_name)
    day = after.astimezone(tz).date()
    # A weekly schedule runs within 8 local dates; a DST shift can push today's slot behind ``after``.
    for offset in range(9):
        candidate_day = day + timedelta(days=offset)
        if _runs_on(schedule, candidate_day):
            run = _resolve_wall_time(candidate_day, schedule.time, tz)
            if run > after:
                return run
    raise AssertionError("unreachable: every clock-driven schedule runs within 9 days")


def previous_run(schedule: DigestSchedule, tz_name: str, at_or_before: datetime) -> datetime | None:
    """The latest run at or before ``at_or_before`` (in UTC); None for sprint-end/off."""
    _require_aware(at_or_before, "at_or_before")
    at_or_before = at_or_before.astimezone(UTC)
    if not _is_clock_driven(schedule):
        return None
    tz = load_timezone(tz_name)
    day = at_or_before.astimezone(tz).date()
    for offset in range(9):
        candidate_day = day - timedelta(days=offset)
        if _runs_on(schedule, candidate_day):
            run = _resolve_wall_time(candidate_day, schedule.time, tz)
            if run <= at_or_before:
                return run
    raise AssertionError("unreachable: every clock-driven schedule runs within 9 days")


def due_period(
    schedule: DigestSchedule,
    tz_name: str,
    now: datetime,
    last_run_at: datetime | None,
    *,
    grace: timedelta = DEFAULT_GRACE,
) -> Period | None:
    """The one period that should be posted now, if any.

    Only the most recent run time ≤ ``now`` counts, and only if it is after ``last_run_at`` and no
    older than ``grace``: a scheduler that was paused or down for days posts nothing stale and never
    replays the periods it missed.
    """
    _require_aware(now, "now")
    now = now.astimezone(UTC)
    if last_run_at is not None:
        _require_aware(last_run_at, "last_run_at")
        last_run_at = last_run_at.astimezone(UTC)
    run = previous_run(schedule, tz_name, now)
    if run is None or now - run > grace:
        return None
    if last_run_at is not None and run <= last_run_at:
        return None
    return period_ending_at(schedule, tz_name, run)


def period_ending_at(schedule: DigestSchedule, tz_name: str, run: datetime) -> Period:
    """The period whose digest is posted at ``run`` (which must be one of the schedule's runs).

    It covers everything since the previous run: for a daily schedule that skips weekends,
    Monday's digest covers Friday's run to Monday's; a weekly one covers the 7 local days.
    """
    _require_aware(run, "run")
    run = run.astimezone(UTC)
    start = previous_run(schedule, tz_name, run - timedelta(microseconds=1))
    if start is None:
        raise ValueError(f"{schedule.kind.value} schedules have no clock-driven periods")
    tz = load_timezone(tz_name)
    local_day = run.astimezone(tz).date()
    if schedule.kind is ScheduleKind.WEEKLY:
        year, week, _ = local_day.isocalendar()
        # Seven days back to the previous run, so no win falls between two digests. "This week" means
        # Monday to Sunday everywhere else, so this period is named by its real start instead.
        label = f"Since last {start.astimezone(tz).strftime('%A')}"
        return Period(key=f"weekly:{year}-W{week:02d}", start=start, end=run, label=label)
    local_start = start.astimezone(tz)
    if local_start.date() == local_day - timedelta(days=1):
        label = "Since yesterday"
    else:
        label = f"Since {local_start.strftime('%A')}"
    return Period(key=f"daily:{local_day.isoformat()}", start=start, end=run, label=label)


def _resolve_wall_time(day: date, wall: time, tz: ZoneInfo) -> datetime:
    # fold=0 means: the first occurrence of an ambiguous time, and for a non-existent time the
    # offset in force before the gap, so the round trip through UTC lands after the gap.
    naive = datetime.combine(day, wall)
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _runs_on(schedule: DigestSchedule, day: date) -> bool:
    if schedule.kind is ScheduleKind.WEEKLY:
        return day.weekday() == schedule.weekday
    return not (schedule.skip_weekends and day.weekday() >= 5)


def _is_clock_driven(schedule: DigestSchedule) -> bool:
    return schedule.kind in {ScheduleKind.DAILY, ScheduleKind.WEEKLY}


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _parse_time(token: str) -> time:
    match = _TIME_RE.fullmatch(token)
    if match is None or (match.group("minute") is None and match.group("meridiem") is None):
        raise ScheduleError(f"{token!r} is not a time; use 24-hour HH:MM such as 09:30.")
    hour, minute = int(match.group("hour")), int(match.group("minute") or 0)
    meridiem = match.group("meridiem")
    if meridiem is not None:
        if not 1 <= hour <= 12:
            raise ScheduleError(f"{token!r} is not a time; use 24-hour HH:MM such as 09:30.")
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ScheduleError(f"{token!r} is not a time; use 24-hour HH:MM such as 09:30.")
    return time(hour, minute)


def _reject_extra(head: str, extra: list[str]) -> None:
    if extra:
        raise ScheduleError(f"Unexpected {' '.join(extra)!r} after {head!r}.")
