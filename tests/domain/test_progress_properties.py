"""Properties of the progress engine: order independence and live == recompute."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain.calendar import TeamCalendar
from service.domain.challenges import Challenge
from service.domain.progress import ProgressResult, ProgressState, recompute
from service.domain.progress_inputs import RecordedWin, StreakFreeze, sort_key
from service.domain.sprint_scope import SprintScope
from service.domain.team_rules import TeamRules
from service.domain.win_columns import WinColumns
from service.domain.wins import WinKind, WinStatus

BASE = datetime(2024, 3, 1, tzinfo=UTC)  # spans the March DST switches in Europe and the US
TODAY = date(2024, 5, 1)
MEMBERS = ("ann", "bob", "cat")
CALENDARS = (
    TeamCalendar("Europe/Berlin", frozenset({date(2024, 3, 29), date(2024, 4, 1)})),
    TeamCalendar("America/New_York"),
    TeamCalendar("Asia/Tokyo", working_weekdays=frozenset({0, 1, 2, 3, 6})),
)
RULES = (
    TeamRules(streak_thresholds=(2, 3, 5), comeback_pause_days=3, bug_squasher_bugs=2),
    TeamRules(
        issue_types=frozenset({"story"}), min_points=1, streak_thresholds=(2, 4), comeback_pause_days=2
    ),
    TeamRules(
        required_labels=frozenset({"web", "infra"}),
        excluded_labels=frozenset({"chore"}),
        projects=frozenset({"WEB", "OPS"}),
        count_subtasks=False,
        streak_thresholds=(2, 3),
        bug_squasher_bugs=2,
    ),
)
SPRINTS = (
    SprintScope(
        "S1",
        "Sprint 1",
        BASE,
        BASE + timedelta(days=14),
        BASE + timedelta(days=14),
        frozenset({"A-1", "A-2", "B-1"}),
        6.0,
        {"A-1": (BASE + timedelta(days=2), 3.0), "A-2": (BASE + timedelta(days=5), 2.0), "B-1": (BASE, 1.0)},
        {"A-1": "ann", "A-2": "ann", "B-1": "bob"},
    ),
    SprintScope(
        "S2",
        "Sprint 2",
        BASE + timedelta(days=14),
        BASE + timedelta(days=28),
        BASE + timedelta(days=28),
        frozenset({"C-1"}),
        8.0,
        {"C-1": (BASE + timedelta(days=20), 8.0)},
        {"C-1": "cat"},
    ),
)
CHALLENGES = (
    Challenge(1, "team", "ten wins", "wins", 10, date(2024, 3, 4), date(2024, 3, 10)),
    Challenge(2, "ann", "daily", "daily_wins", 3, date(2024, 3, 1), date(2024, 4, 30)),
    Challenge(3, "team", "estimates", "estimated_stories", 100, date(2024, 3, 11), date(2024, 3, 17)),
    Challenge(4, "bob", "points", "points", 6, date(2024, 3, 1), date(2024, 4, 30)),
)


@st.composite
def win_lists(draw: st.DrawFn) -> list[RecordedWin]:
    count = draw(st.integers(0, 60))
    wins = []
    for win_id in range(count):
        kind = draw(
            st.sampled_from([WinKind.TICKET, WinKind.TICKET, WinKind.MANUAL, WinKind.KUDOS, WinKind.BADGE])
        )
        # Coarse 90-minute steps over ~7 weeks: plenty of equal instants and late-evening wins.
        occurred = BASE + timedelta(minutes=90 * draw(st.integers(0, 16 * 7 * 7)))
        wins.append(
            RecordedWin(
                id=win_id,
                kind=kind,
                status=draw(st.sampled_from([WinStatus.ACTIVE] * 5 + [WinStatus.RETRACTED])),
                member_ref=draw(st.sampled_from([*MEMBERS, None])),
                occurred_at=occurred,
                points=draw(st.sampled_from([None, 0.5, 1.0, 3.0])),
                source_key=f"K-{win_id}",
                issue_type=draw(st.sampled_from(["Story", "Bug", None])),
                sprint_ref=draw(st.sampled_from(["S1", "S2", "S9", None])),
                is_bug=draw(st.booleans()),
                kudos_from=draw(st.sampled_from(MEMBERS)) if kind == WinKind.KUDOS else None,
                labels=draw(st.sampled_from([(), ("web",), ("infra", "web"), ("chore", "web"), ("chore",)])),
                project_key=draw(st.sampled_from(["WEB", "OPS", "LAB", None])),
                is_subtask=draw(st.booleans()),
            )
        )
    return wins


freezes = st.lists(
    st.builds(StreakFreeze, st.sampled_from(MEMBERS), st.dates(date(2024, 3, 1), date(2024, 4, 20))),
    max_size=4,
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# A history to recompute: wins, a calendar, rules, freezes, and a random source to reorder them.
histories = given(
    win_lists(),
    st.sampled_from(CALENDARS),
    st.sampled_from(RULES),
    freezes,
    st.randoms(use_true_random=False),
)


def run(
    wins: list[RecordedWin] | WinColumns, calendar: TeamCalendar, rules: TeamRules, frozen: list[StreakFreeze]
) -> ProgressResult:
    return recompute(wins, SPRINTS, calendar, rules, frozen, TODAY, challenges=CHALLENGES, team_ref="t1")


@SETTINGS
@histories
def test_recompute_is_order_independent_and_repeatable(
    wins: list[RecordedWin], calendar: TeamCalendar, rules: TeamRules, frozen: list[StreakFreeze], rnd
) -> None:  # type: ignore[no-untyped-def]
    first = run(wins, calendar, rules, frozen)
    shuffled = rnd.sample(wins, len(wins))
    assert run(shuffled, calendar, rules, frozen) == first
    assert run(wins, calendar, rules, frozen) == first
    keys = [(d.kind, d.source_key) for d in first.drafts]
    assert len(keys) == len(set(keys)), "duplicate draft identity"


@SETTINGS
@histories
def test_columns_give_exactly_the_result_of_wins(
    wins: list[RecordedWin], calendar: TeamCalendar, rules: TeamRules, frozen: list[StreakFreeze], rnd
) -> None:  # type: ignore[no-untyped-def]
    """The store hands large histories over as columns: every draft, streak and challenge is the same,
    whether the columns come in (occurred_at, id) order or not."""
    expected = run(wins, calendar, rules, frozen)
    assert run(WinColumns.of(sorted(wins, key=sort_key)), calendar, rules, frozen) == expected
    assert run(WinColumns.of(rnd.sample(wins, len(wins))), calendar, rules, frozen) == expected
    # Without what only ticket filters read: enough for rules that count every ticket, refused by others.
    bare = replace(WinColumns.of(wins), labels=None, project_keys=None, is_subtask=None)
    if rules.counts_every_ticket:
        assert run(bare, calendar, rules, frozen) == expected
    else:
        with pytest.raises(ValueError, match="filter tickets"):
            run(bare, calendar, rules, frozen)


@SETTINGS
@given(win_lists(), st.sampled_from(CALENDARS), st.sampled_from(RULES), freezes)
def test_incremental_in_time_order_emits_exactly_what_recompute_returns(
    wins: list[RecordedWin], calendar: TeamCalendar, rules: TeamRules, frozen: list[StreakFreeze]
) -> None:
    expected = run(wins, calendar, rules, frozen)
    state = ProgressState(
        calendar, rules, freezes=frozen, sprints=SPRINTS, challenges=CHALLENGES, issue_ages=(), team_ref="t1"
    )
    emitted = state.sync_sprints()
    for win in sorted(wins, key=sort_key):
        emitted += state.apply(win)
    emitted += state.advance_to(TODAY)
    assert sorted(emitted, key=repr) == sorted(expected.drafts, key=repr)
    assert state.drafts == expected.drafts
    assert state.member_streaks(TODAY) == expected.member_streaks
    assert state.team_streak(TODAY) == expected.team_streak
    assert state.challenge_progress() == expected.challenges


@SETTINGS
@given(win_lists(), st.sampled_from(CALENDARS), st.sampled_from(RULES), st.randoms(use_true_random=False))
def test_incremental_in_any_arrival_order_ends_in_the_recomputed_state(
    wins: list[RecordedWin], calendar: TeamCalendar, rules: TeamRules, rnd
) -> None:  # type: ignore[no-untyped-def]
    state = ProgressState(calendar, rules, sprints=SPRINTS, challenges=CHALLENGES, team_ref="t1")
    state.advance_to(TODAY)
    emitted: set[tuple[str, str]] = set()
    for win in rnd.sample(wins, len(wins)):
        for draft in state.apply(win):
            identity = (draft.kind.value, draft.source_key)
            assert identity not in emitted, "the same draft was returned twice"
            emitted.add(identity)
    state.sync_sprints()
    assert state.drafts == run(wins, calendar, rules, []).drafts


@SETTINGS
@given(win_lists(), st.sampled_from(CALENDARS))
def test_streak_days_follow_the_team_local_date(wins: list[RecordedWin], calendar: TeamCalendar) -> None:
    """Shifting every win to the same local wall-clock time in another zone keeps the streaks."""
    rules = RULES[0]
    here = run(wins, calendar, rules, [])
    other = CALENDARS[(CALENDARS.index(calendar) + 1) % len(CALENDARS)]
    moved = [
        RecordedWin(
            **{
                **{f: getattr(w, f) for f in RecordedWin.__slots__},
                "occurred_at": w.occurred_at.astimezone(calendar.tz).replace(tzinfo=other.tz).astimezone(UTC),
            }
        )
        for w in wins
    ]
    # Compare in a calendar that only differs by zone, so holidays/weekdays line up.
    same_days = TeamCalendar(other.timezone, calendar.holidays, calendar.working_weekdays)
    there = recompute(moved, (), same_days, rules, (), TODAY, team_ref="t1")
    here_no_sprints = recompute(wins, (), calendar, rules, (), TODAY, team_ref="t1")
    assert there.member_streaks == here_no_sprints.member_streaks
    assert there.team_streak == here_no_sprints.team_streak
    streak_keys = {d.source_key for d in here.drafts if d.kind == WinKind.STREAK}
    assert {d.source_key for d in there.drafts if d.kind == WinKind.STREAK} == streak_keys
