from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.schedule import (
    DigestSchedule,
    ScheduleError,
    ScheduleKind,
    due_period,
    format_schedule,
    load_timezone,
    next_run,
    parse_schedule,
    period_ending_at,
    previous_run,
)

DAILY_0930 = DigestSchedule(ScheduleKind.DAILY, time(9, 30))
DAILY_0230_ALL_DAYS = DigestSchedule(ScheduleKind.DAILY, time(2, 30), skip_weekends=False)
WEEKLY_FRI_1600 = DigestSchedule(ScheduleKind.WEEKLY, time(16, 0), weekday=4)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
AUCKLAND = "Pacific/Auckland"


def local(tz_name: str, text: str) -> datetime:
    """A wall-clock time in ``tz_name``, first occurrence if ambiguous."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz_name))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily 09:30", DigestSchedule(ScheduleKind.DAILY, time(9, 30))),
        ("DAILY 9:30", DigestSchedule(ScheduleKind.DAILY, time(9, 30))),
        ("daily", DigestSchedule(ScheduleKind.DAILY, time(9, 0))),
        ("daily 8am", DigestSchedule(ScheduleKind.DAILY, time(8, 0))),
        ("daily 12:15am", DigestSchedule(ScheduleKind.DAILY, time(0, 15))),
        (
            "daily 07:00 include-weekends post-when-empty",
            DigestSchedule(ScheduleKind.DAILY, time(7, 0), skip_weekends=False, post_when_empty=True),
        ),
        ("weekly fri 16:00", DigestSchedule(ScheduleKind.WEEKLY, time(16, 0), weekday=4)),
        ("Weekly Monday 4pm", DigestSchedule(ScheduleKind.WEEKLY, time(16, 0), weekday=0)),
        ("weekly sun", DigestSchedule(ScheduleKind.WEEKLY, time(16, 0), weekday=6)),
        (
            "weekly thurs 10:00 post-when-empty",
            DigestSchedule(ScheduleKind.WEEKLY, time(10, 0), weekday=3, post_when_empty=True),
        ),
        ("sprint-end", DigestSchedule(ScheduleKind.SPRINT_END)),
        ("  Sprint_End ", DigestSchedule(ScheduleKind.SPRINT_END)),
        ("OFF", DigestSchedule(ScheduleKind.OFF)),
    ],
)
def test_parse_schedule_accepts_documented_forms(text: str, expected: DigestSchedule) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "Say which schedule"),
        ("hourly", "Unknown schedule"),
        ("daily 25:00", "is not a time"),
        ("daily 09:60", "is not a time"),
        ("daily 9", "is not a time"),
        ("daily 13pm", "is not a time"),
        ("weekly 16:00", "needs a day"),
        ("weekly someday 16:00", "needs a day"),
        ("off now", "Unexpected"),
        ("daily 09:30 10:30", "Unexpected"),
        ("weekly fri 16:00 include-weekends", "Unexpected"),
    ],
)
def test_parse_schedule_errors_explain_and_list_accepted_forms(text: str, reason: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text)
    assert reason in caught.value.reason
    assert "weekly fri 16:00" in str(caught.value)  # the accepted forms are listed
    assert isinstance(caught.value, ValueError)


schedules = st.one_of(
    st.builds(
        DigestSchedule,
        kind=st.just(ScheduleKind.DAILY),
        time=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
        skip_weekends=st.booleans(),
        post_when_empty=st.booleans(),
    ),
    st.builds(
        DigestSchedule,
        kind=st.just(ScheduleKind.WEEKLY),
        time=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
        weekday=st.integers(0, 6),
        post_when_empty=st.booleans(),
    ),
)


@given(schedules)
def test_format_schedule_round_trips(schedule: DigestSchedule) -> None:
    assert parse_schedule(format_schedule(schedule)) == schedule


def test_schedule_rejects_inconsistent_values() -> None:
    with pytest.raises(ValueError, match="weekday"):
        DigestSchedule(ScheduleKind.WEEKLY, time(9, 0))
    with pytest.raises(ValueError, match="only weekly"):
        DigestSchedule(ScheduleKind.DAILY, time(9, 0), weekday=1)
    with pytest.raises(ValueError, match="wall-clock"):
        DigestSchedule(ScheduleKind.DAILY, time(9, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("schedule", "tz_name", "after", "expected"),
    [
        # Ordinary days, Berlin winter time.
        (DAILY_0930, BERLIN, "2026-11-23T09:00", "2026-11-23T09:30:00+01:00"),
        # Strictly after: a run at exactly ``after`` is not the next one.
        (DAILY_0930, BERLIN, "2026-11-23T09:30", "2026-11-24T09:30:00+01:00"),
        # Friday after the run: the weekend is skipped.
        (DAILY_0930, BERLIN, "2026-11-20T10:00", "2026-11-23T09:30:00+01:00"),
        (DAILY_0930, BERLIN, "2026-11-21T08:00", "2026-11-23T09:30:00+01:00"),
        (
            DigestSchedule(ScheduleKind.DAILY, time(9, 30), skip_weekends=False),
            BERLIN,
            "2026-11-20T10:00",
            "2026-11-21T09:30:00+01:00",
        ),
        # Berlin spring forward (2026-03-29 02:00 -> 03:00): 02:30 does not exist, moves to 03:30.
        (DAILY_0230_ALL_DAYS, BERLIN, "2026-03-28T12:00", "2026-03-29T03:30:00+02:00"),
        (DAILY_0230_ALL_DAYS, BERLIN, "2026-03-29T03:31", "2026-03-30T02:30:00+02:00"),
        # Berlin fall back (2026-10-25 03:00 -> 02:00): 02:30 happens twice, the first one counts...
        (DAILY_0230_ALL_DAYS, BERLIN, "2026-10-24T12:00", "2026-10-25T02:30:00+02:00"),
        # ...and the second occurrence is not a second run.
        (DAILY_0230_ALL_DAYS, BERLIN, "2026-10-25T02:30", "2026-10-26T02:30:00+01:00"),
        # A 09:30 run keeps its wall time across the change.
        (DAILY_0930, BERLIN, "2026-03-27T10:00", "2026-03-30T09:30:00+02:00"),
        # New York spring forward (2026-03-08 02:00 -> 03:00) and fall back (2026-11-01 02:00 -> 01:00).
        (
            DigestSchedule(ScheduleKind.DAILY, time(2, 15), skip_weekends=False),
            NEW_YORK,
            "2026-03-07T12:00",
            "2026-03-08T03:15:00-04:00",
        ),
        (
            DigestSchedule(ScheduleKind.DAILY, time(1, 30), skip_weekends=False),
            NEW_YORK,
            "2026-10-31T12:00",
            "2026-11-01T01:30:00-04:00",
        ),
        (
            DigestSchedule(ScheduleKind.DAILY, time(1, 30), skip_weekends=False),
            NEW_YORK,
            "2026-11-01T01:30",
            "2026-11-02T01:30:00-05:00",
        ),
        # Weekly.
        (WEEKLY_FRI_1600, BERLIN, "2026-11-18T09:00", "2026-11-20T16:00:00+01:00"),
        (WEEKLY_FRI_1600, BERLIN, "2026-11-20T16:00", "2026-11-27T16:00:00+01:00"),
        (
            DigestSchedule(ScheduleKind.WEEKLY, time(2, 30), weekday=6),
            BERLIN,
            "2026-03-22T12:00",
            "2026-03-29T03:30:00+02:00",
        ),
        # Auckland: DST starts 2026-09-27, so Monday's offset changes from +12 to +13.
        (
            DigestSchedule(ScheduleKind.WEEKLY, time(9, 0), weekday=0),
            AUCKLAND,
            "2026-09-22T12:00",
            "2026-09-28T09:00:00+13:00",
        ),
        (DAILY_0930, AUCKLAND, "2026-11-23T10:00", "2026-11-24T09:30:00+13:00"),
        # UTC.
        (
            DigestSchedule(ScheduleKind.DAILY, time(0, 0)),
            "UTC",
            "2026-11-23T00:00",
            "2026-11-24T00:00:00+00:00",
        ),
    ],
)
def test_next_run(schedule: DigestSchedule, tz_name: str, after: str, expected: str) -> None:
    run = next_run(schedule, tz_name, local(tz_name, after))
    assert run is not None
    assert run.tzinfo is UTC  # safe to compare and subtract, unlike same-zone wall-clock datetimes
    assert run.astimezone(ZoneInfo(tz_name)).isoformat() == expected


def test_next_run_uses_the_team_zone_not_utc_dates() -> None:
    # 21:00 UTC on Sunday is already Monday 10:00 in Auckland, after Monday's run.
    after = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)
    assert next_run(DAILY_0930, AUCKLAND, after) == local(AUCKLAND, "2026-11-24T09:30")
    assert next_run(DAILY_0930, BERLIN, after) == local(BERLIN, "2026-11-23T09:30")


@pytest.mark.parametrize("kind", [ScheduleKind.SPRINT_END, ScheduleKind.OFF])
def test_event_driven_schedules_have_no_clock_runs(kind: ScheduleKind) -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert next_run(DigestSchedule(kind), BERLIN, now) is None
    assert due_period(DigestSchedule(kind), BERLIN, now, None) is None


def test_naive_datetimes_and_unknown_zones_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run(DAILY_0930, BERLIN, datetime(2026, 11, 23, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        due_period(DAILY_0930, BERLIN, datetime(2026, 11, 23, 9, tzinfo=UTC), datetime(2026, 11, 20))
    for bad in ("Mars/Base", "America", "../etc/passwd", ""):
        with pytest.raises(ValueError, match="unknown time zone"):
            load_timezone(bad)


def test_due_period_daily_monday_covers_since_friday() -> None:
    period = due_period(DAILY_0930, BERLIN, local(BERLIN, "2026-11-23T10:00"), None)
    assert period is not None
    assert period.key == "daily:2026-11-23"
    assert period.start == local(BERLIN, "2026-11-20T09:30")
    assert period.end == period.run_at == local(BERLIN, "2026-11-23T09:30")
    assert period.label == "Since Friday"


def test_due_period_daily_tuesday_covers_since_yesterday() -> None:
    period = due_period(DAILY_0930, BERLIN, local(BERLIN, "2026-11-24T09:30"), None)
    assert period is not None
    assert period.key == "daily:2026-11-24"
    assert period.start == local(BERLIN, "2026-11-23T09:30")
    assert period.label == "Since yesterday"


@pytest.mark.parametrize(
    ("now", "last_run_at", "grace_hours", "expected_key"),
    [
        # Run time not reached yet today; Friday's run is far outside the grace window.
        ("2026-11-23T09:29", None, 6, None),
        # Already posted this period.
        ("2026-11-23T10:00", "2026-11-23T09:30", 6, None),
        # Posted the previous period: this one is due.
        ("2026-11-23T10:00", "2026-11-20T09:30", 6, "daily:2026-11-23"),
        # 6.5 hours late: stale by default, fine with a wider grace window.
        ("2026-11-23T16:00", None, 6, None),
        ("2026-11-23T16:00", None, 8, "daily:2026-11-23"),
        # Saturday: no run today, Friday's is stale.
        ("2026-11-21T09:45", None, 6, None),
    ],
)
def test_due_period_window(
    now: str, last_run_at: str | None, grace_hours: int, expected_key: str | None
) -> None:
    period = due_period(
        DAILY_0930,
        BERLIN,
        local(BERLIN, now),
        local(BERLIN, last_run_at) if last_run_at else None,
        grace=timedelta(hours=grace_hours),
    )
    assert (period.key if period else None) == expected_key


def test_paused_scheduler_does_not_replay_missed_periods() -> None:
    last_run = local(BERLIN, "2026-11-02T09:30")
    now = local(BERLIN, "2026-11-23T09:35")
    period = due_period(DAILY_0930, BERLIN, now, last_run)
    # Only the latest period, covering the usual span, not the three weeks since the last post.
    assert period is not None
    assert period.key == "daily:2026-11-23"
    assert period.start == local(BERLIN, "2026-11-20T09:30")
    # Once it is posted, ticking again (even much later the same day) yields nothing more.
    for minutes in (1, 60, 300):
        assert due_period(DAILY_0930, BERLIN, now + timedelta(minutes=minutes), period.end) is None


def test_due_period_weekly_covers_seven_days() -> None:
    period = due_period(WEEKLY_FRI_1600, BERLIN, local(BERLIN, "2026-11-20T16:05"), None)
    assert period is not None
    assert period.key == "weekly:2026-W47"
    assert period.start == local(BERLIN, "2026-11-13T16:00")
    assert period.end == local(BERLIN, "2026-11-20T16:00")
    # Not "This week", which means Monday to Sunday: the period is named by where it starts.
    assert period.label == "Since last Friday"


def test_weekly_period_across_fall_back_is_seven_local_days() -> None:
    schedule = DigestSchedule(ScheduleKind.WEEKLY, time(12, 0), weekday=6)
    period = period_ending_at(schedule, BERLIN, local(BERLIN, "2026-10-25T12:00"))
    assert period.key == "weekly:2026-W43"
    assert period.start.astimezone(ZoneInfo(BERLIN)).isoformat() == "2026-10-18T12:00:00+02:00"
    assert period.end.astimezone(ZoneInfo(BERLIN)).isoformat() == "2026-10-25T12:00:00+01:00"
    assert period.end - period.start == timedelta(days=7, hours=1)


def test_second_occurrence_of_an_ambiguous_time_is_not_before_the_first() -> None:
    # 02:10 CET (second pass, 01:10 UTC) is after the 02:30 CEST run (00:30 UTC), even though its
    # wall clock reads earlier: the next run is the following day, not the one already gone.
    second_pass = datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=ZoneInfo(BERLIN))
    run = next_run(DAILY_0230_ALL_DAYS, BERLIN, second_pass)
    assert run == local(BERLIN, "2026-10-26T02:30")


def test_daily_period_on_new_york_fall_back_night() -> None:
    schedule = DigestSchedule(ScheduleKind.DAILY, time(1, 30), skip_weekends=False)
    # The second 01:30 (EST) is after the first (EDT) run: that run is the one due, and only once.
    second_occurrence = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    period = due_period(schedule, NEW_YORK, second_occurrence, None)
    assert period is not None
    assert period.key == "daily:2026-11-01"
    assert period.end.astimezone(ZoneInfo(NEW_YORK)).isoformat() == "2026-11-01T01:30:00-04:00"
    assert due_period(schedule, NEW_YORK, second_occurrence, period.end) is None


ZONES = [BERLIN, NEW_YORK, AUCKLAND, "UTC", "Australia/Sydney", "America/Sao_Paulo", "Asia/Kolkata"]


@given(
    schedule=schedules,
    tz_name=st.sampled_from(ZONES),
    after=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
)
def test_next_run_is_after_and_on_the_wall_time(
    schedule: DigestSchedule, tz_name: str, after: datetime
) -> None:
    tz = ZoneInfo(tz_name)
    run = next_run(schedule, tz_name, after)
    assert run is not None
    assert run > after
    assert run - after <= timedelta(days=8)
    run_local = run.astimezone(tz)
    wanted = datetime.combine(run_local.date(), schedule.time)
    exists = wanted.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wanted
    if exists:
        assert run_local.replace(tzinfo=None) == wanted
    else:  # spring-forward gap: shifted forward by the gap, never backwards
        shift = run_local.replace(tzinfo=None) - wanted
        assert timedelta(0) < shift <= timedelta(hours=1)
    if schedule.kind is ScheduleKind.WEEKLY:
        assert run_local.weekday() == schedule.weekday
    elif schedule.skip_weekends:
        assert run_local.weekday() < 5
    # No run was skipped between ``after`` and ``run``.
    earlier = previous_run(schedule, tz_name, run - timedelta(microseconds=1))
    assert earlier is not None and earlier <= after
    # And at that moment the run's period is due, exactly once.
    period = due_period(schedule, tz_name, run, None)
    assert period is not None and period.end == run
    assert due_period(schedule, tz_name, run, run) is None
