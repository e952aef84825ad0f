"""What every ``sprintwins`` command needs: the settings, and one transaction against the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from service.settings import Settings, SettingsError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def settings_or_exit() -> Settings:
    """The settings from the environment; a bad one ends the command with its message (exit 1)."""
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


@contextmanager
def transaction(settings: Settings | None = None) -> Iterator[Session]:
    """One transaction, committed when the block ends; the engine is disposed of afterwards."""
    from service.db import Database

    database = Database((settings or settings_or_exit()).database_url)
    try:
        with database.transaction() as session:
            yield session
    finally:
        database.dispose()
