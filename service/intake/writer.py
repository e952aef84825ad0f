"""Storing webhook deliveries on the hot path: one statement and one commit for a group of them.

Every delivery must be durable before it is acknowledged, so each request waits for the commit
that holds its row. Requests that arrive while a commit is in flight queue up, and the next
commit takes all of them at once (group commit, as databases do for their own log): a
process under load pays one statement, one round trip and one log flush for several
deliveries instead of one each. With a single request in flight, a group is just that one.

The statement runs in autocommit mode: an ``INSERT ... ON CONFLICT DO NOTHING`` is atomic on
its own, and skipping ``BEGIN`` and ``COMMIT`` saves two round trips per group.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from service.db import DATABASE_UNREACHABLE, Database
from service.intake.inbox import INBOX, Delivery, delivery_row

HOLD_SECONDS = 60.0
MAX_GROUP = 64  # bounds one statement's size; a busy process commits every few milliseconds anyway
COLUMNS = (
    "workspace_id",
    "source",
    "delivery_id",
    "event_type",
    "state",
    "body",
    "payload_ts_ms",
    "received_at",
    "attempts",
)
# A delivery's identity: (workspace_id, source, delivery_id), the inbox's unique key.
DeliveryKey = tuple[int, str, str]


@dataclass(frozen=True)
class Stored:
    id: int
    new: bool
    state: str  # the row's state now: a duplicate may already be processed


@dataclass(slots=True)
class _Waiting:
    delivery: Delivery
    # Followers only: a lock taken on arrival and released by whoever wakes them (a bare lock
    # is the cheapest one-shot signal Python has; an Event is a Condition and a lock).
    wakeup: threading.Lock | None = None
    leads: bool = False  # this request writes the next group (its own row included)
    stored: Stored | None = None
    error: BaseException | None = None


class InboxWriter:
    """Thread-safe; one per process and database (the web runtime holds it)."""

    def __init__(self, database: Database, max_group: int = MAX_GROUP) -> None:
        self.database = database
        self.max_group = max_group
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._busy = False
        self._held: PoolProxiedConnection | None = None
        self._held_since = 0.0
        self.groups_written = 0  # statistics: rows_written / groups_written is the grouping achieved
        self.rows_written = 0

    @property
    def waiting(self) -> int:
        """Deliveries queued behind the group being written."""
        with self._lock:
            return len(self._queue)

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._busy

    def store(self, delivery: Delivery) -> Stored:
        """Store the delivery unless it is there already; returns once its row is committed.

        Raises what the database raised (``OperationalError`` when it is down): the caller
        answers 503 and Jira delivers again.
        """
        me = _Waiting(delivery)
        with self._lock:
            self._queue.append(me)
            if not self._busy:
                self._busy = me.leads = True
            else:
                me.wakeup = threading.Lock()
                me.wakeup.acquire()
        if me.wakeup is not None:
            me.wakeup.acquire()  # released once a group holding our row is written, or for us to lead
        if me.leads:
            self._write_next_group()
        if me.error is not None:
            raise me.error
        assert me.stored is not None
        return me.stored

    def store_group(self, deliveries: Sequence[Delivery]) -> list[Stored]:
        """Store these deliveries as one group, now, on the caller's thread (replays and tests)."""
        group = [_Waiting(delivery) for delivery in deliveries]
        self._write(group)
        for waiting in group:
            if waiting.error is not None:
                raise waiting.error
        return [waiting.stored for waiting in group if waiting.stored is not None]

    def _write_next_group(self) -> None:
        with self._lock:
            group = self._queue[: self.max_group]
            del self._queue[: self.max_group]
        try:
            self._write(group)
        except BaseException as error:  # every request of the group answers for itself
            for waiting in group:
                waiting.error = error
        finally:
            with self._lock:
                successor = self._queue[0] if self._queue else None
                if successor is None:
                    self._busy = False
                else:
                    successor.leads = True  # hand over, so no request waits behind others' groups
            for waiting in group:
                _wake(waiting)
            if successor is not None:
                _wake(successor)

    def _write(self, group: Sequence[_Waiting]) -> None:
        try:
            self._write_together(group)
        except Exception as error:
            # Not only the driver's errors: SQLite's binding raises a bare OverflowError for an
            # integer past 64 bits, which must not fail the group either.
            if len(group) == 1 or isinstance(error, DATABASE_UNREACHABLE):
                raise  # an outage fails every row alike: no point writing them one by one
            # One bad row must not fail its neighbours: write each on its own and let it answer.
            for waiting in group:
                try:
                    self._write_together([waiting])
                except Exception as single_error:
                    waiting.error = single_error

    def _write_together(self, group: Sequence[_Waiting]) -> None:
        rows = [delivery_row(waiting.delivery) for waiting in group]
        dialect = self.database.engine.dialect
        to_db = _bind_processors(dialect)
        params: dict[str, Any] = {
            f"{name}_{i}": value if (process := to_db.get(name)) is None else process(value)
            for i, row in enumerate(rows)
            for name, value in row.items()
        }
        stored = self._execute(rows, params)
        claimed: set[DeliveryKey] = set()
        for waiting, row in zip(group, rows, strict=True):
            key = (row["workspace_id"], row["source"], row["delivery_id"])
            result = stored[key]
            if result.new and key in claimed:
                result = Stored(result.id, False, result.state)  # the second copy in one group
            claimed.add(key)
            waiting.stored = result
        with self._lock:
            self.groups_written += 1
            self.rows_written += len(group)

    def _execute(self, rows: Sequence[dict[str, Any]], params: dict[str, Any]) -> dict[DeliveryKey, Stored]:
        """Insert the rows, then read back those already there (only the leader gets here)."""
        dialect = self.database.engine.dialect
        insert = _insert_sql(dialect, len(rows))
        driver_error = dialect.loaded_dbapi.Error
        connection = self._connection()
        dbapi = connection.dbapi_connection
        assert dbapi is not None  # checked out and not invalidated: it has its driver connection
        cursor = None
        try:
            cursor = dbapi.cursor()
            cursor.execute(insert.sql, insert.bind(params))
            new_ids = {
                (workspace_id, source, delivery_id): row_id
                for row_id, workspace_id, source, delivery_id in cursor.fetchall()
            }
            stored = {
                key: Stored(new_ids[key], True, row["state"])
                for row in rows
                if (key := (row["workspace_id"], row["source"], row["delivery_id"])) in new_ids
            }
            # Deliveries stored before (or by a concurrent group): read back their ids and states.
            missing: dict[tuple[int, str], list[str]] = {}
            for workspace_id, source, delivery_id in {
                (row["workspace_id"], row["source"], row["delivery_id"]) for row in rows
            } - stored.keys():
                missing.setdefault((workspace_id, source), []).append(delivery_id)
            for (workspace_id, source), delivery_ids in missing.items():
                existing = _existing_sql(dialect, len(delivery_ids))
                names = {f"delivery_id_{i}": delivery_id for i, delivery_id in enumerate(delivery_ids)}
                cursor.execute(
                    existing.sql, existing.bind({"workspace_id": workspace_id, "source": source} | names)
                )
                for row_id, delivery_id, state in cursor.fetchall():
                    stored[(workspace_id, source, delivery_id)] = Stored(row_id, False, state)
            cursor.close()
        except driver_error as error:
            # In autocommit a failed statement leaves the connection usable; a broken one goes.
            if dialect.is_disconnect(error, dbapi, cursor):
                self._held = None
                connection.invalidate(error)
                connection.close()
            raise DBAPIError.instance(insert.sql, None, error, driver_error) from error
        return stored

    def _connection(self) -> PoolProxiedConnection:
        """The writer's own pooled connection, kept in autocommit between groups.

        Only one group is written at a time, so one connection is all a process needs; keeping it
        saves a pool checkout, a reset and two mode switches per group. It goes back to the pool
        every ``HOLD_SECONDS``, so that recycling and a disposed engine take effect.
        """
        held = self._held
        if held is not None and time.monotonic() - self._held_since < HOLD_SECONDS:
            return held
        self.close()
        engine = self.database.engine
        driver_error = engine.dialect.loaded_dbapi.Error
        try:
            connection = engine.raw_connection()
        except driver_error as error:  # the database is down: SQLAlchemy's error, as elsewhere
            raise DBAPIError.instance(None, None, error, driver_error) from error
        dbapi = connection.dbapi_connection
        assert dbapi is not None  # just checked out
        engine.dialect.set_isolation_level(dbapi, "AUTOCOMMIT")
        self._held, self._held_since = connection, time.monotonic()
        return connection

    def close(self) -> None:
        """Give the held connection back to the pool (the runtime calls this when it closes)."""
        held, self._held = self._held, None
        if held is not None:
            try:
                assert held.dbapi_connection is not None  # an invalidated connection is never held
                self.database.engine.dialect.reset_isolation_level(held.dbapi_connection)
            finally:
                held.close()


def _wake(waiting: _Waiting) -> None:
    if waiting.wakeup is not None and waiting.wakeup.locked():
        waiting.wakeup.release()


@cache
def _bind_processors(dialect: Dialect) -> dict[str, Callable[[Any], Any]]:
    """What SQLAlchemy does to each value on its way to the driver (e.g. UTC timestamps on SQLite)."""
    table = INBOX
    processors = {name: table.c[name].type.bind_processor(dialect) for name in COLUMNS}
    return {name: process for name, process in processors.items() if process is not None}


@dataclass(frozen=True)
class _Compiled:
    """SQL compiled once by SQLAlchemy for the driver, and how to hand it its parameters."""

    sql: str
    positions: tuple[str, ...] | None  # parameter order for positional paramstyles (SQLite's)

    def bind(self, params: dict[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        return params if self.positions is None else tuple(params[name] for name in self.positions)


def _compiled(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))  # a statement compiles to SQL
    positions = tuple(compiled.positiontup or ()) if compiled.positional else None
    return _Compiled(str(compiled), positions)


@cache
def _insert_sql(dialect: Dialect, count: int) -> _Compiled:
    """``INSERT … VALUES (…), (…) ON CONFLICT DO NOTHING RETURNING …`` for ``count`` rows."""
    table = INBOX
    values = [
        {name: bindparam(f"{name}_{i}", type_=table.c[name].type) for name in COLUMNS} for i in range(count)
    ]
    if dialect.name == "postgresql":
        statement: Any = postgresql.insert(table).values(values)
    elif dialect.name == "sqlite":
        statement = sqlite.insert(table).values(values)
    else:  # pragma: no cover - only the two supported databases reach here
        raise NotImplementedError(dialect.name)
    statement = statement.on_conflict_do_nothing(index_elements=["workspace_id", "source", "delivery_id"])
    returning = statement.returning(table.c.id, table.c.workspace_id, table.c.source, table.c.delivery_id)
    return _compiled(returning, dialect)


@cache
def _existing_sql(dialect: Dialect, count: int) -> _Compiled:
    table = INBOX
    ids = [bindparam(f"delivery_id_{i}", type_=table.c.delivery_id.type) for i in range(count)]
    statement = select(table.c.id, table.c.delivery_id, table.c.state).where(
        table.c.workspace_id == bindparam("workspace_id", type_=table.c.workspace_id.type),
        table.c.source == bindparam("source", type_=table.c.source.type),
        table.c.delivery_id.in_(ids),
    )
    return _compiled(statement, dialect)
