"""Reading one field of a Jira payload, bounded: whatever arrives, what comes back fits its column.

Strings lose their NUL characters (no database text column stores one), display text is cut to
its column, an identifier too long to keep whole is refused (cutting it could merge two issues),
integers stay within a signed 64-bit column and dates within the years 1970-9999.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from service.domain.events import BIGINT_MAX, EARLIEST, KEY_MAX, LATEST, SPRINT_STATE_MAX, TIMESTAMP_MS_MAX


class PayloadError(ValueError):
    """The payload claims a known event but lacks what that event needs, or a field is out of bounds."""


def parse_jira_datetime(raw: Any) -> datetime | None:
    """Jira writes ``2019-02-15T19:01:52.971-0800``, ISO with ``Z``, or epoch millis.

    A moment outside 1970-9999 is no date Jira keeps, and some of them cannot even be converted
    to UTC: they read as unknown.
    """
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return _from_millis(raw)
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip()
    if text.isdigit():
        millis = digits(text)
        return None if millis is None else _from_millis(millis)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
        except ValueError:
            return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        in_range = EARLIEST <= parsed.astimezone(UTC) <= LATEST
    except OverflowError:  # year 1 at +14:00, or 9999-12-31 at -14:00
        return None
    return parsed if in_range else None


def _from_millis(millis: float) -> datetime | None:
    if not (isinstance(millis, int) or math.isfinite(millis)) or not 0 <= millis <= TIMESTAMP_MS_MAX:
        return None
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def sequence(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def string(value: Any) -> str | None:
    """A string field, NUL removed (no database text column stores one)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def display_text(value: Any, limit: int) -> str | None:
    """Display text, cut to the column it is stored in."""
    found = string(value)
    return found[:limit] if found is not None else None


def bounded_key(value: Any) -> str | None:
    """An identifier that fits its column, or None when it cannot be one of ours."""
    text = string(value)
    return text if text is not None and len(text) <= KEY_MAX else None


def identifier(value: Any, name: str) -> str | None:
    """An identifier that names a row: cutting it could merge two issues, so a long one is refused."""
    text = string(value)
    if text is not None and len(text) > KEY_MAX:
        raise PayloadError(f"{name} is longer than {KEY_MAX} characters")
    return text


def sprint_state(value: Any) -> str | None:
    return (string(value) or "").lower()[:SPRINT_STATE_MAX] or None


def integer(value: Any) -> int | None:
    """A non-negative id that fits a 64-bit column; anything else is no id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = digits(value)
    if isinstance(value, int) and 0 <= value <= BIGINT_MAX:
        return value
    return None


def digits(value: str) -> int | None:
    """A string of ASCII digits as its number (``"²".isdigit()`` is true, yet ``int("²")`` fails)."""
    value = value.strip()
    return int(value) if 0 < len(value) <= 20 and value.isascii() and value.isdigit() else None
