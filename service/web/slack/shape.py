"""What a Slack request must look like before Bolt sees it.

Bolt reads its headers and bodies with ``int()``, ``json.loads`` and ``body["event"]["type"]``,
so a request of another shape makes it raise and answer 500, and, for a NUL in an id, makes the
database refuse the inbox row (a 503 that Slack would retry for ever). The edge checks here, in
this order: the signature headers' shape (401, before anything else is read), the signature
itself (401, so an unsigned caller learns nothing about the body), then the body's shape (400).
The body rules list only the fields Bolt and our listeners read, where Slack puts them; anything
else in a payload is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from service.domain.json_depth import nests_deeper_than

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
MAX_ID_CHARS = 200  # the inbox's delivery id column; Slack's ids are far shorter
MAX_DEPTH = 64  # Slack's payloads nest about ten levels; json.loads itself gives up near a thousand
MAX_EVENT_TIME = 10**11  # seconds, year 5138: its milliseconds still fit a 64-bit column


class Refused(ValueError):
    """The request is refused before Bolt: ``status`` is 400 or 401, ``message`` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_signature(headers: Mapping[str, str], body: bytes, signing_secret: str) -> None:
    """Raise ``Refused(401)`` unless the signature headers are well formed and sign ``body``."""
    stamp = headers.get("X-Slack-Request-Timestamp") or ""
    signature = headers.get("X-Slack-Signature") or ""
    if not _TIMESTAMP.fullmatch(stamp):
        raise Refused(401, "X-Slack-Request-Timestamp must be a Unix time in seconds")
    if not _SIGNATURE.fullmatch(signature):
        raise Refused(401, "X-Slack-Signature must be v0= and 64 hexadecimal digits")
    if not SignatureVerifier(signing_secret).is_valid(body, stamp, signature):
        raise Refused(401, "the Slack signature does not match, or its timestamp is over 5 minutes old")


def parse(text: str, content_type: str | None) -> dict[str, Any]:
    """The body as Bolt will read it (the same function), or ``Refused(400)``."""
    # Slack's payloads nest a few levels; a deeper text is refused before any parser recurses into it
    # (form bodies are unquoted first: their payload's brackets arrive percent-encoded).
    if nests_deeper_than(unquote_plus(text), MAX_DEPTH):
        raise Refused(400, f"the body nests more than {MAX_DEPTH} levels deep")
    try:
        body = parse_body(text, content_type)
    except ValueError as error:  # json.JSONDecodeError is a ValueError
        raise Refused(400, f"the body is not valid JSON: {type(error).__name__}") from error
    if not isinstance(body, dict):
        raise Refused(400, "the body (or its payload field) must be a JSON object")
    return body


# -- the shape of the fields that are read ---------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """The fields read at one level of a payload, by the type they must have when present."""

    ids: frozenset[str] = frozenset()  # short strings: ids, types, timestamps
    texts: frozenset[str] = frozenset()  # strings of any length
    owners: frozenset[str] = frozenset()  # an id string, or an object whose "id" is one
    objects: dict[str, Level] = field(default_factory=dict)
    lists: dict[str, Level] = field(default_factory=dict)  # lists of objects


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_OWNERS = _names("team user channel enterprise")
_OWNER_OBJECT = Level(ids=_names("id team_id enterprise_id"))  # a team, user or channel given as an object
_EVENT = Level(
    ids=_names("type subtype user_team tab channel_type thread_ts ts event_ts bot_id reaction"),
    texts=_names("text"),
    owners=_OWNERS,
)
# A message inside an event, or a reaction's item, is read with the event's own rules.
_EVENT.objects.update(
    item=_EVENT, message=_EVENT, previous_message=_EVENT, assistant_thread=_EVENT, tokens=Level()
)
_VIEW = Level(
    ids=_names("id type callback_id team_id app_installed_team_id hash"),
    texts=_names("private_metadata"),
    objects={"state": Level(objects={"values": Level()})},
)
_ACTION = Level(
    ids=_names("action_id block_id type action_ts"),
    texts=_names("value"),
    lists={"selected_options": Level(texts=_names("value"))},
)
_BODY = Level(
    ids=_names(
        "type team_id user_id channel_id enterprise_id api_app_id command trigger_id callback_id "
        "event_id action_id message_ts action_ts"
    ),
    texts=_names("text response_url"),
    owners=_OWNERS,
    objects={
        "event": _EVENT,
        "view": _VIEW,
        "message": _EVENT,
        "container": Level(ids=_names("type channel_id message_ts")),
    },
    lists={
        "authorizations": Level(ids=_names("team_id enterprise_id user_id")),
        "actions": _ACTION,
        "response_urls": Level(texts=_names("response_url")),
    },
)


def check_body(body: dict[str, Any]) -> None:
    """Raise ``Refused(400)`` naming the first field Bolt or a listener could not read."""
    _check_strings(body, "body")
    _check_level(body, _BODY, "")
    if body.get("type") == "event_callback" and not isinstance(body.get("event"), dict):
        raise Refused(400, "event must be an object in an event_callback")
    if body.get("type") == "block_actions" and not body.get("actions"):
        raise Refused(400, "actions must list the action taken")  # Bolt reads actions[0]
    event_time = body.get("event_time")
    if event_time is not None and (
        type(event_time) is not int or not 0 <= event_time < MAX_EVENT_TIME  # bool is not a time
    ):
        raise Refused(400, "event_time must be a Unix time in seconds")


def _check_strings(value: Any, path: str) -> None:
    # Slack never sends a NUL; Postgres cannot store one, and a job would fail on it later. The
    # recursion is bounded: ``parse`` refused texts nested deeper than MAX_DEPTH.
    if isinstance(value, str):
        if "\x00" in value:
            raise Refused(400, f"{path} contains a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, path)
            _check_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, f"{path}[{index}]")


def _check_level(data: dict[str, Any], level: Level, path: str) -> None:
    for name, value in data.items():
        where = f"{path}{name}"
        if value is None:
            continue
        if name in level.ids:
            _require(isinstance(value, str) and len(value) <= MAX_ID_CHARS, where, "a short string")
        elif name in level.texts:
            _require(isinstance(value, str), where, "a string")
        elif name in level.owners:
            if isinstance(value, dict):
                _check_level(value, _OWNER_OBJECT, where + ".")
            else:
                _require(isinstance(value, str) and len(value) <= MAX_ID_CHARS, where, "an id or object")
        elif name in level.objects:
            _require(isinstance(value, dict), where, "an object")
            _check_level(value, level.objects[name], where + ".")
        elif name in level.lists:
            _require(isinstance(value, list), where, "a list of objects")
            for index, item in enumerate(value):
                _require(isinstance(item, dict), f"{where}[{index}]", "an object")
                _check_level(item, level.lists[name], f"{where}[{index}].")


def _require(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise Refused(400, f"{where} must be {what}")
