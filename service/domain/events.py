"""Typed domain events, the only shape in which the outside world reaches the rules.

Integrations translate payloads into these; the rules never see JSON.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

# The bounds every event field is held to, so that whatever the outside world sends, an event
# always fits the columns it is stored in (a test checks these against the tables). Identifiers
# past their bound are refused, display text is cut, integers stay within a signed 64-bit column
# and moments within the years every database and Python's datetime can represent.
EVENT_NAME_MAX = 100  # an inbox row's event type
KEY_MAX = 64  # issue keys, issue ids, project keys, issue types
STATUS_NAME_MAX = 100
PERSON_REF_MAX = 128  # a Jira accountId, user key or name
PERSON_NAME_MAX = 200
EMAIL_MAX = 320
TIME_ZONE_MAX = 64
PROJECT_NAME_MAX = 200  # the name of the team a new project gets
SPRINT_NAME_MAX = 200
SPRINT_STATE_MAX = 16
BIGINT_MAX = 2**63 - 1
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
TIMESTAMP_MS_MAX = 253_402_300_799_999  # LATEST in milliseconds since the epoch


class StatusCategory(enum.StrEnum):
    NEW = "new"
    INDETERMINATE = "indeterminate"
    DONE = "done"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in Jira. ``ref`` is the accountId on Cloud, the user key or name on Server."""

    ref: str
    display_name: str | None = None
    email: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True, slots=True)
class SprintRef:
    """A sprint as an issue or a sprint event describes it; any field may be unknown."""

    jira_id: int | None
    name: str | None = None
    state: str | None = None
    board_id: int | None = None
    goal: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SprintMove:
    """The changelog's ``Sprint`` item: ids when Jira gives them, names otherwise."""

    added_ids: tuple[int, ...] = ()
    removed_ids: tuple[int, ...] = ()
    added_names: tuple[str, ...] = ()
    removed_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IssueChanged:
    """An issue was created, updated or deleted (Cloud and Server alike)."""

    timestamp_ms: int
    occurred_at: datetime
    site: str
    issue_id: str
    issue_key: str
    project_key: str
    project_name: str | None
    summary: str
    issue_type: str | None
    is_subtask: bool
    labels: tuple[str, ...]
    status_name: str | None
    status_category: StatusCategory
    resolution: str | None
    points: float | None
    assignee: Person | None
    actor: Person | None
    url: str
    created_at: datetime | None = None
    sprints: tuple[SprintRef, ...] | None = None  # None: the payload carries no sprint field
    sprint_move: SprintMove | None = None
    status_changed: bool = False
    resolution_changed: bool = False
    deleted: bool = False

    @property
    def is_complete(self) -> bool:
        """Done category or a resolution: Jira's two ways of saying the work is finished."""
        return not self.deleted and (
            self.status_category is StatusCategory.DONE or self.resolution is not None
        )

    @property
    def credited(self) -> Person | None:
        return self.assignee or self.actor


class SprintAction(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    STARTED = "started"
    CLOSED = "closed"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class SprintChanged:
    timestamp_ms: int
    occurred_at: datetime
    action: SprintAction
    sprint: SprintRef
    site: str | None


@dataclass(frozen=True, slots=True)
class IssueCommented:
    """Comments change no win; parsed so they are recorded as understood, not unknown."""

    timestamp_ms: int
    occurred_at: datetime
    issue_key: str
    project_key: str


DomainEvent = IssueChanged | SprintChanged | IssueCommented
