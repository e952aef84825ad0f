"""0011_outside_keys rewrites the engine's stored keys from row ids to outside ids, and back.

The database is brought to the schema before it (0010), filled the way that release filled it, and
upgraded: every badge, streak and milestone keeps its row (cheers and posts point at it) under a key
that names the team by slug, the person by their account and the sprint by Jira's id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from service import migrate
from service.db import Database
from service.models import Base, Member, Sprint, Team, Win
from service.models.progress import SprintTallyRow
from tests.migrations.test_migrations import empty_database as empty_database  # the fixture

AT = datetime(2026, 11, 10, 10, tzinfo=UTC)
LONG_ACCOUNT = "x" * 120  # longer than a key can hold: shortened to a digest


def engine_win(win_id: int, kind: str, key: str, **details: Any) -> dict[str, Any]:
    return {
        "id": win_id,
        "team_id": 1,
        "kind": kind,
        "status": "active",
        "title": key,
        "source": "engine",
        "source_key": key,
        "occurred_at": AT,
        "details": details,
        "created_at": AT,
        "updated_at": AT,
    }


# (row id, kind, key before, key after, details before, details after)
EXPECTED = [
    (1, "badge", "badge:first_win:1:1", "badge:first_win:web:jira:acc-ada", {}, {}),
    (2, "badge", "badge:first_win:1:2", "badge:first_win:web:slack:T1:U2", {}, {}),
    (3, "streak", "streak:member:1:1:3:2026-11-09", "streak:member:web:jira:acc-ada:3:2026-11-09", {}, {}),
    (4, "streak", "streak:team:1:3:2026-11-09", "streak:team:web:3:2026-11-09", {}, {}),
    # Sprint row 5 is Jira's sprint 7; sprint row 7 is Jira's 9: the first's new key is the second's old.
    (
        5,
        "milestone",
        "milestone:5:progress_25",
        "milestone:7:progress_25",
        {"sprint_ref": "5"},
        {"sprint_ref": "7"},
    ),
    (
        6,
        "milestone",
        "milestone:7:progress_25",
        "milestone:9:progress_25",
        {"sprint_ref": "7"},
        {"sprint_ref": "9"},
    ),
    (
        7,
        "milestone",
        "milestone:5:sprint_goal_met",
        "milestone:7:sprint_goal_met",
        {"sprint_ref": "5", "confirmed_by": "1:1"},
        {"sprint_ref": "7", "confirmed_by": "web:jira:acc-ada"},
    ),
    (8, "badge", "badge:sprint_finisher:1:3", None, {"sprint_ref": "5"}, {"sprint_ref": "7"}),
    (9, "challenge", "challenge:4", "challenge:4", {"challenge_id": 4}, {"challenge_id": 4}),
]


def insert(model: type[Base]) -> sa.Insert:
    """An insert into ``model``'s table as release 0010 had it: without the workspace columns added since,
    which today's models would otherwise fill in with their defaults."""
    table = model.__table__
    columns = [c for c in table.columns if c.name != "workspace_id"]
    return sa.insert(sa.table(table.name, *(sa.column(c.name, c.type) for c in columns)))


def as_written(model: type[Base], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with today's defaults for the columns they leave out (every row names every column)."""
    out = []
    for row in rows:
        full = dict(row)
        for column in model.__table__.columns:
            if column.name in full or column.name == "workspace_id":
                continue
            default = column.default.arg if column.default is not None else None  # type: ignore[attr-defined]
            full[column.name] = default(None) if callable(default) else default
        out.append(full)
    return out


def fill_as_release_0010(database: Database) -> None:
    with database.transaction() as session:
        session.execute(
            insert(Team),
            as_written(Team, [{"id": 1, "slug": "web", "name": "Web", "timezone": "UTC", "rules": {}}]),
        )
        session.execute(
            insert(Member),
            as_written(
                Member,
                [
                    {"id": 1, "jira_account_id": "acc-ada", "display_name": "Ada"},
                    {"id": 2, "slack_team_id": "T1", "slack_user_id": "U2", "display_name": "Bob"},
                    {"id": 3, "jira_account_id": LONG_ACCOUNT, "display_name": "Cy"},
                ],
            ),
        )
        session.execute(
            insert(Sprint),
            as_written(
                Sprint,
                [
                    {"id": 5, "jira_id": 7, "team_id": 1, "name": "Sprint 7", "state": "closed"},
                    {"id": 7, "jira_id": 9, "team_id": 1, "name": "Sprint 9", "state": "closed"},
                ],
            ),
        )
        session.execute(
            insert(Win),
            as_written(Win, [engine_win(i, kind, old, **before) for i, kind, old, _, before, _ in EXPECTED]),
        )
        session.execute(
            insert(Win),
            as_written(Win, [{**engine_win(10, "ticket", "TES-1"), "source": "jira"}]),
        )
        session.execute(
            insert(SprintTallyRow),
            as_written(
                SprintTallyRow,
                [{"sprint_id": 5, "team_id": 1, "fingerprint": "1|x", "tally": {}, "computed_at": AT}],
            ),
        )


def stored(database: Database) -> dict[int, tuple[str, dict[str, Any]]]:
    with database.sessions() as session:
        # Columns, not the model: the schema may be one from before the model's newer columns.
        rows = session.execute(select(Win.id, Win.source_key, Win.details))
        return {win_id: (key, details) for win_id, key, details in rows}


def test_upgrade_rewrites_every_engine_key_in_place_and_downgrade_restores_them(
    empty_database: Database,
) -> None:
    migrate.upgrade(empty_database, "0010_ticket_age_indexes")
    fill_as_release_0010(empty_database)
    migrate.upgrade(empty_database)
    after = stored(empty_database)
    for win_id, _, _, new, _, details in EXPECTED:
        if new is not None:
            assert after[win_id] == (new, details)
    long_key = after[8][0]
    assert long_key.startswith("badge:sprint_finisher:web:jira:x") and len(long_key) <= 120
    assert after[10][0] == "TES-1"  # Jira's own keys were outside ids already
    with empty_database.sessions() as session:
        assert session.scalars(select(SprintTallyRow)).all() == []  # a cache naming people the old way

    migrate.downgrade(empty_database, "0010_ticket_age_indexes")
    before = stored(empty_database)
    for win_id, _, old, _, details, _ in EXPECTED:
        assert before[win_id] == (old, details)
