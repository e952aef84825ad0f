"""Structured logs: one line per event, JSON in production, readable on a developer's terminal.

Our code logs through the standard library (``logging.getLogger(__name__)``), and so do gunicorn, RQ
and Bolt; one root handler formats every record with structlog's ``ProcessorFormatter``. Each line
carries the request id bound for the request or job (``context``), and never a secret: the values of
the settings that hold secrets are cut out of the finished line, whatever put them there.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from service.observability.context import current_request_id
from service.settings import Settings

LOG_FORMATS = ("auto", "json", "console")
REDACTED = "[redacted]"
# Values shorter than this are not secrets worth the name (and would redact ordinary words).
SECRET_MIN_LENGTH = 8
# Keys whose values are never logged, whatever the value.
SECRET_KEYS = frozenset({"authorization", "password", "secret", "token", "cookie", "signature"})


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installs, so configuring again replaces it rather than adding one."""


def secret_values(settings: Settings) -> list[str]:
    """The settings fields kept out of ``repr`` are the secrets; their values are cut out of logs."""
    values = []
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if not f.repr and isinstance(value, str) and len(value) >= SECRET_MIN_LENGTH:
            values.append(value)
    return values


def wants_json(log_format: str, *, production: bool, stream: TextIO) -> bool:
    if log_format != "auto":
        return log_format == "json"
    return production or not _isatty(stream)


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Send every record in this process through one structlog formatter on the root logger."""
    stream = stream or sys.stderr
    as_json = wants_json(settings.log_format, production=settings.production, stream=stream)
    shared: list[Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_message_copy,
        _add_request_id,
        _drop_secret_keys,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if as_json:
        renderer = structlog.processors.JSONRenderer(serializer=_dumps)
        finish: list[Processor] = [structlog.processors.format_exc_info, renderer]
    else:
        finish = [structlog.dev.ConsoleRenderer(colors=_isatty(stream))]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *finish,
            SecretScrubber(secret_values(settings)),
        ],
    )
    handler = _OurHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def route_to_root(loggers: Iterable[logging.Logger]) -> None:
    """Let another library's loggers (gunicorn's) reach the root handler instead of their own."""
    for logger in loggers:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True


class SecretScrubber:
    """The last step: cut every secret value out of the finished line."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is cut whole.
        self._secrets = sorted(set(secrets), key=len, reverse=True)

    def __call__(self, logger: WrappedLogger, method: str, line: Any) -> Any:
        if isinstance(line, str):
            for secret in self._secrets:
                if secret in line:
                    line = line.replace(secret, REDACTED)
        return line


def _add_request_id(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    request_id = current_request_id()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def _drop_message_copy(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    # A standard-library record's formatted message is already the event; one copy per line is enough.
    if event.get("message") == event.get("event"):
        event.pop("message", None)
    return event


def _drop_secret_keys(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    for key in SECRET_KEYS.intersection(event):
        event[key] = REDACTED
    return event


def _dumps(event: Any, **_: Any) -> str:
    return orjson.dumps(event, default=repr).decode()


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
