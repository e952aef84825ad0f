"""Every error leaves as JSON with a message a person can act on, never as an HTML 500 page.

A bad value is the caller's to fix: 400 naming the field (``BadInput``). Only an outage is ours: 503
with ``Retry-After``, so clients and probes wait and retry instead of giving up on a 500.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from jobs.queue import QueueUnavailable
from service.db import DATABASE_UNREACHABLE

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


class BadInput(ValueError):
    """A request value the API refuses; ``field`` names it, ``problems`` lists every one found."""

    def __init__(self, field: str, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.problems = problems or [message]


def json_error(status: int, message: str, **extra: object) -> tuple[Response, int]:
    return jsonify({"error": message, "status": status, **extra}), status


def unavailable(message: str) -> tuple[Response, int]:
    response, status = json_error(503, message)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status


def init_app(app: Flask) -> None:
    @app.errorhandler(BadInput)
    def _bad_input(error: BadInput) -> tuple[Response, int]:
        return json_error(400, error.message, field=error.field, problems=error.problems)

    # Connection-level failures only (server down, refused, dropped, timed out): a DataError or an
    # IntegrityError is a bug in our validation and stays a logged 500, so it gets fixed.
    def _database_down(error: Exception) -> tuple[Response, int]:
        log.warning("database unavailable: %s", type(error).__name__)
        return unavailable("storage is unavailable; retry later")

    for unreachable in DATABASE_UNREACHABLE:
        app.register_error_handler(unreachable, _database_down)

    @app.errorhandler(QueueUnavailable)
    def _queue_down(error: QueueUnavailable) -> tuple[Response, int]:
        log.warning("queue unavailable: %s", error)
        return unavailable("the job queue is unavailable; retry later")

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[Response, int]:
        message = error.description or error.name
        if error.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"request body is larger than the {limit}-byte limit"
        return json_error(error.code or 500, message)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return json_error(500, "internal error; it has been logged")
