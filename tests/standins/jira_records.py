"""The Jira stand-in's data: its two flavours, the seeded records, and the date formats Jira writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

Flavour = Literal["cloud", "server"]
StatusCategory = Literal["new", "indeterminate", "done"]
SprintState = Literal["future", "active", "closed"]
DateLike = datetime | str | None


@dataclass(frozen=True)
class JiraFlavour:
    """What differs between Jira Cloud and Jira Server/Data Center, as far as Sprint Wins cares."""

    name: Flavour
    deployment_type: str
    version: str
    version_numbers: tuple[int, int, int]
    points_field_id: str
    points_field_name: str
    points_field_custom_type: str
    sprint_field_id: str
    rank_field_id: str


FLAVOURS: dict[Flavour, JiraFlavour] = {
    "cloud": JiraFlavour(
        name="cloud",
        deployment_type="Cloud",
        version="1001.0.0-SNAPSHOT",
        version_numbers=(1001, 0, 0),
        points_field_id="customfield_10016",
        points_field_name="Story point estimate",
        # Cloud's estimate field is a greenhopper type, not the generic float Server uses.
        points_field_custom_type="com.pyxis.greenhopper.jira:jsw-story-points",
        sprint_field_id="customfield_10020",
        rank_field_id="customfield_10019",
    ),
    "server": JiraFlavour(
        name="server",
        deployment_type="Server",
        version="9.12.15",
        version_numbers=(9, 12, 15),
        points_field_id="customfield_10002",
        points_field_name="Story Points",
        points_field_custom_type="com.atlassian.jira.plugin.system.customfieldtypes:float",
        sprint_field_id="customfield_10005",
        rank_field_id="customfield_10006",
    ),
}

STATUS_CATEGORIES: dict[str, dict[str, Any]] = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
STATUS_IDS = {"To Do": "10000", "In Progress": "3", "Done": "10001"}
ISSUE_TYPE_IDS = {"Story": "10001", "Task": "10002", "Bug": "10004", "Epic": "10000", "Sub-task": "10003"}
SUBTASK_TYPES = frozenset({"Sub-task", "Subtask"})
DEFAULT_CREATED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ISSUE_EXPAND = "operations,versionedRepresentations,editmeta,changelog,renderedFields"


class JiraCall(NamedTuple):
    """One request as the stand-in saw it; repeated query keys are joined with commas."""

    method: str
    path: str
    query: dict[str, str]


@dataclass(frozen=True)
class JiraUser:
    ident: str  # accountId on Cloud, username (`name`) on Server
    display_name: str
    email: str | None
    time_zone: str
    server_key: str


@dataclass
class BoardRecord:
    id: int
    name: str
    project_key: str
    project_name: str
    estimation_field_id: str | None
    type: str


@dataclass
class SprintRecord:
    id: int
    board_id: int
    name: str
    state: SprintState
    start: datetime | None
    end: datetime | None
    complete: datetime | None
    goal: str | None


@dataclass
class IssueRecord:
    id: int
    key: str
    project_key: str
    sprint_ids: list[int]
    points: float | None
    status_category: StatusCategory
    status_name: str
    issue_type: str
    assignee: str | None
    labels: list[str]
    summary: str
    created: datetime
    updated: datetime
    resolutiondate: datetime | None


@dataclass
class Reply:
    """What an endpoint answers; `JiraStandIn.handle` turns it into a JSON response."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def error_reply(status: int, message: str) -> Reply:
    return Reply({"errorMessages": [message], "errors": {}}, status=status)


def as_datetime(value: DateLike) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def agile_date(value: datetime | None) -> str | None:
    """Agile API dates: ``2026-11-02T09:00:00.000Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def issue_date(value: datetime | None) -> str | None:
    """Issue field dates: ``2026-11-05T14:03:11.000+0000``."""
    if value is None:
        return None
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def key_order(key: str) -> tuple[str, int]:
    project, _, number = key.partition("-")
    return project, int(number) if number.isdigit() else 0
