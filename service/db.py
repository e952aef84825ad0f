"""The engine and session factory, built by the app factory or a worker, never at import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import orjson
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry


def normalise_url(url: str) -> str:
    """Let users write ``postgresql://``; we always drive Postgres with psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# What SQLAlchemy raises when the database is down, refuses connections or drops one: an outage
# (503, retry later). A DataError or IntegrityError is about the values sent, never an outage.
DATABASE_UNREACHABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


class Database:
    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = normalise_url(url)
        kwargs: dict[str, Any] = {"future": True}
        if self.url.startswith("sqlite"):
            database = make_url(self.url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            # No pre-ping: it costs a round trip per request. A connection that died with the server
            # fails its request with a 503 (Jira retries) and is replaced; recycling bounds their age.
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)
            # Sessions in UTC: timestamps come back in UTC whatever the server's own time zone.
            kwargs["connect_args"] = {"options": "-c timezone=UTC"}
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.engine.dialect.name == "postgresql":
            # Batch plain executemany INSERTs into multi-row VALUES pages (as with RETURNING), instead
            # of one statement per row: a batch's ticket and win inserts become a few statements.
            self.engine.dialect.use_insertmanyvalues_wo_returning = True
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            event.listen(self.engine, "connect", _fast_json)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A Core connection in one transaction: lighter than a Session on the webhook's hot path."""
        with self.engine.begin() as connection:
            yield connection

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _fast_json(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # psycopg encodes and decodes JSONB itself; orjson does both several times faster than the json
    # module, which matters when a recompute reads a million rows and when a batch writes each ticket's
    # ``extra`` and each win's ``details``.
    from psycopg import Connection as PsycopgConnection
    from psycopg.types.json import set_json_dumps, set_json_loads

    # Registered only on the psycopg engine, so the DBAPI connection is psycopg's.
    connection = cast("PsycopgConnection[Any]", dbapi_connection)
    set_json_loads(orjson.loads, connection)
    set_json_dumps(_dumps, connection)


def _dumps(value: Any) -> bytes:
    # What the json module (and so the SQLite path) accepts, no more: integer keys become strings, and a
    # datetime or dataclass is an error here too rather than silently stored on Postgres alone.
    return orjson.dumps(value, option=_JSON_OPTIONS)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets the API read while a job writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
