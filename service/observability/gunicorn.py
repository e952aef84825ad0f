"""gunicorn's part in metrics and logs: its hooks and a logger class, set in ``service.cli.serve``.

- ``on_starting`` (in the master, before any worker exists) makes a fresh multi-process metrics
  directory, so each start counts from zero and no worker has imported ``prometheus_client`` yet;
- ``child_exit`` tells ``prometheus_client`` a worker is gone (its live gauges' files are dropped);
- ``on_exit`` removes the directory;
- :class:`StructuredLogger` sends gunicorn's own records through the process's structlog formatter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

from service.observability import exposition
from service.observability.logs import configure_logging, route_to_root
from service.settings import Settings

_MULTIPROC_DIR: Path | None = None


class StructuredLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with its handlers removed: its records go to the root logger's formatter."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        settings = Settings.from_env()
        configure_logging(settings)
        route_to_root([self.error_log, self.access_log])
        self.error_log.setLevel(settings.log_level.upper())  # SPRINTWINS_LOG_LEVEL, not gunicorn's own


def on_starting(server: Any) -> None:
    global _MULTIPROC_DIR
    _MULTIPROC_DIR = exposition.use_fresh_multiprocess_dir()


def child_exit(server: Any, worker: Any) -> None:
    exposition.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _MULTIPROC_DIR is not None:
        exposition.remove_multiprocess_dir(_MULTIPROC_DIR)
