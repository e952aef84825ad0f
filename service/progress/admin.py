"""What the CLI and the API do to a team's progress settings and to a person's data.

Each function works in the caller's transaction and raises ``AdminError`` (or the domain's
``TeamRulesError``) with a message a person can act on. Teams are found by slug with
``service.teams.registry.get_team``, whose ``TeamError`` says which slug is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.calendar import TeamCalendar
from service.domain.challenges import TEAM_OWNER, Challenge, parse_challenge_spec
from service.domain.team_rules import TeamRules, TeamRulesError
from service.models import DEFAULT_WORKSPACE_ID, Member, Team, Win
from service.models.progress import (
    OWNER_MEMBER,
    OWNER_TEAM,
    ChallengeRow,
    StreakFreezeDay,
    TeamHoliday,
)
from service.privacy import export as privacy_export
from service.privacy import forget as privacy_forget
from service.progress.recompute import recompute_team
from service.progress.save import ProgressChanges
from service.teams import registry as teams

# Settings that hold lists, so the CLI can take ``issue_types=Story,Bug``.
LIST_KEYS = frozenset(
    {
        "issue_types",
        "required_labels",
        "excluded_labels",
        "projects",
        "enabled_milestones",
        "enabled_badges",
        "enabled_streaks",
        "streak_thresholds",
    }
)


class AdminError(ValueError):
    """A request that cannot be carried out; the message says why."""


def calendar_of(session: Session, team: Team) -> TeamCalendar:
    holidays = frozenset(session.scalars(select(TeamHoliday.day).where(TeamHoliday.team_id == team.id)))
    return TeamCalendar(team.timezone or "UTC", holidays)


def local_today(team: Team) -> date:
    return TeamCalendar(team.timezone or "UTC").local_date(datetime.now(UTC))


def recompute_slug(session: Session, slug: str, today: date | None = None) -> ProgressChanges:
    team = teams.get_team(session, slug)
    return recompute_team(session, team.id, today)


# -- rules -----------------------------------------------------------------------------------------------


def validated_rules(data: object) -> dict[str, Any]:
    """The mapping to store: only the keys given, each in the normal form ``to_mapping`` gives.

    Keys not given keep following the defaults. Raises ``TeamRulesError`` listing every problem.
    """
    if not isinstance(data, Mapping):
        raise TeamRulesError([f"<root>: must be a JSON object, got {type(data).__name__}"])
    normal = TeamRules.from_mapping(data).to_mapping()
    return {key: normal[key] for key in sorted(data)}


def show_rules(session: Session, slug: str, *, workspace_id: int = DEFAULT_WORKSPACE_ID) -> dict[str, Any]:
    team = teams.get_team(session, slug, workspace_id=workspace_id)
    stored = dict(team.rules or {})
    try:
        effective = TeamRules.from_mapping(stored).to_mapping()
        problems: list[str] = []
    except TeamRulesError as error:
        effective, problems = TeamRules().to_mapping(), list(error.problems)
    return {"team": team.slug, "rules": effective, "stored": stored, "problems": problems}


def replace_rules(
    session: Session,
    slug: str,
    data: object,
    today: date | None = None,
    *,
    recompute: bool = True,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> tuple[dict[str, Any], ProgressChanges | None]:
    team = teams.get_team(session, slug, workspace_id=workspace_id)
    team.rules = validated_rules(data)
    session.flush()
    return team.rules, recompute_team(session, team.id, today) if recompute else None


def update_rules(
    session: Session, slug: str, changes: Mapping[str, object], today: date | None = None
) -> tuple[dict[str, Any], ProgressChanges | None]:
    team = teams.get_team(session, slug)
    return replace_rules(session, slug, {**(team.rules or {}), **changes}, today)


# -- challenges ------------------------------------------------------------------------------------------


# Member ids are a 32-bit column: a larger number names nobody, and Postgres refuses to bind it.
MAX_MEMBER_ID = 2**31 - 1


def _member(session: Session, member_id: int) -> Member:
    if isinstance(member_id, bool) or not isinstance(member_id, int) or not 0 < member_id <= MAX_MEMBER_ID:
        raise AdminError(f"no member with id {member_id}")
    member = session.get(Member, member_id)
    if member is None:
        raise AdminError(f"no member with id {member_id}")
    return member


def add_challenge(
    session: Session,
    slug: str,
    spec: str,
    member_id: int | None = None,
    *,
    today: date | None = None,
    created_by: int | None = None,
    recompute: bool = True,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """Parse and store a challenge; with ``recompute``, its progress so far is filled in at once."""
    team = teams.get_team(session, slug, workspace_id=workspace_id)
    if member_id is not None and _member(session, member_id).workspace_id != team.workspace_id:
        # Another workspace's person is "no member", exactly as an id that names nobody.
        raise AdminError(f"no member with id {member_id}")
    calendar = calendar_of(session, team)
    try:
        parsed = parse_challenge_spec(spec, today=today or local_today(team), calendar=calendar)
        # Validate the values the domain will later build from this row, before storing it.
        Challenge(0, TEAM_OWNER, parsed.title, parsed.metric, parsed.target, parsed.starts_on, parsed.ends_on)
    except ValueError as error:
        raise AdminError(str(error)) from None
    row = ChallengeRow(
        team_id=team.id,
        owner=OWNER_TEAM if member_id is None else OWNER_MEMBER,
        member_id=member_id,
        title=parsed.title,
        metric=parsed.metric,
        target=parsed.target,
        starts_on=parsed.starts_on,
        ends_on=parsed.ends_on,
        spec=spec,
        created_by=created_by,
        progress=0.0,
    )
    session.add(row)
    session.flush()
    if recompute:
        recompute_team(session, team.id, today)
        session.refresh(row)
    return challenge_json(row)


def challenge_json(row: ChallengeRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "scope": row.owner,
        "member_id": row.member_id,
        "title": row.title,
        "metric": row.metric,
        "target": row.target,
        "starts_on": row.starts_on.isoformat(),
        "ends_on": row.ends_on.isoformat(),
        "progress": row.progress,
        "completed_at": _iso(row.completed_at),
    }


def list_challenges(
    session: Session, slug: str, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> list[dict[str, Any]]:
    team = teams.get_team(session, slug, workspace_id=workspace_id)
    rows = session.scalars(
        select(ChallengeRow).where(ChallengeRow.team_id == team.id).order_by(ChallengeRow.id)
    )
    return [challenge_json(r) for r in rows]


# -- freezes and holidays --------------------------------------------------------------------------------


def freeze_day(
    session: Session, member_id: int, day: date, team_slug: str | None = None, today: date | None = None
) -> list[str]:
    """Protect a day of a person's streak in one team, or in every team they have wins in."""
    _member(session, member_id)
    if team_slug is not None:
        chosen = [teams.get_team(session, team_slug)]
    else:
        team_ids = select(Win.team_id).where(Win.member_id == member_id).distinct()
        chosen = list(session.scalars(select(Team).where(Team.id.in_(team_ids)).order_by(Team.slug)))
        if not chosen:
            raise AdminError(f"member {member_id} has no wins in any team yet; name one with --team")
    for team in chosen:
        existing = session.scalar(
            select(StreakFreezeDay.id).where(
                StreakFreezeDay.member_id == member_id,
                StreakFreezeDay.team_id == team.id,
                StreakFreezeDay.day == day,
            )
        )
        if existing is None:
            session.add(StreakFreezeDay(member_id=member_id, team_id=team.id, day=day))
    session.flush()
    for team in chosen:
        recompute_team(session, team.id, today)
    return [t.slug for t in chosen]


def add_holiday(session: Session, slug: str, day: date, name: str = "", today: date | None = None) -> None:
    team = teams.get_team(session, slug)
    existing = session.scalars(
        select(TeamHoliday).where(TeamHoliday.team_id == team.id, TeamHoliday.day == day)
    ).first()
    if existing is None:
        session.add(TeamHoliday(team_id=team.id, day=day, name=name))
    elif name:
        existing.name = name
    session.flush()
    recompute_team(session, team.id, today)


# -- a person's data (service.privacy) -------------------------------------------------------------------


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_member(session: Session, member_id: int) -> dict[str, Any]:
    """Everything stored about a person, as JSON-ready values (``service.privacy.export``)."""
    return privacy_export.export_member(session, _member(session, member_id))


def forget_member(session: Session, member_id: int, today: date | None = None) -> dict[str, int]:
    """Erase a person everywhere, keeping every team's totals (``service.privacy.forget``)."""
    return privacy_forget.forget_member(session, _member(session, member_id), today)
