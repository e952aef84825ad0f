"""What ``/api/v1`` answers, declared once as pydantic models.

The views build their JSON from these classes, the OpenAPI document (``service.web.openapi``) describes
them, and the dashboard reads the same shapes. Adding a field to an answer means adding it here, in the
model and in its ``of`` builder: the document, the response check and the fuzzing follow by themselves.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from service.domain.sprint_scope import ScopeEntry, ScopeSummary
from service.domain.wins import WinSource
from service.models import Member, Team, Win
from service.models.progress import StreakStat
from service.teams.registry import team_summary
from service.wins.queries import SprintSummary

# Counts and points keep the JSON type they have today: an integer stays an integer.
Number = int | float
Timestamp = Annotated[str, Field(description="ISO 8601 date-time in UTC, ending in Z")]
Day = Annotated[str, Field(description="ISO 8601 date, such as 2026-11-01")]


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def iso_day(value: date | None) -> str | None:
    return value.isoformat() if value else None


class Answer(BaseModel):
    # extra="forbid" puts additionalProperties: false in the document, so a field we send but never
    # declared fails the schema check instead of slipping into clients unannounced.
    model_config = ConfigDict(frozen=True, extra="forbid")


class ErrorOut(Answer):
    """Every 4xx and 5xx: a message a person can act on; a refused value also names its ``field``."""

    error: str
    status: int
    field: str | None = None
    problems: list[str] | None = None


class MemberOut(Answer):
    """A person; someone who opted out of sharing is counted but never named."""

    id: int | None
    name: str | None
    anonymous: bool

    @classmethod
    def of(cls, member: Member | None) -> MemberOut | None:
        if member is None:
            return None
        if member.sharing_opt_out:
            return cls(id=None, name=None, anonymous=True)
        return cls(id=member.id, name=member.display_name, anonymous=False)


class TeamOut(Answer):
    slug: str
    name: str
    jira_projects: list[str]
    slack_channel: str | None
    timezone: str

    @classmethod
    def of(cls, team: Team) -> TeamOut:
        # The same summary as ``sprintwins team list --json``, so the two never disagree.
        return cls.model_validate(team_summary(team))


class TeamList(Answer):
    teams: list[TeamOut]


class WinOut(Answer):
    id: int
    kind: str
    status: str
    title: str
    member: MemberOut | None
    points: Number | None
    source: str
    source_key: str
    url: str | None
    occurred_at: Timestamp
    cheers: int  # reactions on the posts that celebrated it

    @classmethod
    def of(cls, win: Win, cheers: int = 0) -> WinOut:
        return cls(
            id=win.id,
            kind=win.kind,
            status=win.status,
            title=win.title,
            member=MemberOut.of(win.member),
            points=win.points,
            source=win.source,
            source_key=_public_key(win),
            url=win.url,
            occurred_at=iso(win.occurred_at) or "",
            cheers=cheers,
        )


def _public_key(win: Win) -> str:
    """The win's key, unless it names a person who opted out of being named.

    The engine's keys for a person's streaks and badges carry their stable identity (a Jira account
    id): shown, it would single out whose anonymous win this is. Such a key is replaced by one naming
    only the row.
    """
    if win.source == WinSource.ENGINE.value and win.member is not None and win.member.sharing_opt_out:
        return f"{win.kind}:{win.id}"
    return win.source_key


class ExportOut(Answer):
    """``GET /api/v1/teams/<slug>/export?format=json``: every win the team page may show, newest first.
    With ``format=csv`` the same rows come as CSV, the member flattened into ``member_id``,
    ``member_name`` and ``member_anonymous``."""

    team: str
    sprint: int | None
    wins: list[WinOut]


class WinsPage(Answer):
    """Newest first; ``next_cursor`` fetches the next page, ``null`` on the last one."""

    wins: list[WinOut]
    next_cursor: str | None


class ScopeTotals(Answer):
    """A sprint's committed and completed scope, in issues and points."""

    committed_issues: int
    committed_points: Number
    completed_issues: int
    completed_points: Number
    scope_source: str


class SprintOut(ScopeTotals):
    id: int | None = Field(description="Jira's sprint id")
    name: str
    state: str
    goal: str | None
    board_id: int | None
    start_at: Timestamp | None
    end_at: Timestamp | None
    completed_at: Timestamp | None
    issues_total: int
    issues_done: int
    points_total: Number
    points_done: Number

    @classmethod
    def of(cls, summary: SprintSummary, scope: ScopeSummary) -> SprintOut:
        sprint = summary.sprint
        return cls(
            id=sprint.jira_id,
            name=sprint.name,
            state=sprint.state,
            goal=sprint.goal,
            board_id=sprint.board_id,
            start_at=iso(sprint.start_at),
            end_at=iso(sprint.end_at),
            completed_at=iso(sprint.completed_at),
            issues_total=summary.issues_total,
            issues_done=summary.issues_done,
            points_total=summary.points_total,
            points_done=summary.points_done,
            **scope.api_fields(),
        )


class SprintList(Answer):
    sprints: list[SprintOut]


class ScopeIssue(Answer):
    issue_key: str
    points: Number | None
    committed: bool
    done: bool
    added_at: Timestamp | None
    removed_at: Timestamp | None
    done_at: Timestamp | None

    @classmethod
    def of(cls, entry: ScopeEntry) -> ScopeIssue:
        return cls(
            issue_key=entry.issue_key,
            points=entry.points,
            committed=entry.committed,
            done=entry.done,
            added_at=iso(entry.added_at),
            removed_at=iso(entry.removed_at),
            done_at=iso(entry.done_at),
        )


class SprintScope(ScopeTotals):
    sprint_id: int | None
    committed_completed_issues: int
    committed_completed_points: Number
    added_issues: int
    removed_issues: int
    estimated: bool
    issues: list[ScopeIssue]

    @classmethod
    def of(cls, sprint_id: int | None, summary: ScopeSummary, entries: list[ScopeEntry]) -> SprintScope:
        return cls(
            sprint_id=sprint_id,
            **summary.api_fields(),
            committed_completed_issues=summary.committed_completed_issues,
            committed_completed_points=summary.committed_completed_points,
            added_issues=summary.added_issues,
            removed_issues=summary.removed_issues,
            estimated=summary.estimated,
            issues=[ScopeIssue.of(entry) for entry in entries],
        )


class EffectiveRules(Answer):
    """Every rule in force, defaults included."""

    issue_types: list[str] | None
    required_labels: list[str]
    excluded_labels: list[str]
    projects: list[str] | None
    min_points: Number
    count_subtasks: bool
    enabled_milestones: list[str]
    enabled_badges: list[str]
    enabled_streaks: list[str]
    streak_thresholds: list[int]
    comeback_pause_days: int
    velocity_window: int
    bug_squasher_bugs: int


class RulesOut(Answer):
    """``rules`` is what applies; ``stored`` only the keys the team set; ``problems`` why stored rules
    that no longer validate are ignored (the defaults apply then)."""

    team: str
    rules: EffectiveRules
    stored: dict[str, Any]
    problems: list[str]


class ChallengeOut(Answer):
    id: int
    scope: str
    title: str
    metric: str
    target: Number
    starts_on: Day
    ends_on: Day
    progress: Number
    completed_at: Timestamp | None
    member: MemberOut | None

    @classmethod
    def of(cls, row: dict[str, Any], member: MemberOut | None) -> ChallengeOut:
        """``row`` as ``service.progress.admin.challenge_json`` gives it; the member id becomes a person."""
        return cls(**{key: value for key, value in row.items() if key != "member_id"}, member=member)


class ChallengeList(Answer):
    challenges: list[ChallengeOut]


class StreakOut(Answer):
    current: int
    best: int
    current_start: Day | None
    last_day: Day | None

    @classmethod
    def of(cls, row: StreakStat) -> StreakOut:
        return cls(
            current=row.current,
            best=row.best,
            current_start=iso_day(row.current_start),
            last_day=iso_day(row.last_day),
        )


class MemberStreakOut(StreakOut):
    member: MemberOut | None


class Streaks(Answer):
    """The team's streak (``null`` before the first recompute) and each member's, best first."""

    team: StreakOut | None
    members: list[MemberStreakOut]
