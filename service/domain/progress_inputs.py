"""The values the progress engine works on: recorded wins, streak freezes and issue ages.

The calendar (``service.domain.calendar``), sprint scopes (``service.domain.sprint_scope``) and the
columnar forms of a history (``service.domain.win_columns``, ``service.domain.win_timeline``) have
modules of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from service.domain.team_rules import TeamRules
from service.domain.wins import COUNTED_KINDS, WinKind, WinStatus


@dataclass(frozen=True, slots=True)
class RecordedWin:
    """A stored win as the progress engine sees it."""

    id: int
    kind: WinKind
    status: WinStatus
    member_ref: str | None  # stable person id; None for team-level wins
    occurred_at: datetime  # must be timezone-aware
    points: float | None = None
    source_key: str = ""
    issue_type: str | None = None
    sprint_ref: str | None = None
    is_bug: bool = False
    kudos_from: str | None = None  # for KUDOS wins: who gave it (member_ref is the receiver)
    labels: tuple[str, ...] = ()
    project_key: str | None = None
    is_subtask: bool = False


@dataclass(frozen=True, slots=True)
class StreakFreeze:
    """A day a person protected: it neither breaks nor extends their streak."""

    member_ref: str
    day: date


@dataclass(frozen=True, slots=True)
class IssueAge:
    """When an issue was created and (if so) closed; feeds the oldest_open_closed milestone."""

    issue_key: str
    created_at: datetime
    done_at: datetime | None


def is_counted(win: RecordedWin, rules: TeamRules) -> bool:
    """Whether a single win counts for streaks, badges and challenges."""
    if win.status != WinStatus.ACTIVE or win.kind not in COUNTED_KINDS:
        return False
    if win.kind != WinKind.TICKET:
        return True
    return rules.counts(win.issue_type, win.labels, win.project_key, win.points, win.is_subtask)


def sort_key(win: RecordedWin) -> tuple[datetime, int]:
    return (win.occurred_at, win.id)
