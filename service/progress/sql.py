"""How the progress store reads large histories: streamed rows, and one binary cursor for a big read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Executable, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

CHUNK = 20_000  # rows per fetch when streaming; large enough to amortise round trips


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def stream(session: Session, statement: Executable) -> Iterator[Any]:
    """Rows in chunks: server-side cursor on Postgres, and never a million ORM objects."""
    if is_postgres(session):
        # A cursor makes the planner favour the first rows (nested loops, one lookup per row); we read
        # every row, so plan for all of them. SET LOCAL ends with this transaction.
        session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
    # Core rows through the session's connection: the ORM result layer costs seconds per million.
    return iter(session.connection().execute(statement.execution_options(yield_per=CHUNK)))


def inline(session: Session, statement: ClauseElement) -> str:
    """The statement's SQL with its values inlined (ids and names), to run on a binary cursor."""
    dialect = session.get_bind().dialect
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


@contextmanager
def binary_cursor(session: Session) -> Iterator[psycopg.Cursor[Any]]:
    """A binary psycopg cursor on the session's connection (same transaction), tuned for one big read."""
    driver = session.connection().connection.driver_connection
    with driver.cursor(binary=True) as cursor:  # type: ignore[union-attr]
        # A million-win team's join and sort fit in memory with this (each parallel worker takes a
        # share: about 40 MB a sort; the tickets' hash, 63 MB, may take twice work_mem), where the default
        # 4 MB spills them to disk; larger teams spill, they do not fail. Compiling the expressions
        # (JIT) costs more than it saves on a query run once.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL TimeZone = 'UTC'")  # instants come back in UTC, as UTCDateTime hands them
        yield cursor
