"""Teams and what they claim. Events find their team here; unclaimed projects get one of their own.

The ways of finding a team live here, one function each: by its slug (``get_team``, for the command
line and the API) and by whatever a person calls it in Slack (``find_team``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypedDict, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from service.domain.replies import unknown_team
from service.models import DEFAULT_WORKSPACE_ID, Team, TeamSource, Win
from service.models.upsert import insert_ignoring_conflicts
from service.progress.recompute import recompute_teams
from service.teams import history

# Typed as any FromClause; the bulk inserts need a Table.
_TEAMS = cast(Table, Team.__table__)
_TEAM_SOURCES = cast(Table, TeamSource.__table__)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class TeamError(ValueError):
    """A team command that cannot be carried out; the message says why."""


class TeamNotFound(TeamError):
    """No team answers to the name a person gave; the message (raw text) suggests one that does."""


def list_teams(session: Session, *, workspace_id: int = DEFAULT_WORKSPACE_ID) -> list[Team]:
    return list(
        session.scalars(
            select(Team)
            .options(selectinload(Team.sources))
            .where(Team.workspace_id == workspace_id)
            .order_by(Team.slug)
        )
    )


class TeamSummary(TypedDict):
    """What the API and ``sprintwins team list --json`` show of a team."""

    slug: str
    name: str
    jira_projects: list[str]
    slack_channel: str | None
    timezone: str


def team_summary(team: Team) -> TeamSummary:
    return {
        "slug": team.slug,
        "name": team.name,
        "jira_projects": team.jira_projects,
        "slack_channel": team.slack_channel,
        "timezone": team.timezone,
    }


def get_team(session: Session, slug: str, *, workspace_id: int = DEFAULT_WORKSPACE_ID) -> Team:
    """The team of that slug in that workspace: another workspace's team is "no team", never found."""
    team = session.scalars(
        select(Team)
        .options(selectinload(Team.sources))
        .where(Team.workspace_id == workspace_id, Team.slug == slug)
    ).first()
    if team is None:
        raise TeamError(f"no team with slug {slug!r}")
    return team


def find_team(session: Session, name: str, *, workspace_id: int = DEFAULT_WORKSPACE_ID) -> Team:
    """The team a person means by ``name``: its slug, its name, or a Jira project key or board it claims."""
    wanted = name.strip()
    folded = wanted.casefold()
    team = session.scalars(
        select(Team).where(
            Team.workspace_id == workspace_id,
            or_(func.lower(Team.slug) == folded, func.lower(Team.name) == folded),
        )
    ).first()
    if team is None:
        claim = session.scalars(
            select(TeamSource)
            .join(Team, Team.id == TeamSource.team_id)
            .where(
                Team.workspace_id == workspace_id,
                or_(
                    (TeamSource.kind == TeamSource.PROJECT) & (TeamSource.key == wanted.upper()),
                    (TeamSource.kind == TeamSource.BOARD) & (TeamSource.key == wanted),
                ),
            )
        ).first()
        team = session.get(Team, claim.team_id) if claim else None
    if team is not None:
        return team
    slugs = list(
        session.scalars(
            select(Team.slug).where(Team.workspace_id == workspace_id).order_by(Team.slug).limit(500)
        )
    )
    raise TeamNotFound(unknown_team(wanted, slugs))


def teams_for_sources(
    session: Session,
    kind: str,
    keys: Iterable[str],
    names: dict[str, str] | None = None,
    *,
    moved: set[int] | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, int]:
    """Map project keys (or board ids) to team ids within a workspace, creating a team for any unclaimed one.

    Another workspace's claim of the same key is not seen: its Jira site's ``ORB`` is another project.
    A project claimed anew (its claim had been detached) takes its history along from the team that
    held it; the teams whose history changed are added to ``moved``, to be recomputed.
    Safe under concurrent workers: inserts ignore conflicts and the mapping is re-read.
    """
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    found = _claims(session, kind, wanted, workspace_id)
    unclaimed = [k for k in wanted if k not in found]
    for key in unclaimed:
        slug = _free_slug(session, _slug_for(kind, key), workspace_id)
        display = (names or {}).get(key) or (key if kind == TeamSource.PROJECT else f"Board {key}")
        insert_ignoring_conflicts(
            session,
            _TEAMS,
            [{"workspace_id": workspace_id, "slug": slug, "name": display, "timezone": "UTC", "rules": {}}],
            ["workspace_id", "slug"],
        )
        team_id = session.scalar(select(Team.id).where(Team.workspace_id == workspace_id, Team.slug == slug))
        insert_ignoring_conflicts(
            session,
            _TEAM_SOURCES,
            [{"workspace_id": workspace_id, "team_id": team_id, "kind": kind, "key": key}],
            ["workspace_id", "kind", "key"],
        )
    found.update(_claims(session, kind, unclaimed, workspace_id))
    if kind == TeamSource.PROJECT:
        for key in unclaimed:
            touched = history.move_project(session, key, found[key], workspace_id=workspace_id)
            if moved is not None:
                moved |= touched
    return found


def claim_board_for(
    session: Session, board_id: int, team_id: int, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> int:
    """The team whose issues sit on a board claims it, unless a real team already does.

    A sprint event can arrive before any issue names its board; the placeholder team made
    for it then hands the board, its sprints and their wins over, and is removed once empty.
    ``team_id`` is a team of ``workspace_id``; boards are claimed within it.
    """
    key = str(board_id)
    insert_ignoring_conflicts(
        session,
        _TEAM_SOURCES,
        [{"workspace_id": workspace_id, "team_id": team_id, "kind": TeamSource.BOARD, "key": key}],
        ["workspace_id", "kind", "key"],
    )
    claim = session.scalars(
        select(TeamSource).where(
            TeamSource.workspace_id == workspace_id,
            TeamSource.kind == TeamSource.BOARD,
            TeamSource.key == key,
        )
    ).one()
    if claim.team_id == team_id:
        return team_id
    holder = session.get(Team, claim.team_id)
    if holder is not None and _is_placeholder(session, holder, key):
        claim.team_id = team_id
        session.flush()
        history.move_board(session, key, team_id, workspace_id=workspace_id)
        # The placeholder's engine wins were earned only while it held the board; the team that now
        # holds it earns them again under its own keys.
        session.execute(delete(Win).where(Win.team_id == holder.id))
        session.expire(holder)
        session.delete(holder)
        session.flush()
        return team_id
    return claim.team_id


def _is_placeholder(session: Session, team: Team, board_key: str) -> bool:
    if team.slug != _slug_for(TeamSource.BOARD, board_key) or team.slack_channel:
        return False
    claims = session.scalars(select(TeamSource.key).where(TeamSource.team_id == team.id)).all()
    return list(claims) == [board_key]


def _claims(session: Session, kind: str, keys: list[str], workspace_id: int) -> dict[str, int]:
    if not keys:
        return {}
    rows = session.execute(
        select(TeamSource.key, TeamSource.team_id).where(
            TeamSource.workspace_id == workspace_id, TeamSource.kind == kind, TeamSource.key.in_(keys)
        )
    )
    return {key: team_id for key, team_id in rows}


def _slug_for(kind: str, key: str) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", key.lower()).strip("-") or "team"
    return base[:56] if kind == TeamSource.PROJECT else f"board-{base}"[:56]


def _free_slug(session: Session, base: str, workspace_id: int) -> str:
    """The project key's slug unless a team of the workspace already uses it for something else."""
    taken = set(
        session.scalars(
            select(Team.slug).where(Team.workspace_id == workspace_id, Team.slug.like(f"{base}%"))
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def create_team(
    session: Session,
    slug: str,
    name: str | None = None,
    timezone: str = "UTC",
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> Team:
    if not _SLUG.match(slug):
        raise TeamError(
            "a slug is 1-64 lower-case letters, digits and dashes, starting with a letter or digit"
        )
    if (
        session.scalar(select(Team.id).where(Team.workspace_id == workspace_id, Team.slug == slug))
        is not None
    ):
        raise TeamError(f"a team with slug {slug!r} already exists")
    team = Team(
        workspace_id=workspace_id,
        slug=slug,
        name=name or slug,
        timezone=validate_timezone(timezone),
        rules={},
    )
    session.add(team)
    session.flush()
    return team


def rename_team(session: Session, slug: str, name: str, *, workspace_id: int = DEFAULT_WORKSPACE_ID) -> Team:
    name = name.strip()
    if not name:
        raise TeamError("a team name cannot be empty")
    team = get_team(session, slug, workspace_id=workspace_id)
    team.name = name[:200]
    return team


def set_channel(
    session: Session, slug: str, channel: str | None, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> Team:
    if channel is not None and not re.match(r"^[CGD][A-Z0-9]{2,}$", channel):
        raise TeamError("a Slack channel is given by its id, such as C0123ABCD (not its #name)")
    team = get_team(session, slug, workspace_id=workspace_id)
    team.slack_channel = channel
    return team


def set_timezone(
    session: Session, slug: str, timezone: str, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> Team:
    team = get_team(session, slug, workspace_id=workspace_id)
    team.timezone = validate_timezone(timezone)
    return team


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TeamError(f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin") from None
    return name


def attach(
    session: Session, slug: str, kind: str, key: str, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> Team:
    """Claim a project (or board) for a team, and bring its history along, whoever held it before.

    The history follows the claim even when the claim had been detached meanwhile; both sides are
    recomputed in the same transaction, so their badges, streaks and milestones match what they hold.
    """
    team = get_team(session, slug, workspace_id=workspace_id)
    key = key.upper() if kind == TeamSource.PROJECT else key
    claim = session.scalars(
        select(TeamSource).where(
            TeamSource.workspace_id == workspace_id, TeamSource.kind == kind, TeamSource.key == key
        )
    ).first()
    if claim is None:
        session.add(TeamSource(workspace_id=workspace_id, team_id=team.id, kind=kind, key=key))
    else:
        claim.team_id = team.id
    session.flush()
    if kind == TeamSource.PROJECT:
        touched = history.move_project(session, key, team.id, workspace_id=workspace_id)
    else:
        touched = history.move_board(session, key, team.id, workspace_id=workspace_id)
    recompute_teams(session, touched)
    session.flush()
    session.refresh(team)
    return team


def detach(
    session: Session, slug: str, kind: str, key: str, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> Team:
    team = get_team(session, slug, workspace_id=workspace_id)
    key = key.upper() if kind == TeamSource.PROJECT else key
    claim = session.scalars(
        select(TeamSource).where(
            TeamSource.kind == kind, TeamSource.key == key, TeamSource.team_id == team.id
        )
    ).first()
    if claim is None:
        raise TeamError(f"team {slug!r} does not claim {kind} {key!r}")
    # Its history stays here until a team claims it: attached to another team, or (at the project's next
    # event) a team of its own, which then takes the history along (``history.move_project``).
    session.delete(claim)
    session.flush()
    session.refresh(team)
    return team
