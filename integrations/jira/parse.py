"""Translate Jira Cloud and Server/Data Center webhook payloads into domain events.

Jira's payloads vary by edition, version and site configuration, so every lookup here
tolerates missing or unexpected fields, and decisions come from the issue's state and
changelog rather than from event-type names (see the corpus README).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from service.domain.events import (
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


class PayloadError(ValueError):
    """The payload claims a known event but lacks what that event needs."""


def event_name(payload: Mapping[str, Any]) -> str | None:
    name = payload.get("webhookEvent")
    return name if isinstance(name, str) else None


def payload_timestamp_ms(payload: Mapping[str, Any]) -> int | None:
    value = payload.get("timestamp")
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


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
        issue = _mapping(payload.get("issue"))
        key = _str(issue.get("key"))
        project = _str(_mapping(_mapping(issue.get("fields")).get("project")).get("key"))
        if not key:
            raise PayloadError(f"{name} payload has no issue.key")
        return IssueCommented(timestamp_ms, occurred_at, key, project or key.split("-")[0])
    if name in SPRINT_EVENTS:
        sprint = _mapping(payload.get("sprint"))
        ref = _sprint_from_object(sprint)
        if ref is None or ref.jira_id is None:
            raise PayloadError(f"{name} payload has no sprint.id")
        return SprintChanged(
            timestamp_ms, occurred_at, SPRINT_EVENTS[name], ref, _site_of(_str(sprint.get("self")))
        )
    return None


def _parse_issue_event(
    payload: Mapping[str, Any],
    name: str,
    timestamp_ms: int,
    occurred_at: datetime,
    points_field: str | None,
) -> IssueChanged:
    issue = _mapping(payload.get("issue"))
    fields = _mapping(issue.get("fields"))
    key = _str(issue.get("key"))
    if not key:
        raise PayloadError(f"{name} payload has no issue.key")
    project = _mapping(fields.get("project"))
    project_key = _str(project.get("key")) or key.rsplit("-", 1)[0]
    status = _mapping(fields.get("status"))
    category = _status_category(status)
    issue_type = _mapping(fields.get("issuetype"))
    changelog_items = _changelog_items(payload)
    site = _site_of(_str(issue.get("self"))) or ""
    return IssueChanged(
        timestamp_ms=timestamp_ms,
        occurred_at=occurred_at,
        site=site,
        issue_id=_str(issue.get("id")) or key,
        issue_key=key,
        project_key=project_key,
        project_name=_str(project.get("name")),
        summary=_str(fields.get("summary")) or "",
        issue_type=_str(issue_type.get("name")),
        is_subtask=issue_type.get("subtask") is True,
        labels=tuple(label for label in _sequence(fields.get("labels")) if isinstance(label, str)),
        status_name=_str(status.get("name")),
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
    key = _str(_mapping(status.get("statusCategory")).get("key"))
    try:
        return StatusCategory(key) if key else StatusCategory.UNKNOWN
    except ValueError:
        return StatusCategory.UNKNOWN


def _resolution(fields: Mapping[str, Any]) -> str | None:
    resolution = fields.get("resolution")
    if isinstance(resolution, Mapping):
        return _str(resolution.get("name")) or _str(resolution.get("id")) or "resolved"
    if isinstance(resolution, str) and resolution:
        return resolution
    return None


def _points(fields: Mapping[str, Any], configured: str | None) -> float | None:
    candidates = (configured,) if configured else COMMON_POINTS_FIELDS
    for field_id in candidates:
        value = fields.get(field_id)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                continue
    return None


def _person(raw: Any) -> Person | None:
    if not isinstance(raw, Mapping):
        return None
    ref = _str(raw.get("accountId")) or _str(raw.get("key")) or _str(raw.get("name"))
    if not ref:
        return None
    return Person(
        ref=ref,
        display_name=_str(raw.get("displayName")) or _str(raw.get("name")),
        email=_str(raw.get("emailAddress")),
        time_zone=_str(raw.get("timeZone")),
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
            jira_id=_int(pairs.get("id")),
            name=pairs.get("name"),
            state=(pairs.get("state") or "").lower() or None,
            board_id=_int(pairs.get("rapidViewId")),
            goal=pairs.get("goal") or None,
            start_at=parse_jira_datetime(pairs.get("startDate")),
            end_at=parse_jira_datetime(pairs.get("endDate")),
            completed_at=parse_jira_datetime(pairs.get("completeDate")),
        )
    return None


def _sprint_from_object(sprint: Mapping[str, Any]) -> SprintRef | None:
    if not sprint:
        return None
    return SprintRef(
        jira_id=_int(sprint.get("id")),
        name=_str(sprint.get("name")),
        state=(_str(sprint.get("state")) or "").lower() or None,
        board_id=_int(sprint.get("originBoardId"))
        or _int(sprint.get("boardId"))
        or _int(sprint.get("rapidViewId")),
        goal=_str(sprint.get("goal")) or None,
        start_at=parse_jira_datetime(sprint.get("startDate")),
        end_at=parse_jira_datetime(sprint.get("endDate")),
        completed_at=parse_jira_datetime(sprint.get("completeDate")),
    )


def _changelog_items(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = _mapping(payload.get("changelog")).get("items")
    return [item for item in _sequence(items) if isinstance(item, Mapping)]


def _item_field(item: Mapping[str, Any]) -> str:
    return (_str(item.get("fieldId")) or _str(item.get("field")) or "").lower()


def _sprint_move(items: Sequence[Mapping[str, Any]]) -> SprintMove | None:
    for item in items:
        if (_str(item.get("field")) or "").lower() != "sprint":
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
    return [int(part) for part in (p.strip() for p in raw.split(",")) if part.isdigit()]


def _name_list(raw: Any) -> list[str]:
    if not isinstance(raw, str) or not raw.strip():
        return []
    return [part.strip() for part in raw.split(",") if part.strip()]


def _site_of(self_url: str | None) -> str | None:
    """``https://x.atlassian.net/rest/api/2/issue/1`` -> ``https://x.atlassian.net`` (keeps context paths)."""
    if not self_url or "/rest/" not in self_url:
        return None
    return self_url.split("/rest/", 1)[0].rstrip("/")


def parse_jira_datetime(raw: Any) -> datetime | None:
    """Jira writes ``2019-02-15T19:01:52.971-0800``, ISO with ``Z``, or epoch millis."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return datetime.fromtimestamp(raw / 1000, tz=UTC)
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
