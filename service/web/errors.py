"""Every error leaves as JSON with a message a person can act on, never as an HTML 500 page."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


def json_error(status: int, message: str, **extra: object) -> tuple[Response, int]:
    return jsonify({"error": message, "status": status, **extra}), status


def init_app(app: Flask) -> None:
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
