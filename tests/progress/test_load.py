"""Loading a team's history: Postgres's columnar path and the portable row path give the engine the same.

On Postgres ``load_team_inputs`` fetches the counted wins as arrays (``WinColumns``: those a recompute
reads, or all of them when the team's rules filter tickets); SQLite (and any other database) streams
rows into ``RecordedWin`` objects. Both are checked on the same varied history (ties, retractions,
kudos, forgotten givers, tickets in several sprints, a deleted sprint, wins without a ticket) under
team rules that filter on every ticket attribute.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text

from service import migrate
from service.db import Database
from service.domain.sprint_tally import SprintTally
from service.domain.team_rules import TeamRules
from service.domain.ticket_sprints import SprintWindow as _SprintWindow
from service.domain.ticket_sprints import TicketSprints as _TicketSprints
from service.domain.win_columns import WinColumns
from service.models import Member, Sprint, Team, Ticket, Win, sprint_tickets
from service.models.progress import StreakStat
from service.models.scope import SprintScopeItem, SprintScopeSource
from service.progress.load import load_team_inputs
from service.progress.load_sprints import load_sprints as _load_sprints
from service.progress.load_wins import load_win_columns as _load_win_columns
from service.progress.load_wins import load_wins as _load_wins
from service.progress.recompute import recompute_team, run_recompute
from service.progress.save import store_result
from tests.progress.conftest import win_row

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday; the history crosses Berlin's DST switch
TODAY = date(2026, 5, 15)
RULES: dict[str, dict[str, Any]] = {
    "default": {},
    "labels": {"required_labels": ["web", "infra"], "excluded_labels": ["chore"]},
    "issue types": {"issue_types": ["story", "BUG"], "bug_squasher_bugs": 2},
    "projects, points, subtasks": {"projects": ["WEB", "OPS"], "min_points": 1, "count_subtasks": False},
}


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'loading.db'}")
    migrate.upgrade(database)
    yield database
    database.dispose()


def seed(database: Database, seed: int, rules: dict[str, Any]) -> None:
    """A team's history with explicit ids, so two databases hold exactly the same rows."""
    rng = random.Random(seed)
    at = lambda: START + timedelta(minutes=30 * rng.randrange(0, 48 * 70))  # noqa: E731 (ties on purpose)
    now = START
    with database.transaction() as session:
        session.execute(
            insert(Team),
            [{"id": 1, "slug": "web", "name": "Web", "timezone": "Europe/Berlin", "rules": rules}],
        )
        session.execute(
            insert(Member),
            [{"id": m, "jira_account_id": f"acc-{m}", "display_name": f"P{m}"} for m in range(1, 7)],
        )
        sprints = []
        for n in range(5):
            begin = START + timedelta(days=12 * n)  # overlapping windows: a ticket can sit in two
            sprints.append(
                {
                    "id": n + 1,
                    "jira_id": n + 1,  # the engine names a sprint by Jira's id
                    "team_id": 1,
                    "name": f"Sprint {n + 1}",
                    "state": "deleted" if n == 4 else "closed",
                    "start_at": begin,
                    "end_at": begin + timedelta(days=14),
                    "completed_at": begin + timedelta(days=14, hours=rng.choice([-30, 0, 5])),
                }
            )
        session.execute(insert(Sprint), sprints)
        tickets = []
        for n in range(1, 181):
            tickets.append(
                {
                    "id": n,
                    "team_id": 1,
                    "issue_key": f"{rng.choice(['WEB', 'OPS', 'LAB'])}-{n}",
                    "project_key": rng.choice(["WEB", "OPS", "LAB"]),
                    "issue_type": rng.choice(["Story", "Bug", "bug", "BUG", "Task", None, "Sub-task"]),
                    "is_subtask": rng.random() < 0.2,
                    "labels": rng.choice([[], ["web"], ["infra", "web"], ["chore"], ["chore", "web"]]),
                    "points": rng.choice([None, 0.5, 1.0, 3.0, 5.0]),
                    "done": rng.random() < 0.9,
                    "done_at": at(),
                    "jira_created_at": rng.choice([None, START - timedelta(days=1), at()]),
                    "assignee_id": rng.choice([None, 1, 2, 3, 4, 5, 6]),
                }
            )
        session.execute(insert(Ticket), tickets)
        links = {
            (sprint, ticket["id"])
            for ticket in tickets
            for sprint in rng.sample(range(1, 6), rng.choice([0, 1, 1, 2, 3]))
        }
        session.execute(insert(sprint_tickets), [{"sprint_id": s, "ticket_id": t} for s, t in sorted(links)])
        # Sprints 2 and 3 have their scope from Jira's sprint report (3's holds nothing committed).
        session.execute(
            insert(SprintScopeSource),
            [
                {"sprint_id": 2, "source": "jira", "changed_at": now},
                {"sprint_id": 3, "source": "jira", "changed_at": now},
            ],
        )
        items = [
            {
                "sprint_id": sprint,
                "issue_key": f"JIRA-{n}",
                "points": rng.choice([None, 1.0, 2.0]),
                "committed": sprint == 2 and rng.random() < 0.8,
                "removed_at": now if rng.random() < 0.1 else None,
                "done": rng.random() < 0.7,
                "done_at": rng.choice([None, at()]),
                "assignee_id": rng.choice([None, 1, 2, 3]),
                "source": "jira",
            }
            for sprint in (2, 3)
            for n in range(30)
        ]
        session.execute(insert(SprintScopeItem), items)
        wins = []
        for ticket in tickets[:170]:
            wins.append(_win(len(wins) + 1, "ticket", "jira", ticket["issue_key"], at(), rng, now))
        for n in range(10):  # a ticket we never saw: no ticket row to join
            wins.append(_win(len(wins) + 1, "ticket", "jira", f"GONE-{n}", at(), rng, now))
        for n in range(40):
            wins.append(_win(len(wins) + 1, "manual", "slack", f"m-{n}", at(), rng, now))
        for n in range(40):
            giver = rng.choice([{"member_id": rng.randrange(1, 7)}, {"member_id": None, "forgotten": True}])
            win = _win(len(wins) + 1, "kudos", "slack", f"k-{n}", at(), rng, now)
            wins.append({**win, "details": {"kudos_from": giver}})
        wins.append(_win(len(wins) + 1, "badge", "engine", "badge:first_win:1:1", at(), rng, now))
        session.execute(insert(Win), wins)
        if database.dialect == "postgresql":  # explicit ids leave the sequences behind
            for table in ("teams", "members", "sprints", "tickets", "wins"):
                session.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
                )


def _win(
    win_id: int, kind: str, source: str, key: str, at: datetime, rng: random.Random, now: datetime
) -> dict[str, Any]:
    return win_row(
        rng, win_id, kind, source, key, at=at, now=now, retracted=0.1, members=[None, 1, 2, 3, 4, 5, 6, 6, 6]
    )


def _portable(database: Database) -> WinColumns:
    with database.transaction() as session:
        _, ticket_sprints, _ = _load_sprints(session, 1)
        return WinColumns.of(_load_wins(session, 1, ticket_sprints))


@pytest.mark.postgres
@pytest.mark.parametrize("rules", list(RULES))
@pytest.mark.parametrize("history", [1, 2, 3])
def test_postgres_columns_equal_the_portable_rows(postgres: Database, rules: str, history: int) -> None:
    seed(postgres, history, RULES[rules])
    team_rules = TeamRules.from_mapping(RULES[rules])
    with postgres.transaction() as session:
        _, ticket_sprints, _ = _load_sprints(session, 1)
        columns = _load_win_columns(session, 1, ticket_sprints, team_rules)
    rows = _portable(postgres)
    with postgres.sessions() as session:
        active = session.scalar(
            select(func.count()).where(Win.status == "active", Win.kind.in_(["ticket", "manual", "kudos"]))
        )
    assert len(columns) == active  # every active counted win, no more
    # Column by column, in the same (occurred_at, id) order; what only ticket filters read is fetched
    # only for rules that filter.
    if team_rules.counts_every_ticket:
        assert not columns.has_ticket_filters
        rows = replace(rows, labels=None, project_keys=None, is_subtask=None)
    assert columns == rows
    assert any(rows.sprint_refs) and any(rows.is_bug) and any(rows.kudos_from)
    with postgres.transaction() as session:
        inputs = load_team_inputs(session, 1)
    assert isinstance(inputs.wins, WinColumns)
    from_rows = replace(inputs, wins=[rows.row(i) for i in range(len(rows))])
    assert run_recompute(inputs, TODAY) == run_recompute(from_rows, TODAY)


@pytest.mark.postgres
@pytest.mark.parametrize("rules", list(RULES))
def test_recompute_stores_the_same_on_sqlite_and_postgres(
    postgres: Database, sqlite: Database, rules: str
) -> None:
    stored = []
    for database in (sqlite, postgres):
        seed(database, 4, RULES[rules])
        with database.transaction() as session:
            changes = recompute_team(session, 1, TODAY)
        assert changes.created, "the history earns badges and streaks"
        with database.transaction() as session:  # a second run finds nothing to change
            assert recompute_team(session, 1, TODAY).nothing
        with database.sessions() as session:
            wins = session.execute(
                select(Win.kind, Win.source_key, Win.status, Win.title, Win.member_id, Win.occurred_at).where(
                    Win.source == "engine", Win.status == "active"
                )
            ).all()
            stats = (StreakStat.member_id, StreakStat.current, StreakStat.best, StreakStat.last_day)
            streaks = session.execute(select(*stats)).all()
        # Sorted here: the two databases order NULLs and strings differently.
        stored.append((sorted(wins), sorted(streaks, key=lambda r: (r.member_id is None, r.member_id or 0))))
    assert stored[0] == stored[1]


@pytest.mark.postgres
@pytest.mark.parametrize("rules", ["default", "labels"])
def test_sqlite_and_postgres_load_the_same_inputs(postgres: Database, sqlite: Database, rules: str) -> None:
    """Sprint scopes, issue ages and wins: the arrays Postgres sends equal the rows SQLite streams."""
    loaded = []
    for database in (sqlite, postgres):
        seed(database, 6, RULES[rules])
        with database.transaction() as session:
            loaded.append(load_team_inputs(session, 1))
    on_sqlite, on_postgres = loaded
    # Nothing kept yet: Postgres read every sprint, and hands over each tally it derived.
    assert [replace(s, tally=None) for s in on_postgres.sprints] == on_sqlite.sprints
    assert [s.tally for s in on_postgres.sprints] == [SprintTally.of(s) for s in on_sqlite.sprints]
    assert on_postgres.issue_ages == on_sqlite.issue_ages and on_sqlite.issue_ages
    assert on_postgres.scope_sources == on_sqlite.scope_sources
    assert {"2": "jira", "3": "jira", "1": "events"}.items() <= on_sqlite.scope_sources.items()
    assert isinstance(on_sqlite.wins, list) and isinstance(on_postgres.wins, WinColumns)
    rows = WinColumns.of(on_sqlite.wins)
    if not on_postgres.wins.has_ticket_filters:
        rows = replace(rows, labels=None, project_keys=None, is_subtask=None)
    if TeamRules.from_mapping(RULES[rules]).counts_every_ticket:
        # Postgres sends only the wins a recompute reads (tests/progress/test_needed_wins.py): these
        # rows, in this order, and the same result.
        positions = {win_id: i for i, win_id in enumerate(rows.ids)}
        assert on_postgres.wins == rows.select([positions[i] for i in on_postgres.wins.ids])
        assert run_recompute(on_postgres, TODAY) == run_recompute(on_sqlite, TODAY)
    else:
        assert on_postgres.wins == rows
    # Kept, the tallies stand in for the sprints' issues: same result.
    with postgres.transaction() as session:
        store_result(session, on_postgres, run_recompute(on_postgres, TODAY))
    with postgres.transaction() as session:
        warm = load_team_inputs(session, 1)
    assert not warm.fresh_tallies
    assert all(s.tally is not None and not s.committed_issues for s in warm.sprints)
    assert run_recompute(warm, TODAY) == run_recompute(on_sqlite, TODAY)


def test_a_ticket_in_several_sprints_gets_the_latest_started_one_holding_its_win() -> None:
    day = timedelta(days=1)
    windows = {
        1: _SprintWindow("1", START, START + 14 * day),
        2: _SprintWindow("2", START + 10 * day, START + 24 * day),
        3: _SprintWindow("3", None, None),  # never started nor ended: holds every instant
    }
    sprints = _TicketSprints.of({1: [10, 11, 12], 2: [11, 12, 13], 3: [12]}, windows)
    assert sprints.only == {10: "1", 13: "2"} and set(sprints.several) == {11, 12}
    assert sprints.sprint_of(10, START + 30 * day) == "1"  # one sprint: that one, whenever
    assert sprints.sprint_of(11, START + 12 * day) == "2"  # both hold it: the later start
    assert sprints.sprint_of(11, START + 5 * day) == "1"  # only the first holds it
    assert sprints.sprint_of(11, START + 30 * day) == "2"  # none holds it: the latest started
    assert sprints.sprint_of(11, START - day) == "2"  # none started: the latest start of all
    assert sprints.sprint_of(12, START - day) == "3"  # a sprint without a start holds everything
    assert sprints.sprint_of(99, START) is None and sprints.sprint_of(None, START) is None
    instants = [START + 12 * day, START + 5 * day, START]
    assert sprints.refs([11, 11, None], instants) == ["2", "1", None]
