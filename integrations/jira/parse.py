"""Translate Jira Cloud and Server/Data Center webhook payloads into domain events.

Jira's payloads vary by edition, version and site configuration, so every lookup here
tolerates missing or unexpected fields, and decisions come from the issue's state and
changelog rather than from event-type names (see the corpus README).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from integrations.jira.fields import (
    PayloadError,
    bounded_key,
    digits,
    display_text,
    identifier,
    integer,
    mapping,
    parse_jira_datetime,
    sequence,
    sprint_state,
    string,
)
from service.domain.events import (
    BIGINT_MAX,
    EMAIL_MAX,
    KEY_MAX,
    PERSON_NAME_MAX,
    PERSON_REF_MAX,
    PROJECT_NAME_MAX,
    SPRINT_NAME_MAX,
    STATUS_NAME_MAX,
    TIME_ZONE_MAX,
    TIMESTAMP_MS_MAX,
    DomainEvent,
    IssueChanged,
    IssueCommented,
    Person,
    SprintAction,
    SprintChanged,
    SprintMove,
    SprintRef,
    StatusCategory,
)

ISSUE_EVENTS = {"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"}
COMMENT_EVENTS = {"comment_created", "comment_updated", "comment_deleted"}
SPRINT_EVENTS = {f"sprint_{action.value}": action for action in SprintAction}
KNOWN_EVENTS = ISSUE_EVENTS | COMMENT_EVENTS | set(SPRINT_EVENTS)
__all__ = [
    "KNOWN_EVENTS",
    "PayloadError",
    "event_name",
    "parse_event",
    "parse_jira_datetime",
    "payload_timestamp_ms",
]

# Story points live in a per-site custom field; these are the ids Jira Cloud and Server
# templates create most often, tried in order when no field is configured.
COMMON_POINTS_FIELDS = (
    "customfield_10016",  # Cloud team-managed / "Story point estimate"
    "customfield_10026",
    "customfield_10028",
    "customfield_10024",
    "customfield_10002",  # Server / Data Center "Story Points"
    "customfield_10004",
    "customfield_10006",
    "customfield_10106",
)

_GREENHOPPER_SPRINT = re.compile(
    r"^com\.atlassian\.greenhopper\.service\.sprint\.Sprint@[0-9a-f]+\[(.*)\]$", re.S
)
_GREENHOPPER_PAIR = re.compile(r"(\w+)=(.*?)(?=,\w+=|$)", re.S)


POINTS_MAX = 1_000_000.0  # no estimate is larger; past it the value is noise, not points


def event_name(payload: Mapping[str, Any]) -> str | None:
    name = payload.get("webhookEvent")
    return name if isinstance(name, str) else None


def payload_timestamp_ms(payload: Mapping[str, Any]) -> int | None:
    """The payload's ``timestamp`` in epoch milliseconds, None when absent.

    Raises PayloadError for anything else: a wrong type, a non-ASCII digit (``int("²")`` fails),
    or a moment outside 1970-9999 (past it no date column, nor Python, can hold the moment).
    """
    value = payload.get("timestamp")
    if value is None:
        return None
    millis: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        millis = value
    elif isinstance(value, float) and math.isfinite(value):
        millis = int(value)
    elif isinstance(value, str):
        millis = digits(value)
    if millis is None or not 0 <= millis <= TIMESTAMP_MS_MAX:
        raise PayloadError(
            f"timestamp must be milliseconds since 1970 as an integer from 0 to {TIMESTAMP_MS_MAX}"
        )
    return millis


def parse_event(
    payload: Mapping[str, Any],
    *,
    received_at_ms: int,
    points_field: str | None = None,
) -> DomainEvent | None:
    """Return the domain event for a payload, or None for an event type we don't handle."""
    name = event_name(payload)
    timestamp_ms = payload_timestamp_ms(payload) or received_at_ms
    occurred_at = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    if name in ISSUE_EVENTS:
        return _parse_issue_event(payload, name, timestamp_ms, occurred_at, points_field)
    if name in COMMENT_EVENTS:
        issue = mapping(payload.get("issue"))
        key = identifier(issue.get("key"), "issue.key")
        project = bounded_key(mapping(mapping(issue.get("fields")).get("project")).get("key"))
        if not key:
            raise PayloadError(f"{name} payload has no issue.key")
        return IssueCommented(timestamp_ms, occurred_at, key, project or key.split("-")[0])
    if name in SPRINT_EVENTS:
        sprint = mapping(payload.get("sprint"))
        ref = _sprint_from_object(sprint)
        if ref is None or ref.jira_id is None:
            raise PayloadError(f"{name} payload has no sprint.id (an integer from 0 to {BIGINT_MAX})")
        return SprintChanged(
            timestamp_ms, occurred_at, SPRINT_EVENTS[name], ref, _site_of(string(sprint.get("self")))
        )
    return None


def _parse_issue_event(
    payload: Mapping[str, Any],
    name: str,
    timestamp_ms: int,
    occurred_at: datetime,
    points_field: str | None,
) -> IssueChanged:
    issue = mapping(payload.get("issue"))
    fields = mapping(issue.get("fields"))
    key = identifier(issue.get("key"), "issue.key")
    if not key:
        raise PayloadError(f"{name} payload has no issue.key")
    project = mapping(fields.get("project"))
    project_key = bounded_key(project.get("key")) or key.rsplit("-", 1)[0]
    status = mapping(fields.get("status"))
    category = _status_category(status)
    issue_type = mapping(fields.get("issuetype"))
    changelog_items = _changelog_items(payload)
    site = _site_of(string(issue.get("self"))) or ""
    return IssueChanged(
        timestamp_ms=timestamp_ms,
        occurred_at=occurred_at,
        site=site,
        issue_id=identifier(issue.get("id"), "issue.id") or key,
        issue_key=key,
        project_key=project_key,
        project_name=display_text(project.get("name"), PROJECT_NAME_MAX),
        summary=string(fields.get("summary")) or "",
        issue_type=display_text(issue_type.get("name"), KEY_MAX),
        is_subtask=issue_type.get("subtask") is True,
        labels=tuple(label for label in map(string, sequence(fields.get("labels"))) if label),
        status_name=display_text(status.get("name"), STATUS_NAME_MAX),
        status_category=category,
        resolution=_resolution(fields),
        points=_points(fields, points_field),
        assignee=_person(fields.get("assignee")),
        actor=_person(payload.get("user")),
        url=f"{site}/browse/{key}" if site else "",
        created_at=parse_jira_datetime(fields.get("created")),
        sprints=_sprints_of(fields),
        sprint_move=_sprint_move(changelog_items),
        status_changed=any(_item_field(item) == "status" for item in changelog_items),
        resolution_changed=any(_item_field(item) == "resolution" for item in changelog_items),
        deleted=name == "jira:issue_deleted",
    )


def _status_category(status: Mapping[str, Any]) -> StatusCategory:
    key = string(mapping(status.get("statusCategory")).get("key"))
    try:
        return StatusCategory(key) if key else StatusCategory.UNKNOWN
    except ValueError:
        return StatusCategory.UNKNOWN


def _resolution(fields: Mapping[str, Any]) -> str | None:
    resolution = fields.get("resolution")
    if isinstance(resolution, Mapping):
        return string(resolution.get("name")) or string(resolution.get("id")) or "resolved"
    if isinstance(resolution, str) and resolution:
        return resolution
    return None


def _points(fields: Mapping[str, Any], configured: str | None) -> float | None:
    candidates = (configured,) if configured else COMMON_POINTS_FIELDS
    for field_id in candidates:
        value = fields.get(field_id)
        if isinstance(value, bool):
            continue
        try:
            points = float(value) if isinstance(value, int | float | str) else None
        except (ValueError, OverflowError):
            continue
        if points is not None and math.isfinite(points) and abs(points) <= POINTS_MAX:
            return points
    return None


def _person(raw: Any) -> Person | None:
    if not isinstance(raw, Mapping):
        return None
    ref = string(raw.get("accountId")) or string(raw.get("key")) or string(raw.get("name"))
    if not ref:
        return None
    if len(ref) > PERSON_REF_MAX:  # cutting it could merge two people into one member
        raise PayloadError(f"a person's accountId is longer than {PERSON_REF_MAX} characters")
    email = string(raw.get("emailAddress"))
    name = display_text(raw.get("displayName"), PERSON_NAME_MAX)
    name = name or display_text(raw.get("name"), PERSON_NAME_MAX)
    return Person(
        ref=ref,
        display_name=name,
        email=email if email and len(email) <= EMAIL_MAX else None,  # longer is no address
        time_zone=display_text(raw.get("timeZone"), TIME_ZONE_MAX),
    )


def _sprints_of(fields: Mapping[str, Any]) -> tuple[SprintRef, ...] | None:
    """Find the sprint field whatever its custom-field id on this site."""
    found: list[SprintRef] | None = None
    for field_id, value in fields.items():
        if not (field_id.startswith("customfield_") or field_id in {"sprint", "closedSprints"}):
            continue
        if field_id == "sprint" and isinstance(value, Mapping):
            value = [value]
        if not isinstance(value, list) or not value:
            continue
        refs = [_sprint_from_any(item) for item in value]
        if all(ref is not None for ref in refs):
            found = (found or []) + [ref for ref in refs if ref is not None]
    if found is None:
        return None
    unique: dict[int | None, SprintRef] = {}
    for ref in found:
        unique.setdefault(ref.jira_id, ref)
    return tuple(unique.values())


def _sprint_from_any(item: Any) -> SprintRef | None:
    if isinstance(item, Mapping):
        if {"id", "name", "state"} <= set(item):
            return _sprint_from_object(item)
        return None
    if isinstance(item, str):
        match = _GREENHOPPER_SPRINT.match(item)
        if not match:
            return None
        pairs = {k: (None if v == "<null>" else v) for k, v in _GREENHOPPER_PAIR.findall(match.group(1))}
        return SprintRef(
            jira_id=integer(pairs.get("id")),
            name=display_text(pairs.get("name"), SPRINT_NAME_MAX),
            state=sprint_state(pairs.get("state")),
            board_id=integer(pairs.get("rapidViewId")),
            goal=string(pairs.get("goal")) or None,
            start_at=parse_jira_datetime(pairs.get("startDate")),
            end_at=parse_jira_datetime(pairs.get("endDate")),
            completed_at=parse_jira_datetime(pairs.get("completeDate")),
        )
    return None


def _sprint_from_object(sprint: Mapping[str, Any]) -> SprintRef | None:
    if not sprint:
        return None
    return SprintRef(
        jira_id=integer(sprint.get("id")),
        name=display_text(sprint.get("name"), SPRINT_NAME_MAX),
        state=sprint_state(sprint.get("state")),
        board_id=integer(sprint.get("originBoardId"))
        or integer(sprint.get("boardId"))
        or integer(sprint.get("rapidViewId")),
        goal=string(sprint.get("goal")) or None,
        start_at=parse_jira_datetime(sprint.get("startDate")),
        end_at=parse_jira_datetime(sprint.get("endDate")),
        completed_at=parse_jira_datetime(sprint.get("completeDate")),
    )


def _changelog_items(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = mapping(payload.get("changelog")).get("items")
    return [item for item in sequence(items) if isinstance(item, Mapping)]


def _item_field(item: Mapping[str, Any]) -> str:
    return (string(item.get("fieldId")) or string(item.get("field")) or "").lower()


def _sprint_move(items: Sequence[Mapping[str, Any]]) -> SprintMove | None:
    for item in items:
        if (string(item.get("field")) or "").lower() != "sprint":
            continue
        from_ids, to_ids = _id_list(item.get("from")), _id_list(item.get("to"))
        from_names, to_names = _name_list(item.get("fromString")), _name_list(item.get("toString"))
        return SprintMove(
            added_ids=tuple(i for i in to_ids if i not in from_ids),
            removed_ids=tuple(i for i in from_ids if i not in to_ids),
            added_names=tuple(n for n in to_names if n not in from_names) if not to_ids else (),
            removed_names=tuple(n for n in from_names if n not in to_names) if not from_ids else (),
        )
    return None


def _id_list(raw: Any) -> list[int]:
    if not isinstance(raw, str):
        return []
    return [i for i in map(integer, raw.split(",")) if i is not None]


def _name_list(raw: Any) -> list[str]:
    text = string(raw)
    if not text or not text.strip():
        return []
    return [part.strip()[:SPRINT_NAME_MAX] for part in text.split(",") if part.strip()]


def _site_of(self_url: str | None) -> str | None:
    """``https://x.atlassian.net/rest/api/2/issue/1`` -> ``https://x.atlassian.net`` (keeps context paths)."""
    if not self_url or "/rest/" not in self_url:
        return None
    return self_url.split("/rest/", 1)[0].rstrip("/")
