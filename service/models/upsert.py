"""INSERT ... ON CONFLICT DO NOTHING for the two databases we run on."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(
    executor: Session | Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str],
) -> None:
    if rows:
        executor.execute(_statement(_dialect(executor), table, tuple(conflict_columns), False), list(rows))


def insert_one_returning_id(
    executor: Session | Connection, table: Table, row: dict[str, Any], conflict_columns: Sequence[str]
) -> int | None:
    """Insert one row; its new id, or None when it was already there."""
    statement = _statement(_dialect(executor), table, tuple(conflict_columns), True)
    return executor.execute(statement, row).scalar_one_or_none()


def _dialect(executor: Session | Connection) -> str:
    return executor.dialect.name if isinstance(executor, Connection) else executor.get_bind().dialect.name


@cache
def _statement(dialect: str, table: Table, conflict_columns: tuple[str, ...], returning_id: bool) -> Any:
    """Built once per table: the webhook runs this for every delivery."""
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table).on_conflict_do_nothing(
            index_elements=list(conflict_columns)
        )
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    else:  # pragma: no cover - only the two supported databases reach here
        raise NotImplementedError(dialect)
    return statement.returning(table.c.id) if returning_id else statement
