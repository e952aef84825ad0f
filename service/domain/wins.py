"""What a win is, independent of where it is stored or shown.

Pure values only: no Flask, Slack, Redis or SQL may be imported here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class WinKind(enum.StrEnum):
    TICKET = "ticket"
    SPRINT_STARTED = "sprint_started"
    SPRINT_CLOSED = "sprint_closed"
    MILESTONE = "milestone"
    STREAK = "streak"
    BADGE = "badge"
    MANUAL = "manual"
    KUDOS = "kudos"
    CHALLENGE = "challenge"


class WinStatus(enum.StrEnum):
    ACTIVE = "active"
    # A reopened ticket keeps its row so history and cheers survive; it just stops counting.
    RETRACTED = "retracted"


class WinVisibility(enum.StrEnum):
    """Who sees a win: the team, or (an "only me" win) its owner alone, never in public posts."""

    TEAM = "team"
    PRIVATE = "private"


# The wins people made, which the progress engine counts (badges, streaks and milestones are earned
# from them). ``service.models.wins.COUNTED_WINS`` is the same set as SQL.
COUNTED_KINDS: frozenset[WinKind] = frozenset({WinKind.TICKET, WinKind.MANUAL, WinKind.KUDOS})


class WinSource(enum.StrEnum):
    JIRA = "jira"
    SLACK = "slack"
    ENGINE = "engine"


@dataclass(frozen=True, slots=True)
class WinDraft:
    """A win the rules want recorded.

    ``(source, source_key, kind)`` is the identity: recording the same draft twice must
    leave one row, which is what makes every job safe to retry.
    """

    kind: WinKind
    source: WinSource
    source_key: str
    title: str
    occurred_at: datetime
    member_ref: str | None = None  # an external person id (Jira account id, Slack user id)
    points: float | None = None
    url: str | None = None
    details: dict[str, object] = field(default_factory=dict)
