"""What a team's digest for a period holds, read from the database, and composed.

Building reads plain columns (no ORM objects) for the team's active, team-visible wins in the period,
through the ``(team_id, occurred_at, id)`` index, so a team with a long history costs no more than
its period; composition is the pure ``service.domain.digest``. People who opted out of sharing are
handed over without a name: they are never named, and their wins still count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.digests.sprints import active_sprint, latest_sprint, sprint_progress
from service.domain.digest import (
    OWN_SECTION_KINDS,
    DigestInput,
    DigestWin,
    compose_digest,
    compose_sprint_end,
)
from service.domain.digest_blocks import Digest
from service.domain.digest_periods import RunPeriod, period_so_far, sprint_end_period, sprint_so_far
from service.domain.schedule import Period, load_timezone
from service.domain.sprints import SprintState
from service.domain.wins import WinKind, WinStatus, WinVisibility
from service.models import Member, Sprint, Team, Win
from service.wins.cheers import cheer_counts

# Streaks, badges and kudos are listed on their own and never ranked, so their cheers are not counted.
_SIDE_KINDS = {kind.value for kind in OWN_SECTION_KINDS}


def build_digest_input(session: Session, team: Team, period: Period, *, now: datetime) -> DigestInput:
    """Everything the team's digest for ``period`` shows, read from the database."""
    rows = session.execute(
        select(
            Win.id,
            Win.kind,
            Win.title,
            Win.occurred_at,
            Win.points,
            Win.url,
            Win.details,
            Member.display_name,
            Member.slack_user_id,
            Member.sharing_opt_out,
        )
        .outerjoin(Member, Member.id == Win.member_id)
        .where(
            Win.team_id == team.id,
            Win.occurred_at >= period.start,
            Win.occurred_at < period.end,
            Win.status == WinStatus.ACTIVE.value,
            Win.visibility != WinVisibility.PRIVATE,
        )
    ).all()
    cheers = cheer_counts(session, [row.id for row in rows if row.kind not in _SIDE_KINDS])
    kudos_rows = [row for row in rows if row.kind == WinKind.KUDOS.value]
    givers = _opted_out_members(session, [_giver_id(row.details) for row in kudos_rows])
    wins: list[DigestWin] = []
    kudos: list[DigestWin] = []
    streaks: list[DigestWin] = []
    badges: list[DigestWin] = []
    for row in rows:
        named = row.display_name is not None and not row.sharing_opt_out
        kind = WinKind(row.kind)
        win = DigestWin(
            id=row.id,
            kind=kind,
            title=row.title,
            occurred_at=row.occurred_at,
            member_name=(row.display_name or row.slack_user_id or None) if named else None,
            member_slack_id=row.slack_user_id if named else None,
            has_person=row.display_name is not None,
            points=row.points,
            url=row.url,
            cheers=cheers.get(row.id, 0),
            kudos_from_name=_giver_name(row.details, givers) if kind is WinKind.KUDOS else None,
        )
        wins.append(win)
        if kind is WinKind.KUDOS:
            kudos.append(win)
        elif kind is WinKind.STREAK:
            streaks.append(win)
        elif kind is WinKind.BADGE:
            badges.append(win)
    by_time = lambda win: (win.occurred_at, str(win.id))  # noqa: E731 - stable order for the side lists
    sprint = active_sprint(session, team.id)
    return DigestInput(
        team_name=team.name,
        period_label=period.label,
        period_start=period.start.astimezone(load_timezone(team.timezone)),
        period_end=period.end.astimezone(load_timezone(team.timezone)),
        wins=wins,
        sprint=sprint_progress(session, sprint, now=now, tz_name=team.timezone) if sprint else None,
        new_streaks=sorted(streaks, key=by_time),
        new_badges=sorted(badges, key=by_time),
        kudos=sorted(kudos, key=by_time),
    )


def compose_for_period(
    session: Session, team: Team, period: Period, *, now: datetime, post_when_empty: bool = False
) -> Digest | None:
    """The team's digest for ``period``; None for an empty period unless ``post_when_empty``."""
    return compose_digest(build_digest_input(session, team, period, now=now), post_when_empty=post_when_empty)


def compose_sprint_celebration(session: Session, sprint: Sprint, *, now: datetime) -> Digest:
    """The sprint-end celebration: the sprint's figures and its best wins."""
    team = session.get(Team, sprint.team_id)
    assert team is not None  # the foreign key cascades deletes
    period = sprint_end_period(sprint.id, sprint.start_at, sprint.completed_at or sprint.end_at or now)
    highlights = build_digest_input(session, team, period, now=now).wins
    return compose_sprint_end(
        sprint_progress(session, sprint, now=now, tz_name=team.timezone),
        team_name=team.name,
        sprint_ref=str(sprint.id),
        wins=highlights,
    )


def period_for_run(session: Session, team: Team, which: RunPeriod, now: datetime) -> Period:
    """The period ``digest preview|run`` means now: this week, today, or the current sprint so far."""
    if which is not RunPeriod.SPRINT:
        return period_so_far(which, team.timezone, now)
    sprint = latest_sprint(session, team.id)
    if sprint is None:
        raise LookupError(f"team {team.slug} has no active or closed sprint yet")
    end = now if sprint.state == SprintState.ACTIVE else (sprint.completed_at or sprint.end_at or now)
    return sprint_so_far(sprint.id, sprint.name, sprint.start_at, end)


def _giver_id(details: object) -> int | None:
    giver = (details or {}).get("kudos_from") if isinstance(details, dict) else None
    member_id = giver.get("member_id") if isinstance(giver, dict) else None
    return member_id if isinstance(member_id, int) else None


def _giver_name(details: object, opted_out: set[int]) -> str | None:
    giver = (details or {}).get("kudos_from") if isinstance(details, dict) else None
    if not isinstance(giver, dict) or _giver_id(details) in opted_out:
        return None
    name = giver.get("name")
    return str(name) if name else None


def _opted_out_members(session: Session, member_ids: Sequence[int | None]) -> set[int]:
    wanted = sorted({m for m in member_ids if m is not None})
    if not wanted:
        return set()
    return set(
        session.scalars(select(Member.id).where(Member.id.in_(wanted), Member.sharing_opt_out.is_(True)))
    )
