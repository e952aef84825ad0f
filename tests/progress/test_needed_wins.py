"""Postgres hands the engine only the wins a recompute reads; the result equals the whole history's.

Histories are dense (dozens of wins a day per person, many at the same instant) so that the count
badges, the bug squasher and streaks are earned mid-day, with kudos, team-level wins, wins without a
ticket, retractions, tickets in several sprints and challenges of every metric, in zones with and
without daylight saving time.
"""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from service.db import Database
from service.domain.calendar import TeamCalendar
from service.domain.challenges import Challenge
from service.domain.progress_needs import challenge_spans, day_starts, ranks_read
from service.domain.team_rules import TeamRules
from service.domain.win_columns import WinColumns
from service.models import Member, Sprint, Team, Ticket, Win, sprint_tickets
from service.models.progress import ChallengeRow
from service.progress.load import load_team_inputs
from service.progress.load_sprints import load_sprints as _load_sprints
from service.progress.load_wins import COUNTED_KIND_NAMES, TICKETS_LOOKED_UP, win_columns_sql
from service.progress.load_wins import load_win_columns as _load_win_columns
from service.progress.needed_wins import BUG_SPELLINGS as _BUG_SPELLINGS
from service.progress.needed_wins import NEEDED_WINS
from service.progress.needed_wins import read_chosen as _read_chosen
from service.progress.recompute import run_recompute
from service.progress.refs import TeamRefs
from service.progress.sql import binary_cursor
from tests.progress.conftest import win_row

MEMBERS = [None, 1, 2, 3, 4, 5, 5, 5, 5]  # person 5 holds most wins

START = datetime(2026, 3, 20, 6, 0, tzinfo=UTC)  # Berlin and Santiago change their clocks within the history
DAYS = 30
TODAY = date(2026, 4, 25)
RULES: dict[str, dict[str, Any]] = {
    "default": {},
    "many bugs": {"bug_squasher_bugs": 40, "streak_thresholds": [2, 3, 4]},
    "more bugs than anyone has": {"bug_squasher_bugs": 5000},
    "no count badges": {"enabled_badges": ["bug_squasher", "first_kudos_given", "first_kudos_received"]},
    "only count badges": {"enabled_badges": ["wins_10", "wins_50"], "enabled_milestones": []},
}
ZONES = ["Europe/Berlin", "America/Santiago", "Asia/Kathmandu", "UTC"]


def seed(database: Database, history: int, zone: str, rules: dict[str, Any]) -> None:
    rng = random.Random(history)
    at = lambda: START + timedelta(minutes=20 * rng.randrange(0, 72 * DAYS))  # noqa: E731 (ties on purpose)
    with database.transaction() as session:
        session.execute(insert(Team), [{"id": 1, "slug": "t", "name": "T", "timezone": zone, "rules": rules}])
        session.execute(
            insert(Member),
            [{"id": m, "jira_account_id": f"a{m}", "display_name": f"P{m}"} for m in range(1, 6)],
        )
        session.execute(
            insert(Sprint),
            [
                {
                    "id": n,
                    "jira_id": n,  # the engine names a sprint by Jira's id
                    "team_id": 1,
                    "name": f"S{n}",
                    "state": "deleted" if n == 4 else "closed",
                    "start_at": START + timedelta(days=8 * (n - 1)),
                    "end_at": START + timedelta(days=8 * (n - 1) + 10),  # overlapping windows
                }
                for n in range(1, 5)
            ],
        )
        tickets = [
            {
                "id": n,
                "team_id": 1,
                "issue_key": f"T-{n}",
                "project_key": "T",
                "issue_type": rng.choice(["Story", "Bug", "bug", "BUG", "Task", None]),
                "points": rng.choice([None, 1.0, 3.0]),
            }
            for n in range(1, 2401)
        ]
        session.execute(insert(Ticket), tickets)
        # A ticket sits in the sprints whose window holds its win (two where they overlap), now and then
        # in none: each sprint's first win comes late in the history.
        done_at = {n: at() for n in range(1, 2401)}
        links = {
            (s, n)
            for n, won in done_at.items()
            for s in range(1, 5)
            if timedelta(0) <= won - START - timedelta(days=8 * (s - 1)) < timedelta(days=10)
            and rng.random() < 0.9
        }
        session.execute(insert(sprint_tickets), [{"sprint_id": s, "ticket_id": t} for s, t in sorted(links)])
        wins: list[dict[str, Any]] = []

        def win(kind: str, source: str, key: str, **extra: Any) -> None:
            row = win_row(
                rng, len(wins) + 1, kind, source, key, at=at, now=START, retracted=0.05, members=MEMBERS
            )
            wins.append({**row, **extra})

        for n in range(1, 2301):
            win("ticket", "jira", f"T-{n}", occurred_at=done_at[n])
        for n in range(40):
            win("ticket", "jira", f"GONE-{n}")  # no ticket row
        for n in range(150):
            win("manual", "slack", f"m-{n}")
        for n in range(120):
            giver = rng.choice([{"member_id": rng.randrange(1, 6)}, {"member_id": None, "forgotten": True}])
            late = START + timedelta(days=12, minutes=20 * rng.randrange(0, 72 * 10))  # after the first wins
            win("kudos", "slack", f"k-{n}", details={"kudos_from": giver}, occurred_at=late)
        # Everyone's day opens with a manual win, so the first win of a sprint or the first kudos is
        # no person's first of the day and must be picked for what it is.
        calendar = TeamCalendar(zone)
        for day in range(DAYS + 1):
            opens = calendar.start_of_day(START.date() + timedelta(days=day)) + timedelta(seconds=1)
            for member in (None, 1, 2, 3, 4, 5):
                win("manual", "slack", f"early-{day}-{member}", member_id=member, occurred_at=opens)
        # One person's history opens with well over a thousand manual wins, so their first bugs lie beyond
        # the wins looked through for each person's first bugs.
        for n in range(1200):
            win(
                "manual",
                "slack",
                f"warmup-{n}",
                member_id=4,
                occurred_at=START - timedelta(days=2, minutes=-2 * n),
            )
        win("badge", "engine", "badge:first_win:1:1")
        session.execute(insert(Win), wins)
        metrics = ["wins", "bugs_closed", "points", "estimated_stories", "daily_wins"]
        session.execute(
            insert(ChallengeRow),
            [
                {
                    "id": n,
                    "team_id": 1,
                    "owner": "team" if n % 2 else "member",
                    "member_id": None if n % 2 else rng.randrange(1, 6),
                    "title": f"C{n}",
                    "metric": metrics[n % 5],
                    "target": rng.choice([3, 20, 100]),
                    "starts_on": (START + timedelta(days=first)).date(),
                    "ends_on": (START + timedelta(days=first + rng.randrange(0, 4))).date(),
                }
                for n, first in enumerate([2, 3, 9, 18, 20, 45], start=1)  # the last one after every win
            ],
        )
        for table in ("teams", "members", "sprints", "tickets", "wins", "challenges"):
            session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
            )


@pytest.mark.postgres
@pytest.mark.parametrize("rules", list(RULES))
@pytest.mark.parametrize("zone", ZONES)
def test_the_needed_wins_give_the_whole_historys_result(postgres: Database, zone: str, rules: str) -> None:
    seed(postgres, 10 * ZONES.index(zone) + list(RULES).index(rules), zone, RULES[rules])
    with postgres.transaction() as session:
        inputs = load_team_inputs(session, 1)
        _, ticket_sprints, _ = _load_sprints(session, 1)
        everything = _load_win_columns(session, 1, ticket_sprints, inputs.rules)
    needed = inputs.wins
    assert isinstance(needed, WinColumns)
    assert 0 < len(needed) < len(everything), "a selection, not the history"
    positions = {win_id: i for i, win_id in enumerate(everything.ids)}
    assert needed == everything.select([positions[i] for i in needed.ids])  # same rows, same order
    result = run_recompute(inputs, TODAY)
    assert result == run_recompute(replace(inputs, wins=everything), TODAY)
    kinds = {d.kind.value for d in result.drafts}
    assert {"badge", "challenge"} <= kinds and result.member_streaks


@pytest.mark.postgres
def test_a_chosen_win_that_stopped_counting_meanwhile_means_loading_every_win(postgres: Database) -> None:
    seed(postgres, 2, "UTC", {})
    with postgres.transaction() as session:
        _, ticket_sprints, _ = _load_sprints(session, 1)
        counted = list(_load_win_columns(session, 1, ticket_sprints, TeamRules()).ids[:50])
        retracted = session.scalar(select(Win.id).where(Win.status == "retracted").limit(1))
        with binary_cursor(session) as cursor:
            chosen = _read_chosen(cursor, 1, set(counted), ticket_sprints, TeamRefs(session, 1))
            assert chosen is not None and list(chosen.ids) == counted  # in (occurred_at, id) order
            assert (
                _read_chosen(cursor, 1, {*counted, retracted}, ticket_sprints, TeamRefs(session, 1)) is None
            )


@pytest.mark.postgres
def test_the_chosen_wins_are_read_by_their_ids_while_the_statistics_lag(postgres: Database) -> None:
    """The tables were analysed empty and then filled, as in a team's first hours: each chosen win must
    still be one primary-key lookup, not a scan of the team's counted wins filtered by id (the partial
    index looks as cheap as the key to a planner that thinks the table is empty)."""
    seed(postgres, 3, "UTC", {})
    with postgres.transaction() as session:
        _, ticket_sprints, _ = _load_sprints(session, 1)
        counted = list(_load_win_columns(session, 1, ticket_sprints, TeamRules()).ids[:200])
        statement = win_columns_sql(False, NEEDED_WINS, TICKETS_LOOKED_UP)
        params = {"team_id": 1, "ids": counted, "kinds": COUNTED_KIND_NAMES}
        with binary_cursor(session) as cursor:
            plan = [line for (line,) in cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + statement, params)]
    wins_scans = [line.strip() for line in plan if " on wins" in line]
    assert wins_scans and all("pk_wins" in line for line in wins_scans), plan
    filtered = [int(line.split(":")[1]) for line in plan if "Rows Removed by Filter" in line]
    assert sum(filtered) < len(counted), plan  # each id found at once, not among the team's wins


@pytest.mark.postgres
def test_a_team_whose_rules_filter_tickets_loads_every_win(postgres: Database) -> None:
    seed(postgres, 1, "Europe/Berlin", {"issue_types": ["story"]})
    with postgres.transaction() as session:
        inputs = load_team_inputs(session, 1)
        _, ticket_sprints, _ = _load_sprints(session, 1)
        assert inputs.wins == _load_win_columns(session, 1, ticket_sprints, inputs.rules)


def test_day_starts_are_the_engines_day_cuts() -> None:
    berlin = TeamCalendar("Europe/Berlin")
    starts = day_starts(berlin, date(2026, 3, 28), date(2026, 3, 30))
    assert starts == [berlin.start_of_day(date(2026, 3, d)) for d in (28, 29, 30, 31)]
    assert starts[2] - starts[1] == timedelta(hours=23)  # the day the clocks go forward
    # Santiago falls back at midnight: 23:00 comes twice, and both belong to the Saturday.
    assert day_starts(TeamCalendar("America/Santiago"), date(2026, 4, 3), date(2026, 4, 6)) is not None


@pytest.mark.parametrize(
    ("zone", "first", "last"),
    [
        ("America/St_Johns", date(1987, 10, 20), date(1987, 10, 30)),  # 00:01 fell back to 23:01
        ("Pacific/Apia", date(2011, 12, 28), date(2012, 1, 2)),  # 30 December 2011 never happened
    ],
)
def test_a_day_that_is_not_one_span_of_time_is_refused(zone: str, first: date, last: date) -> None:
    assert day_starts(TeamCalendar(zone), first, last) is None


def test_ranks_read_follow_the_enabled_badges() -> None:
    assert ranks_read(TeamRules()) == (100, 5)
    some = frozenset({"wins_10", "bug_squasher"})
    assert ranks_read(TeamRules(bug_squasher_bugs=8, enabled_badges=some)) == (10, 8)
    assert ranks_read(TeamRules(enabled_badges=frozenset({"comeback"}))) == (0, 0)


def test_only_the_spellings_of_bug_casefold_to_bug() -> None:
    """Postgres counts bugs by these spellings; Python's ``casefold`` must agree on every issue type."""
    assert all(spelling.casefold() == "bug" for spelling in _BUG_SPELLINGS) and len(_BUG_SPELLINGS) == 8
    # A casefolded string is its characters' foldings joined: only these characters can be part of one.
    pieces = {"b", "u", "g", "bu", "ug", "bug"}
    assert [c for c in range(sys.maxunicode + 1) if chr(c).casefold() in pieces] == [ord(c) for c in "BGUbgu"]
    assert not [c for c in range(sys.maxunicode + 1) if chr(c).casefold() == ""]


def test_challenge_spans_merge_overlapping_windows() -> None:
    utc = TeamCalendar("UTC")

    def challenge(first: int, last: int) -> Challenge:
        return Challenge(first, "team", "c", "wins", 1, date(2026, 5, first), date(2026, 5, last))

    edges = challenge_spans([challenge(10, 12), challenge(1, 2), challenge(3, 4), challenge(11, 20)], utc)
    at = lambda day: datetime(2026, 5, day, tzinfo=UTC)  # noqa: E731
    assert edges == [at(1), at(5), at(10), at(21)]
    assert challenge_spans([], utc) == []
