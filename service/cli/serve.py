"""Run the app under gunicorn, through its documented custom-application API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from service.gc_tuning import freeze_startup_objects
from service.observability import gunicorn as observability_hooks

# On SIGTERM gunicorn stops accepting and gives requests in flight this long before it kills its
# workers. The chart's web terminationGracePeriodSeconds must outlast it (tests/cli/test_shutdown.py).
GRACEFUL_TIMEOUT_S = 10


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


def close_after_an_oversized_body(limit: int) -> Callable[[Any, Any], None]:
    """A ``pre_request`` hook: a request whose body the app will refuse unread closes its connection.

    The app answers 413 without reading such a body, and gunicorn drains at most 64 KiB of an unread
    body before reusing a connection: past that it closes the socket after a response that said
    ``Connection: keep-alive``, and the client's next request on it fails. Marking the request first
    makes the 413 say ``Connection: close``. A chunked body's size is unknown until it has been read,
    so a chunked request closes its connection too.
    """

    def pre_request(_worker: Any, req: Any) -> None:
        for name, value in req.headers:  # gunicorn upper-cases header names
            declared_too_large = name == "CONTENT-LENGTH" and value.isdigit() and int(value) > limit
            if declared_too_large or name == "TRANSFER-ENCODING":
                req.force_close()
                return

    return pre_request


def run_gunicorn(*, host: str, port: int, workers: int, threads: int, max_body_bytes: int) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "accesslog": None,
        "errorlog": "-",
        "timeout": 30,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "pre_request": close_after_an_oversized_body(max_body_bytes),
        "keepalive": 5,
        # No control socket under $HOME: containers run with a read-only root file system.
        "control_socket_disable": True,
        # Metrics and logs (service.observability.gunicorn): a fresh multi-process metrics directory
        # per start, a dead worker's files dropped, and gunicorn's records in the structured format.
        "logger_class": observability_hooks.StructuredLogger,
        "on_starting": observability_hooks.on_starting,
        "child_exit": observability_hooks.child_exit,
        "on_exit": observability_hooks.on_exit,
    }
    _SprintWinsServer(options).run()
