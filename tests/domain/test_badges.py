import random
from datetime import UTC, date, datetime, timedelta

import pytest

from service.domain.badges import compute_win_badges, sprint_finisher_drafts
from service.domain.calendar import TeamCalendar
from service.domain.progress_inputs import RecordedWin
from service.domain.sprint_scope import SprintScope
from service.domain.team_rules import BADGE_NAMES, TeamRules
from service.domain.win_timeline import WinTimeline
from service.domain.wins import WinDraft, WinKind, WinStatus

CALENDAR = TeamCalendar("Europe/Berlin")
START = datetime(2024, 6, 3, 9, tzinfo=UTC)  # a Monday


def win(
    win_id: int,
    member: str | None = "ann",
    hours: float = 0,
    kind: WinKind = WinKind.TICKET,
    **kwargs: object,
) -> RecordedWin:
    return RecordedWin(
        win_id,
        kind,
        WinStatus.ACTIVE,
        member,
        START + timedelta(hours=hours),
        **kwargs,  # type: ignore[arg-type]
    )


def badges(wins: list[RecordedWin], rules: TeamRules | None = None) -> dict[str, WinDraft]:
    rules = rules or TeamRules()
    drafts = compute_win_badges(WinTimeline.build(wins, CALENDAR, rules), CALENDAR, rules)
    assert len({d.source_key for d in drafts}) == len(drafts), "a badge was awarded twice"
    return {d.source_key: d for d in drafts}


@pytest.mark.parametrize(
    ("wins", "key", "trigger"),
    [
        (1, "badge:first_win:ann", 0),
        (10, "badge:wins_10:ann", 9),
        (50, "badge:wins_50:ann", 49),
        (100, "badge:wins_100:ann", 99),
    ],
)
def test_win_count_badges_are_triggered_by_the_crossing_win(wins: int, key: str, trigger: int) -> None:
    history = [win(i, hours=i) for i in range(wins)]
    shuffled = random.Random(wins).sample(history, len(history))
    earned = badges(shuffled)
    assert earned[key].details["trigger_win_id"] == trigger
    assert earned[key].occurred_at == history[trigger].occurred_at
    assert earned[key].member_ref == "ann"
    assert len(badges(history[: wins - 1]).get(key, ())) == 0 if wins > 1 else True


def test_ties_on_occurred_at_are_broken_by_id() -> None:
    same_instant = [win(i, hours=1) for i in (7, 3, 5)]
    assert badges(same_instant)["badge:first_win:ann"].details["trigger_win_id"] == 3


@pytest.mark.parametrize(("needed", "bugs", "earned"), [(5, 4, False), (5, 5, True), (3, 3, True)])
def test_bug_squasher_threshold_is_a_rule_setting(needed: int, bugs: int, earned: bool) -> None:
    history = [win(i, hours=i, is_bug=i % 2 == 0) for i in range(2 * bugs)]
    result = badges(history, TeamRules(bug_squasher_bugs=needed))
    assert ("badge:bug_squasher:ann" in result) is earned
    if earned:
        assert result["badge:bug_squasher:ann"].details["trigger_win_id"] == 2 * (needed - 1)


def test_kudos_badges_go_to_giver_and_receiver() -> None:
    history = [
        win(1, "ann", 1, WinKind.KUDOS, kudos_from="bob"),
        win(2, "ann", 2, WinKind.KUDOS, kudos_from="cat"),
        win(3, "bob", 3, WinKind.KUDOS, kudos_from="ann"),
    ]
    result = badges(history)
    assert result["badge:first_kudos_received:ann"].details["trigger_win_id"] == 1
    assert result["badge:first_kudos_given:bob"].details["trigger_win_id"] == 1
    assert result["badge:first_kudos_given:cat"].details["trigger_win_id"] == 2
    assert result["badge:first_kudos_given:ann"].details["trigger_win_id"] == 3
    assert result["badge:first_kudos_given:cat"].member_ref == "cat"


@pytest.mark.parametrize(
    ("gap_days", "pause", "comeback"),
    [
        (14, 10, False),  # Mon -> Mon two weeks later: 9 working days in between
        (15, 10, True),  # Mon -> Tue: 10 working days in between
        (3, 3, False),  # Mon -> Thu: Tue, Wed
        (4, 3, True),  # Mon -> Fri: Tue, Wed, Thu
    ],
)
def test_comeback_after_a_pause_of_working_days(gap_days: int, pause: int, comeback: bool) -> None:
    history = [win(1, hours=0), win(2, hours=24 * gap_days), win(3, hours=24 * gap_days + 1)]
    result = badges(history, TeamRules(comeback_pause_days=pause))
    assert ("badge:comeback:ann" in result) is comeback
    if comeback:
        assert result["badge:comeback:ann"].details["trigger_win_id"] == 2


def test_holidays_are_not_part_of_a_pause() -> None:
    holidays = frozenset(date(2024, 6, 4) + timedelta(days=i) for i in range(3))
    calendar = TeamCalendar("Europe/Berlin", holidays)
    history = [win(1, hours=0), win(2, hours=24 * 4)]  # Mon -> Fri, Tue..Thu are holidays
    rules = TeamRules(comeback_pause_days=1)
    with_holidays = compute_win_badges(WinTimeline.build(history, calendar, rules), calendar, rules)
    assert "comeback" not in {d.details["badge"] for d in with_holidays}
    assert "comeback" in {
        d.details["badge"]
        for d in compute_win_badges(WinTimeline.build(history, CALENDAR, rules), CALENDAR, rules)
    }


def test_disabled_badges_are_not_awarded_and_team_wins_earn_none() -> None:
    rules = TeamRules(enabled_badges=BADGE_NAMES - {"first_win"})
    assert badges([win(1)], rules) == {}
    assert badges([win(1, member=None)]) == {}


def sprint(
    ref: str, done: dict[str, float], assignees: dict[str, str], completed_hours: float | None
) -> SprintScope:
    completed = None if completed_hours is None else START + timedelta(hours=completed_hours)
    return SprintScope(
        ref,
        ref,
        START,
        START + timedelta(days=14),
        completed,
        frozenset(assignees),
        0.0,
        {key: (START + timedelta(hours=h), None) for key, h in done.items()},
        assignees,
    )


def test_sprint_finisher_needs_all_own_committed_issues_done_by_completion() -> None:
    s1 = sprint(
        "S1",
        {"A-1": 1, "A-2": 5, "B-1": 2, "C-1": 30},  # C-1 is finished after the sprint closed
        {"A-1": "ann", "A-2": "ann", "B-1": "bob", "B-2": "bob", "C-1": "cat"},
        completed_hours=24,
    )
    s2 = sprint("S2", {"B-3": 40}, {"B-3": "bob", "A-9": "ann"}, completed_hours=48)
    open_sprint = sprint("S3", {"C-2": 50}, {"C-2": "cat"}, completed_hours=None)
    drafts = sprint_finisher_drafts([s2, open_sprint, s1], BADGE_NAMES)
    by_member = {d.member_ref: d for d in drafts}
    assert set(by_member) == {"ann", "bob"}
    assert by_member["ann"].details == {
        "badge": "sprint_finisher",
        "trigger_win_id": None,
        "sprint_ref": "S1",
        "trigger_issue_key": "A-2",
    }
    assert by_member["bob"].details["sprint_ref"] == "S2"
    assert by_member["bob"].occurred_at == START + timedelta(hours=48)
    assert sprint_finisher_drafts([s1], BADGE_NAMES - {"sprint_finisher"}) == []
