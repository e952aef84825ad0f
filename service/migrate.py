"""Schema migrations through Alembic, on SQLite and Postgres alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from service.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(database: Database, revision: str = "heads") -> None:
    _migrate(database, lambda config: command.upgrade(config, revision))


def downgrade(database: Database, revision: str) -> None:
    _migrate(database, lambda config: command.downgrade(config, revision))


def _migrate(database: Database, run: Callable[[Config], None]) -> None:
    """Run Alembic in one transaction; on SQLite, with foreign keys off, checked before the commit.

    SQLite alters a table by copying it and dropping the original; with foreign keys on, that drop
    first deletes the original's rows, cascading to every row that references them (a team's tickets,
    wins and sprints). The pragma only takes effect outside a transaction, so it is set before the
    migration's transaction begins and set back after it ends.
    """
    config = alembic_config()
    with database.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _foreign_keys(connection, "OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                run(config)
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()):
                    raise RuntimeError(f"the migration left rows that reference nothing: {broken[:5]}")
        finally:
            if sqlite:
                _foreign_keys(connection, "ON")  # as every connection of the pool has it


def _foreign_keys(connection: Connection, state: str) -> None:
    connection.exec_driver_sql(f"PRAGMA foreign_keys={state}")
    connection.commit()  # ends the transaction SQLAlchemy began for the statement (SQLite opened none)


def current_revision(database: Database) -> str | None:
    """The applied revision(s), comma-separated when several branches are applied; None if empty."""
    from alembic.runtime.migration import MigrationContext

    with database.engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return ", ".join(sorted(heads)) or None
