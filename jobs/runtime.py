"""What a job needs (settings, database, queue), built once per process and never at import."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from jobs.queue import JobQueue, build_queue
from service.db import Database
from service.intake.writer import InboxWriter
from service.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    database: Database
    queue: JobQueue
    _inbox_writer: InboxWriter | None = field(default=None, init=False, repr=False)

    @property
    def inbox_writer(self) -> InboxWriter:
        """The process's group-committing writer for webhook deliveries, for the current database."""
        writer = self._inbox_writer
        if writer is None or writer.database is not self.database:
            if writer is not None:
                writer.close()
            writer = self._inbox_writer = InboxWriter(self.database)
        return writer

    def close(self) -> None:
        """Return held connections and close the pool."""
        if self._inbox_writer is not None:
            self._inbox_writer.close()
        self.database.dispose()

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        return cls(
            settings, Database(settings.database_url), build_queue(settings.redis_url, settings.queue_name)
        )


_current: Runtime | None = None
_lock = threading.Lock()


def install(runtime: Runtime) -> Runtime:
    """Make ``runtime`` the one jobs in this process use (the app factory and the worker call this)."""
    global _current
    with _lock:
        _current = runtime
    return runtime


def current() -> Runtime:
    global _current
    with _lock:
        if _current is None:
            _current = Runtime.from_settings(Settings.from_env())
        return _current


def reset() -> None:
    """Forget (and close) the process's runtime; tests use this between apps."""
    global _current
    with _lock:
        if _current is not None:
            _current.close()
        _current = None
