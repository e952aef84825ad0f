"""What every ``sprintwins`` command needs: the settings, one transaction against the database, refusals
as clear errors, and times printed alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import click

from service.settings import Settings, SettingsError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")


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


def run_refusing(action: Callable[[Session], T], refusals: tuple[type[Exception], ...]) -> T:
    """Run ``action`` in one transaction; one of ``refusals`` (an unknown workspace, team, token...) ends
    the command with its message (exit 1), and nothing is written."""
    try:
        with transaction() as session:
            return action(session)
    except refusals as error:
        raise click.ClickException(str(error)) from None


def iso_seconds(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def short_time(iso: str | None) -> str:
    """``2026-12-06T17:03:00+00:00`` as ``2026-12-06 17:03`` for a listing's column; ``-`` for none."""
    return iso[:16].replace("T", " ") if iso else "-"
