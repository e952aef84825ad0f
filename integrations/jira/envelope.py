"""What the webhook edge needs to know of a delivery before storing it: is it a Jira webhook, which one.

Only the envelope is read here (the event name and its timestamp); the payload itself is parsed
later, by the job that records it, so a slow or failing parse never delays the acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from integrations.jira.parse import KNOWN_EVENTS, event_name, payload_timestamp_ms


class NotAWebhook(ValueError):
    """The body cannot be a Jira webhook; the message says why, for the sender."""


@dataclass(frozen=True, slots=True)
class Envelope:
    event_name: str
    known: bool  # an event we record; others are stored as ignored
    timestamp_ms: int | None


def read_envelope(body: bytes) -> Envelope:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise NotAWebhook("body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise NotAWebhook("body must be a JSON object, as Jira webhooks are")
    name = event_name(payload)
    if not name:
        raise NotAWebhook("not a Jira webhook: the JSON object has no string 'webhookEvent'")
    return Envelope(name, name in KNOWN_EVENTS, payload_timestamp_ms(payload))
