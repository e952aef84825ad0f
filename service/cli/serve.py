"""Run the app under gunicorn, through its documented custom-application API."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from service.gc_tuning import freeze_startup_objects


class _SprintWinsServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Built in each worker after the fork, so no connection is shared across processes.
        from jobs import runtime
        from jobs.inbox import sweep_inbox
        from service.app import create_app

        app = create_app()
        if runtime.current().settings.in_process_jobs:
            sweep_inbox()  # deliveries stored before a crash or restart are picked up again
        freeze_startup_objects()
        return app


def run_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "accesslog": None,
        "errorlog": "-",
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        # No control socket under $HOME: containers run with a read-only root file system.
        "control_socket_disable": True,
    }
    _SprintWinsServer(options).run()
