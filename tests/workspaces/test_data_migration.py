"""Upgrading a database that the release before workspaces filled puts all of it in the implicit workspace.

The database is brought to that release's schema (0014), filled with teams, their claims, people,
sprints, tickets, wins and inbox rows as that release wrote them (plain SQL, not today's models, which
know columns it did not have), and upgraded to the newest schema, on SQLite and on Postgres.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service import migrate
from service.db import Database
from service.models import (
    DEFAULT_WORKSPACE_ID,
    InboundEvent,
    Member,
    Sprint,
    Team,
    TeamSource,
    Ticket,
    Win,
    Workspace,
)
from service.models.base import JSONType
from service.workspaces.registry import create_workspace
from tests.migrations.test_migrations import empty_database as empty_database  # the fixture

BEFORE_WORKSPACES = "0014_dashboard_indexes"
AT = datetime(2026, 11, 10, 10, tzinfo=UTC)


def _table(
    name: str, *columns: str, json: tuple[str, ...] = (), times: tuple[str, ...] = ()
) -> sa.TableClause:
    """The table as release 0014 had it, as far as these rows fill it."""
    return sa.table(
        name,
        *(sa.column(c) for c in columns),
        *(sa.column(c, JSONType) for c in json),
        *(sa.column(c, sa.DateTime(timezone=True)) for c in times),
    )


ROWS: dict[str, tuple[sa.TableClause, list[dict[str, Any]]]] = {
    "teams": (
        _table("teams", "id", "slug", "name", "timezone", json=("rules",), times=("created_at",)),
        [
            {"id": 1, "slug": "orb", "name": "Orb", "timezone": "UTC", "rules": {}, "created_at": AT},
            {"id": 2, "slug": "web", "name": "Web", "timezone": "UTC", "rules": {}, "created_at": AT},
        ],
    ),
    "team_sources": (
        _table("team_sources", "id", "team_id", "kind", "key"),
        [
            {"id": 1, "team_id": 1, "kind": "project", "key": "ORB"},
            {"id": 2, "team_id": 1, "kind": "board", "key": "1"},
            {"id": 3, "team_id": 2, "kind": "project", "key": "WEB"},
        ],
    ),
    "members": (
        _table(
            "members",
            "id",
            "jira_account_id",
            "slack_team_id",
            "slack_user_id",
            "display_name",
            "sharing_opt_out",
            times=("created_at",),
        ),
        [
            {"id": 1, "jira_account_id": "acc-ada", "display_name": "Ada", "sharing_opt_out": False},
            {
                "id": 2,
                "slack_team_id": "T1",
                "slack_user_id": "U2",
                "display_name": "Bob",
                "sharing_opt_out": False,
            },
        ],
    ),
    "sprints": (
        _table(
            "sprints",
            "id",
            "team_id",
            "jira_id",
            "board_id",
            "name",
            "state",
            "last_event_ms",
            times=("created_at",),
        ),
        [
            {
                "id": 1,
                "team_id": 1,
                "jira_id": 7,
                "board_id": 1,
                "name": "Sprint 7",
                "state": "closed",
                "last_event_ms": 5,
            }
        ],
    ),
    "tickets": (
        _table(
            "tickets",
            "id",
            "team_id",
            "issue_key",
            "issue_id",
            "project_key",
            "summary",
            "is_subtask",
            "status_category",
            "done",
            "url",
            "last_event_ms",
            "assignee_id",
            json=("labels", "extra"),
        ),
        [
            {
                "id": n,
                "team_id": 1,
                "issue_key": f"ORB-{n}",
                "issue_id": str(n),
                "project_key": "ORB",
                "summary": "",
                "is_subtask": False,
                "status_category": "done" if n == 1 else "new",
                "done": n == 1,
                "url": "",
                "last_event_ms": 5,
                "assignee_id": 1 if n == 1 else None,
                "labels": [],
                "extra": {},
            }
            for n in (1, 2)
        ],
    ),
    "wins": (
        _table(
            "wins",
            "id",
            "team_id",
            "kind",
            "status",
            "title",
            "member_id",
            "source",
            "source_key",
            "visibility",
            json=("details",),
            times=("occurred_at", "created_at", "updated_at"),
        ),
        [
            {
                "id": 1,
                "team_id": 1,
                "kind": "ticket",
                "source": "jira",
                "source_key": "ORB-1",
                "member_id": 1,
            },
            {
                "id": 2,
                "team_id": 1,
                "kind": "sprint_closed",
                "source": "jira",
                "source_key": "sprint:7",
                "member_id": None,
            },
            {
                "id": 3,
                "team_id": 2,
                "kind": "kudos",
                "source": "slack",
                "source_key": "T1:1.2",
                "member_id": 2,
            },
        ],
    ),
    "inbound_events": (
        _table(
            "inbound_events",
            "id",
            "source",
            "delivery_id",
            "event_type",
            "state",
            "body",
            "attempts",
            times=("received_at",),
        ),
        [
            {
                "id": 1,
                "source": "jira",
                "delivery_id": "d-1",
                "event_type": "jira:issue_updated",
                "state": "processed",
                "body": "{}",
                "attempts": 0,
            },
            {
                "id": 2,
                "source": "jira",
                "delivery_id": "d-2",
                "event_type": "jira:issue_updated",
                "state": "pending",
                "body": "{}",
                "attempts": 0,
            },
        ],
    ),
}
MODELS = {
    "teams": Team,
    "team_sources": TeamSource,
    "members": Member,
    "sprints": Sprint,
    "tickets": Ticket,
    "wins": Win,
    "inbound_events": InboundEvent,
}


def fill_as_release_0014(database: Database) -> None:
    with database.engine.begin() as connection:
        for name, (table, rows) in ROWS.items():
            if name == "members":
                rows = [
                    {
                        "jira_account_id": None,
                        "slack_team_id": None,
                        "slack_user_id": None,
                        "created_at": AT,
                        **r,
                    }
                    for r in rows
                ]
            elif name == "sprints":
                rows = [{**r, "created_at": AT} for r in rows]
            elif name == "wins":
                rows = [
                    {
                        "status": "active",
                        "title": r["source_key"],
                        "visibility": "team",
                        "details": {},
                        "occurred_at": AT,
                        "created_at": AT,
                        "updated_at": AT,
                        **r,
                    }
                    for r in rows
                ]
            elif name == "inbound_events":
                rows = [{**r, "received_at": AT} for r in rows]
            connection.execute(table.insert(), rows)
        connection.execute(sa.text("INSERT INTO sprint_tickets (sprint_id, ticket_id) VALUES (1, 1), (1, 2)"))
        if database.dialect == "postgresql":  # explicit ids did not move the sequences
            for name in ROWS:
                connection.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), 10)"))


def workspaces_of(database: Database) -> dict[str, dict[int, int]]:
    """Each table's rows: id -> workspace id."""
    with database.sessions() as session:
        return {
            name: dict(session.execute(select(model.id, model.workspace_id)).all())  # type: ignore[attr-defined]
            for name, model in MODELS.items()
        }


def test_upgrading_a_filled_database_puts_everything_in_the_implicit_workspace(
    empty_database: Database,
) -> None:
    migrate.upgrade(empty_database, BEFORE_WORKSPACES)
    fill_as_release_0014(empty_database)
    migrate.upgrade(empty_database)

    placed = workspaces_of(empty_database)
    for name, (_, rows) in ROWS.items():
        assert placed[name] == {row["id"]: DEFAULT_WORKSPACE_ID for row in rows}, name
    with empty_database.sessions() as session:
        implicit = session.get(Workspace, DEFAULT_WORKSPACE_ID)
        assert implicit is not None and implicit.slug == "default"
        # Rows keep what they held: the links between them and their values.
        ticket = session.scalars(select(Ticket).where(Ticket.issue_key == "ORB-1")).one()
        assert (ticket.team_id, ticket.assignee_id, ticket.done) == (1, 1, True)
        assert session.scalar(select(func.count()).select_from(sa.table("sprint_tickets"))) == 2
        assert [w.member_id for w in session.scalars(select(Win).order_by(Win.id))] == [1, None, 2]
        assert (
            session.scalar(select(InboundEvent.state).where(InboundEvent.delivery_id == "d-2")) == "pending"
        )


def test_after_the_upgrade_identities_are_per_workspace(empty_database: Database) -> None:
    migrate.upgrade(empty_database, BEFORE_WORKSPACES)
    fill_as_release_0014(empty_database)
    migrate.upgrade(empty_database)
    with empty_database.transaction() as session:
        other = create_workspace(session, "other").id
        team = Team(workspace_id=other, slug="orb", name="Orb", timezone="UTC", rules={})
        session.add(team)
        session.flush()
        # The same slug, issue key, sprint id, account and delivery id as the implicit workspace holds.
        session.add_all(
            [
                TeamSource(workspace_id=other, team_id=team.id, kind="project", key="ORB"),
                Member(workspace_id=other, jira_account_id="acc-ada", display_name="Ada"),
                Sprint(workspace_id=other, team_id=team.id, jira_id=7, name="Sprint 7"),
                Ticket(workspace_id=other, team_id=team.id, issue_key="ORB-1", project_key="ORB"),
                Win(
                    workspace_id=other,
                    team_id=team.id,
                    kind="ticket",
                    title="ORB-1",
                    source="jira",
                    source_key="ORB-1",
                    occurred_at=AT,
                ),
                InboundEvent(workspace_id=other, source="jira", delivery_id="d-1", body="{}"),
            ]
        )
    counts = {name: len(rows) for name, rows in workspaces_of(empty_database).items()}
    assert counts == {name: len(rows) + 1 for name, (_, rows) in ROWS.items()}
    # Within one workspace each identity is still one row.
    for duplicate in (
        Ticket(workspace_id=other, team_id=team.id, issue_key="ORB-1", project_key="ORB"),
        Member(workspace_id=DEFAULT_WORKSPACE_ID, jira_account_id="acc-ada", display_name="Ada again"),
        Sprint(workspace_id=other, team_id=team.id, jira_id=7, name="Sprint 7 again"),
    ):
        with pytest.raises(IntegrityError), empty_database.transaction() as session:
            session.add(duplicate)


def test_downgrade_restores_the_global_identities(empty_database: Database) -> None:
    migrate.upgrade(empty_database, BEFORE_WORKSPACES)
    fill_as_release_0014(empty_database)
    migrate.upgrade(empty_database)
    migrate.downgrade(empty_database, "0015_workspaces")
    with empty_database.engine.connect() as connection:
        columns = {c["name"] for c in sa.inspect(connection).get_columns("tickets")}
        assert "workspace_id" not in columns
        assert connection.execute(sa.text("SELECT count(*) FROM wins")).scalar_one() == 3
    migrate.upgrade(empty_database)
    assert set(workspaces_of(empty_database)["tickets"].values()) == {DEFAULT_WORKSPACE_ID}


def test_rows_of_a_team_placed_in_another_workspace_follow_it(empty_database: Database) -> None:
    """A team moved to another workspace between 0015 and 0016 takes its claims, tickets, sprints and wins."""
    migrate.upgrade(empty_database, BEFORE_WORKSPACES)
    fill_as_release_0014(empty_database)
    migrate.upgrade(empty_database, "0015_workspaces")
    with empty_database.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO workspaces (id, slug, name, created_at)"
                " VALUES (2, 'other', 'Other', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(sa.text("UPDATE teams SET workspace_id = 2 WHERE id = 2"))
    migrate.upgrade(empty_database)
    placed = workspaces_of(empty_database)
    assert placed["team_sources"] == {1: DEFAULT_WORKSPACE_ID, 2: DEFAULT_WORKSPACE_ID, 3: 2}
    assert placed["wins"] == {1: DEFAULT_WORKSPACE_ID, 2: DEFAULT_WORKSPACE_ID, 3: 2}
    assert set(placed["tickets"].values()) == set(placed["sprints"].values()) == {DEFAULT_WORKSPACE_ID}
