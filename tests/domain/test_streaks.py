from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.domain.calendar import TeamCalendar
from service.domain.progress_inputs import RecordedWin, StreakFreeze
from service.domain.streaks import StreakStats, compute_streaks
from service.domain.team_rules import TeamRules
from service.domain.win_timeline import WinTimeline
from service.domain.wins import WinKind, WinStatus

BERLIN = TeamCalendar("Europe/Berlin")


def local_win(
    win_id: int, member: str | None, day: date, tz: str = "Europe/Berlin", at: time = time(14)
) -> RecordedWin:
    occurred = datetime.combine(day, at, tzinfo=ZoneInfo(tz)).astimezone(UTC)
    return RecordedWin(win_id, WinKind.TICKET, WinStatus.ACTIVE, member, occurred)


def wins_on(days: list[str], member: str | None = "ann", **kwargs: object) -> list[RecordedWin]:
    return [local_win(i, member, date.fromisoformat(d), **kwargs) for i, d in enumerate(days)]  # type: ignore[arg-type]


def streaks(
    wins: list[RecordedWin],
    calendar: TeamCalendar = BERLIN,
    today: date = date(2024, 6, 28),
    freezes: tuple[StreakFreeze, ...] = (),
    rules: TeamRules | None = None,
):  # type: ignore[no-untyped-def]
    rules = rules or TeamRules()
    return compute_streaks(WinTimeline.build(wins, calendar, rules), calendar, rules, freezes, today, "t1")


def working_days(start: str, count: int, calendar: TeamCalendar = BERLIN) -> list[str]:
    day, out = date.fromisoformat(start), []
    while len(out) < count:
        if calendar.is_working_day(day):
            out.append(day.isoformat())
        day += timedelta(days=1)
    return out


# June 2024: Mon 3, Fri 7, Sat 8, Mon 10 ... Fri 14, Mon 17. Freezes are "member:day".
@pytest.mark.parametrize(
    ("days", "holidays", "freezes", "best", "team_best"),
    [
        (["2024-06-06", "2024-06-07", "2024-06-10", "2024-06-11", "2024-06-12"], (), (), 5, 5),  # Fri -> Mon
        (["2024-06-03", "2024-06-04", "2024-06-06", "2024-06-07", "2024-06-10"], ("2024-06-05",), (), 5, 5),
        # A freeze protects the person's streak; the team streak has no freezes.
        (
            ["2024-06-03", "2024-06-04", "2024-06-06", "2024-06-07", "2024-06-10"],
            (),
            ("ann:2024-06-05",),
            5,
            3,
        ),
        (["2024-06-03", "2024-06-04", "2024-06-06", "2024-06-07", "2024-06-10"], (), (), 3, 3),  # Wed missed
        (["2024-06-07", "2024-06-08", "2024-06-09", "2024-06-10"], (), (), 2, 2),  # weekend wins add nothing
        # Two frozen days in a row still bridge; frozen days without a win add nothing.
        (["2024-06-03", "2024-06-06", "2024-06-07"], (), ("ann:2024-06-04", "ann:2024-06-05"), 3, 2),
        # Someone else's freeze does not protect this person.
        (["2024-06-03", "2024-06-05"], (), ("bob:2024-06-04",), 1, 1),
    ],
)
def test_streak_days_skip_weekends_holidays_and_freezes(
    days: list[str], holidays: tuple[str, ...], freezes: tuple[str, ...], best: int, team_best: int
) -> None:
    calendar = TeamCalendar("Europe/Berlin", frozenset(date.fromisoformat(d) for d in holidays))
    frozen = tuple(
        StreakFreeze(member, date.fromisoformat(day)) for member, day in (f.split(":") for f in freezes)
    )
    outcome = streaks(wins_on(days), calendar, freezes=frozen)
    assert outcome.member_stats["ann"].best == best
    assert outcome.team_stats.best == team_best
    five = [d for d in outcome.drafts if d.details["threshold"] == 5]
    assert len(five) == (best >= 5) + (team_best >= 5)


@pytest.mark.parametrize(
    ("today", "current"),
    [
        (date(2024, 6, 14), 5),  # last day is today
        (date(2024, 6, 15), 5),  # Saturday: Friday was the previous working day
        (date(2024, 6, 17), 5),  # Monday, today not over yet
        (date(2024, 6, 18), 0),  # Tuesday: Monday passed without a win
    ],
)
def test_current_streak_as_of_today(today: date, current: int) -> None:
    stats = streaks(wins_on(working_days("2024-06-10", 5)), today=today).member_stats["ann"]
    assert stats == StreakStats(current, 5, date(2024, 6, 10) if current else None, date(2024, 6, 14))


def test_current_streak_survives_a_frozen_yesterday() -> None:
    wins = wins_on(working_days("2024-06-10", 5))
    outcome = streaks(wins, today=date(2024, 6, 18), freezes=(StreakFreeze("ann", date(2024, 6, 17)),))
    assert outcome.member_stats["ann"].current == 5


def test_thresholds_fire_once_per_run_and_again_after_a_break() -> None:
    first_run = working_days("2024-01-01", 30, TeamCalendar("Europe/Berlin"))
    second_run = working_days("2024-03-04", 5)
    outcome = streaks(wins_on(first_run + second_run), today=date(2024, 3, 8))
    keys = sorted(d.source_key for d in outcome.drafts if d.member_ref == "ann")
    assert keys == [
        "streak:member:ann:10:2024-01-01",
        "streak:member:ann:30:2024-01-01",
        "streak:member:ann:5:2024-01-01",
        "streak:member:ann:5:2024-03-04",
    ]
    team_keys = sorted(d.source_key for d in outcome.drafts if d.member_ref is None)
    assert team_keys == [k.replace("member:ann", "team:t1") for k in keys]
    assert outcome.member_stats["ann"] == StreakStats(5, 30, date(2024, 3, 4), date(2024, 3, 8))


def test_threshold_draft_is_triggered_by_the_first_win_of_the_day_that_reached_it() -> None:
    days = working_days("2024-06-03", 5)
    wins = wins_on(days)
    late = local_win(100, "ann", date(2024, 6, 7), at=time(18))
    early = local_win(101, "ann", date(2024, 6, 7), at=time(8))
    outcome = streaks([*wins, late, early])
    (draft,) = [d for d in outcome.drafts if d.member_ref == "ann"]
    assert draft.details["trigger_win_id"] == 101
    assert draft.occurred_at == early.occurred_at


def test_custom_thresholds_and_disabled_scopes() -> None:
    rules = TeamRules(streak_thresholds=(2,), enabled_streaks=frozenset({"team"}))
    outcome = streaks(wins_on(working_days("2024-06-03", 3)), rules=rules)
    assert [d.source_key for d in outcome.drafts] == ["streak:team:t1:2:2024-06-03"]


def test_team_streak_counts_any_member() -> None:
    days = working_days("2024-06-03", 5)
    wins = [local_win(i, "ann" if i % 2 else "bob", date.fromisoformat(d)) for i, d in enumerate(days)]
    outcome = streaks(wins)
    assert outcome.team_stats.best == 5
    assert outcome.member_stats["ann"].best == 1 and outcome.member_stats["bob"].best == 1
    assert [d.source_key for d in outcome.drafts] == ["streak:team:t1:5:2024-06-03"]


def test_retracted_and_engine_wins_do_not_count() -> None:
    wins = wins_on(working_days("2024-06-03", 5))
    retracted = RecordedWin(99, WinKind.TICKET, WinStatus.RETRACTED, "ann", wins[2].occurred_at)
    badge = RecordedWin(98, WinKind.BADGE, WinStatus.ACTIVE, "ann", wins[2].occurred_at)
    outcome = streaks([w for w in wins if w.id != 2] + [retracted, badge])
    assert outcome.member_stats["ann"].best == 2


def test_late_evening_local_is_a_different_day_than_utc() -> None:
    # 23:30 in New York on Mon..Fri is already Tue..Sat in UTC.
    days = working_days("2024-06-03", 5)
    wins = wins_on(days, tz="America/New_York", at=time(23, 30))
    assert streaks(wins, TeamCalendar("America/New_York")).member_stats["ann"].best == 5
    assert streaks(wins, TeamCalendar("UTC")).member_stats["ann"].best == 4  # Saturday doesn't count


@pytest.mark.parametrize(
    ("tz", "first_day"),
    [
        ("Europe/Berlin", "2024-03-25"),  # clocks go forward on Sunday 31 March
        ("Europe/Berlin", "2024-10-21"),  # and back on Sunday 27 October
        ("America/New_York", "2024-03-04"),  # forward on Sunday 10 March
        ("America/New_York", "2024-10-28"),  # back on Sunday 3 November
    ],
)
@pytest.mark.parametrize("at", [time(0, 30), time(23, 30)])
def test_streaks_across_dst_transitions_use_local_dates(tz: str, first_day: str, at: time) -> None:
    calendar = TeamCalendar(tz)
    days = working_days(first_day, 10, calendar)
    wins = wins_on(days, tz=tz, at=at)
    outcome = streaks(wins, calendar, today=date.fromisoformat(days[-1]))
    assert outcome.member_stats["ann"] == StreakStats(
        10, 10, date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    )
    assert {d.details["threshold"] for d in outcome.drafts} == {5, 10}


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"])
def test_days_are_cut_exactly_at_local_midnight_around_dst(tz: str) -> None:
    calendar = TeamCalendar(tz)
    instants = [datetime(2024, 3, 8, tzinfo=UTC) + timedelta(minutes=15 * i) for i in range(4 * 24 * 60)]
    wins = [RecordedWin(i, WinKind.MANUAL, WinStatus.ACTIVE, "ann", at) for i, at in enumerate(instants)]
    timeline = WinTimeline.build(wins, calendar, TeamRules())
    for day in timeline.days:
        for win in timeline.wins[day.start : day.end]:
            assert win.occurred_at.astimezone(ZoneInfo(tz)).date().toordinal() == day.ordinal


def test_calendar_rejects_unknown_zone_and_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="unknown IANA time zone 'Mars/Base'"):
        TeamCalendar("Mars/Base")
    with pytest.raises(ValueError, match="timezone-aware"):
        BERLIN.local_date(datetime(2024, 1, 1))
