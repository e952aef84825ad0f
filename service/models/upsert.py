"""INSERT ... ON CONFLICT DO NOTHING for the two databases we run on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], conflict_columns: Sequence[str]
) -> None:
    if rows:
        session.execute(_statement(session, table, conflict_columns), list(rows))


def insert_one_returning_id(
    session: Session, table: Table, row: dict[str, Any], conflict_columns: Sequence[str]
) -> int | None:
    """Insert one row; its new id, or None when it was already there."""
    statement = _statement(session, table, conflict_columns).values(row).returning(table.c.id)
    return session.execute(statement).scalar_one_or_none()


def _statement(session: Session, table: Table, conflict_columns: Sequence[str]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table).on_conflict_do_nothing(
            index_elements=list(conflict_columns)
        )
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    else:  # pragma: no cover - only the two supported databases reach here
        raise NotImplementedError(dialect)
    return statement
