"""What the webhook edge needs to know of a delivery before storing it: is it a Jira webhook, which one.

Only the envelope is read here (the event name and its timestamp); the payload itself is parsed
later, by the job that records it, so a slow or failing parse never delays the acknowledgement.
Both are checked against what the inbox row can hold, so a bad value is refused with a reason
instead of failing in the database (and, in a group commit, next to good deliveries).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from integrations.jira.parse import KNOWN_EVENTS, PayloadError, event_name, payload_timestamp_ms
from service.domain.events import EVENT_NAME_MAX


class NotAWebhook(ValueError):
    """The body cannot be a Jira webhook; the message says why, for the sender."""


@dataclass(frozen=True, slots=True)
class Envelope:
    event_name: str
    known: bool  # an event we record; others are stored as ignored
    timestamp_ms: int | None


def read_envelope(body: bytes) -> Envelope:
    try:
        payload = orjson.loads(body)  # refuses lone surrogates, raw control characters, deep nesting
    except orjson.JSONDecodeError:
        raise NotAWebhook("body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise NotAWebhook("body must be a JSON object, as Jira webhooks are")
    name = event_name(payload)
    if not name:
        raise NotAWebhook("not a Jira webhook: the JSON object has no string 'webhookEvent'")
    if "\x00" in name:
        raise NotAWebhook("webhookEvent must not contain NUL characters")
    if len(name) > EVENT_NAME_MAX:
        raise NotAWebhook(f"webhookEvent is longer than {EVENT_NAME_MAX} characters")
    try:
        timestamp_ms = payload_timestamp_ms(payload)
    except PayloadError as error:
        raise NotAWebhook(str(error)) from None
    return Envelope(name, name in KNOWN_EVENTS, timestamp_ms)
