from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.domain.calendar import TeamCalendar
from service.domain.challenges import Challenge, ChallengeProgress, challenge_progress, parse_challenge_spec
from service.domain.progress_inputs import RecordedWin
from service.domain.wins import WinKind, WinStatus

CALENDAR = TeamCalendar("Europe/Berlin", frozenset({date(2024, 6, 6)}))  # Thursday 6 June is a holiday
WED = date(2024, 6, 5)
MON = date(2024, 6, 3)


def win(
    win_id: int, day: date, member: str = "ann", hour: int = 12, kind: WinKind = WinKind.TICKET, **kw: object
) -> RecordedWin:
    occurred = datetime.combine(day, time(hour), tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    return RecordedWin(win_id, kind, WinStatus.ACTIVE, member, occurred, **kw)  # type: ignore[arg-type]


def days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


@pytest.mark.parametrize(
    ("text", "metric", "target", "starts", "ends"),
    [
        # "This week" is Monday to Sunday of the current week; other windows start today.
        ("close 5 bugs this week", "bugs_closed", 5, MON, date(2024, 6, 9)),
        ("Fix three bugs by fri!", "bugs_closed", 3, WED, date(2024, 6, 7)),
        ("5 wins by fri", "wins", 5, WED, date(2024, 6, 7)),
        ("5 wins by wed", "wins", 5, WED, WED),
        ("2 small wins by tomorrow", "wins", 2, WED, date(2024, 6, 6)),
        ("10 wins by 2024-06-30", "wins", 10, WED, date(2024, 6, 30)),
        ("score 20 points this week", "points", 20, MON, date(2024, 6, 9)),
        ("every finished story has points this week", "estimated_stories", 100, MON, date(2024, 6, 9)),
        # Five working days from Wednesday, skipping the holiday and the weekend.
        ("one small win a day for 5 days", "daily_wins", 5, WED, date(2024, 6, 12)),
        ("  a win a day for 2 working days ", "daily_wins", 2, WED, date(2024, 6, 7)),
    ],
)
def test_parse_challenge_spec(text: str, metric: str, target: float, starts: date, ends: date) -> None:
    spec = parse_challenge_spec(text, today=WED, calendar=CALENDAR)
    assert (spec.metric, spec.target, spec.starts_on, spec.ends_on) == (metric, target, starts, ends)
    challenge = spec.to_challenge(7, "team")
    assert (challenge.id, challenge.owner, challenge.metric) == (7, "team", metric)
    assert challenge.title.casefold() == " ".join(text.strip().rstrip("!").split()).casefold()


@pytest.mark.parametrize(
    "today",
    [date(2026, 11, 30) + timedelta(days=n) for n in range(7)],  # every day of the week, Sunday too
    ids=lambda day: f"{day:%a}",
)
def test_this_week_is_monday_to_sunday_whatever_day_it_is(today: date) -> None:
    spec = parse_challenge_spec("close 5 bugs this week", today=today, calendar=CALENDAR)
    assert (spec.starts_on, spec.ends_on) == (date(2026, 11, 30), date(2026, 12, 6))


def test_a_this_week_challenge_counts_the_weeks_wins_from_monday() -> None:
    sunday = date(2024, 6, 9)
    spec = parse_challenge_spec("close 2 bugs this week", today=sunday, calendar=CALENDAR)
    wins = [win(1, MON, is_bug=True), win(2, sunday, is_bug=True), win(3, date(2024, 6, 2), is_bug=True)]
    progress = challenge_progress(spec.to_challenge(1, "team"), wins, CALENDAR)
    assert (progress.done, progress.completed_at) == (2, wins[1].occurred_at)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "say what the challenge is"),
        ("make everyone happy", "can't read 'make everyone happy' as a challenge; try one of: close 5 bugs"),
        ("close many bugs this week", "'many' is not a number"),
        ("close 0 bugs this week", "between 1 and 1000"),
        ("5 wins by someday", "can't read the day 'someday'"),
        ("5 wins by 2024-06-01", "2024-06-01 is already over"),
        ("5 wins by 9999-12-31", "must end within 3660 days"),
        ("5 wins eventually", "can't tell when 'eventually' ends"),
        ("two wins a day for 5 days", "one win a day"),
    ],
)
def test_parse_errors_are_clear(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_challenge_spec(text, today=WED, calendar=CALENDAR)


def challenge(metric: str, target: float, scope: str = "team", ends: date = date(2024, 6, 9)) -> Challenge:
    return Challenge(1, scope, "t", metric, target, WED, ends)


@pytest.mark.parametrize(
    ("metric", "target", "wins", "expected_done", "completed_by"),
    [
        ("wins", 3, [win(1, WED), win(2, WED), win(3, date(2024, 6, 7))], 3, 3),
        # A win before the window and a win of another scope do not count.
        ("wins", 2, [win(1, date(2024, 6, 4)), win(2, WED)], 1, None),
        ("bugs_closed", 2, [win(1, WED, is_bug=True), win(2, WED), win(3, WED, is_bug=True)], 2, 3),
        ("points", 5, [win(1, WED, points=3.0), win(2, WED, points=None), win(3, WED, points=2.0)], 5, 3),
        # Wed, (Thu holiday), Fri, (weekend), Mon: three working days in a row.
        ("daily_wins", 3, [win(1, WED), win(2, date(2024, 6, 7)), win(3, date(2024, 6, 10))], 3, 3),
        ("daily_wins", 3, [win(1, WED), win(2, date(2024, 6, 10))], 1, None),  # Friday was missed
    ],
)
def test_challenge_progress(
    metric: str, target: float, wins: list[RecordedWin], expected_done: float, completed_by: int | None
) -> None:
    progress = challenge_progress(challenge(metric, target, ends=date(2024, 6, 14)), wins[::-1], CALENDAR)
    expected_at = next((w.occurred_at for w in wins if w.id == completed_by), None)
    assert progress == ChallengeProgress(expected_done, target, expected_at)


def test_personal_challenge_only_counts_that_person() -> None:
    wins = [win(1, WED, "bob"), win(2, WED, "ann"), win(3, WED, "bob")]
    assert (
        challenge_progress(challenge("wins", 2, scope="bob"), wins, CALENDAR).completed_at
        == wins[2].occurred_at
    )


@pytest.mark.parametrize(
    ("points", "today", "completed"),
    [
        ([3.0, 5.0], date(2024, 6, 10), True),
        ([3.0, None], date(2024, 6, 10), False),
        ([3.0, 5.0], date(2024, 6, 9), False),  # the week is not over yet
        ([], date(2024, 6, 10), False),  # no story finished: nothing to celebrate
    ],
)
def test_every_finished_story_has_points(points: list[float | None], today: date, completed: bool) -> None:
    wins = [win(i, WED, issue_type="Story", points=p) for i, p in enumerate(points)]
    wins.append(win(99, WED, issue_type="Task", points=None))  # only stories are judged
    progress = challenge_progress(challenge("estimated_stories", 100), wins, CALENDAR, today=today)
    assert progress.completed is completed
    if completed:
        assert progress.completed_at == datetime(2024, 6, 9, 22, tzinfo=UTC)  # Monday 00:00 in Berlin


def test_challenge_validation() -> None:
    with pytest.raises(ValueError, match="metric: must be one of"):
        challenge("smiles", 1)
    with pytest.raises(ValueError, match="ends_on"):
        Challenge(1, "team", "t", "wins", 1, WED, WED - timedelta(days=1))
