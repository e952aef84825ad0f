"""Load a team's inputs for a recompute, straight into the domain's frozen dataclasses.

Each table is read once, as plain rows streamed in chunks or as arrays (no ORM objects: a team can
hold a million wins). On Postgres the sprints come summarised where their issues did not change
(``service.progress.kept_sprints``) and only the wins a recompute reads are loaded
(``service.progress.needed_wins``); elsewhere everything is read (``service.progress.load_sprints``,
``service.progress.load_wins``), which gives the same result.

The domain knows people, the team and sprints by the refs of ``service.progress.refs`` (outside ids,
so the same history gives the same keys whatever order it arrived in), and a challenge by its row id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.calendar import TeamCalendar
from service.domain.challenges import TEAM_OWNER, Challenge
from service.domain.progress_inputs import IssueAge, RecordedWin, StreakFreeze
from service.domain.sprint_scope import SprintScope
from service.domain.team_rules import TeamRules, rules_or_defaults
from service.domain.win_columns import WinColumns
from service.models import DEFAULT_WORKSPACE_ID, Team
from service.models.progress import OWNER_TEAM, ChallengeRow, StreakFreezeDay, TeamHoliday
from service.progress import tallies as sprint_tallies
from service.progress.issue_ages import load_issue_ages
from service.progress.kept_sprints import load_kept_sprints
from service.progress.load_sprints import all_ticket_sprints, load_sprints
from service.progress.load_wins import load_win_columns, load_wins
from service.progress.needed_wins import load_needed_win_columns
from service.progress.refs import TeamRefs
from service.progress.sql import is_postgres


@dataclass(frozen=True, slots=True)
class TeamInputs:
    """Everything ``recompute`` needs for one team, as domain values."""

    team_id: int
    calendar: TeamCalendar
    rules: TeamRules
    # Counted kinds, active, in (occurred_at, id) order: all of them, or on Postgres those a recompute
    # reads (``service.domain.progress_needs``), which gives the same result.
    wins: list[RecordedWin] | WinColumns
    sprints: list[SprintScope]
    freezes: list[StreakFreeze]
    challenges: list[Challenge]
    issue_ages: list[IssueAge]
    # How the engine names the team, its people and its sprints (outside ids), and back to member ids.
    refs: TeamRefs
    scope_sources: dict[str, str] = field(default_factory=dict)  # sprint ref -> a ScopeSource value
    # Sprint tallies derived afresh while loading (Postgres), kept by ``store_result`` for next time.
    fresh_tallies: dict[int, sprint_tallies.KeptTally] = field(default_factory=dict)
    workspace_id: int = DEFAULT_WORKSPACE_ID  # the team's: the engine's wins are keyed within it

    def local_today(self, now: datetime | None = None) -> date:
        return self.calendar.local_date(now or datetime.now(UTC))


class TeamNotFound(LookupError):
    pass


def load_team_inputs(session: Session, team_id: int) -> TeamInputs:
    row = session.execute(
        select(Team.timezone, Team.rules, Team.slug, Team.workspace_id).where(Team.id == team_id)
    ).first()
    if row is None:
        raise TeamNotFound(f"no team with id {team_id}")
    refs = TeamRefs(session, team_id, row.slug)
    holidays = frozenset(session.scalars(select(TeamHoliday.day).where(TeamHoliday.team_id == team_id)))
    calendar = TeamCalendar(timezone=row.timezone or "UTC", holidays=holidays)
    rules = rules_or_defaults(row.rules)
    freezes = [
        StreakFreeze(refs.member(member_id), day)
        for member_id, day in session.execute(
            select(StreakFreezeDay.member_id, StreakFreezeDay.day).where(StreakFreezeDay.team_id == team_id)
        )
    ]
    challenges = load_challenges(session, team_id, refs)
    issue_ages = load_issue_ages(session, team_id)
    wins: list[RecordedWin] | WinColumns
    fresh_tallies: dict[int, sprint_tallies.KeptTally] = {}
    if not is_postgres(session):
        sprints, ticket_sprints, scope_sources = load_sprints(session, team_id, refs)
        wins = list(load_wins(session, team_id, ticket_sprints, refs))
    else:
        kept = load_kept_sprints(session, team_id, issue_ages, refs)
        sprints, scope_sources = kept.scopes, kept.sources
        needed = load_needed_win_columns(session, team_id, kept, rules, calendar, challenges, refs)
        if needed is None:
            wins = load_win_columns(
                session, team_id, all_ticket_sprints(session, team_id, kept.windows), rules, refs
            )
        else:
            wins = needed
        fresh_tallies = kept.tallies.fresh
    return TeamInputs(
        team_id=team_id,
        calendar=calendar,
        rules=rules,
        wins=wins,
        sprints=sprints,
        freezes=freezes,
        challenges=challenges,
        issue_ages=issue_ages,
        refs=refs,
        scope_sources=scope_sources,
        fresh_tallies=fresh_tallies,
        workspace_id=row.workspace_id,
    )


def load_challenges(session: Session, team_id: int, refs: TeamRefs | None = None) -> list[Challenge]:
    refs = refs or TeamRefs(session, team_id)
    rows = session.execute(
        select(
            ChallengeRow.id,
            ChallengeRow.owner,
            ChallengeRow.member_id,
            ChallengeRow.title,
            ChallengeRow.metric,
            ChallengeRow.target,
            ChallengeRow.starts_on,
            ChallengeRow.ends_on,
        )
        .where(ChallengeRow.team_id == team_id)
        .order_by(ChallengeRow.id)
    )
    return [
        Challenge(
            r.id,
            TEAM_OWNER if r.owner == OWNER_TEAM else refs.member(r.member_id),
            r.title,
            r.metric,
            r.target,
            r.starts_on,
            r.ends_on,
        )
        for r in rows
    ]
