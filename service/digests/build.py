"""What a team's digest for a period holds, read from the database, and composed.

Building reads plain columns (no ORM objects) for the team's active, team-visible wins in the period,
through the ``(team_id, occurred_at, id)`` index, so a team with a long history costs no more than
its period; composition is the pure ``service.domain.digest``.

What a digest lists follows what the progress engine counts: a ticket win the team's rules leave out
(``TeamRules.counts``, the engine's own predicate, asked with the same ticket fields the engine
loads) is neither listed nor counted. "Only me" wins are never read. People who opted out of sharing
are handed over without a name: they are never named, and their wins still count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from service.digests.sprints import latest_sprint, sprint_progress, sprints_to_show
from service.domain.digest import DigestInput, DigestWin, compose_digest, compose_sprint_end
from service.domain.digest_blocks import Digest
from service.domain.digest_periods import RunPeriod, period_so_far, sprint_end_period, sprint_so_far
from service.domain.schedule import Period, load_timezone
from service.domain.sprints import SprintState
from service.domain.team_rules import TeamRules, rules_or_defaults
from service.domain.wins import WinKind, WinSource, WinStatus, WinVisibility
from service.models import Member, Sprint, Team, Ticket, Win
from service.wins.cheers import cheer_counts


def build_digest_input(session: Session, team: Team, period: Period, *, now: datetime) -> DigestInput:
    """Everything the team's digest for ``period`` shows, read from the database."""
    rules = rules_or_defaults(team.rules)
    rows = [row for row in _period_rows(session, team.id, period) if _rules_list(rules, row)]
    cheers = cheer_counts(session, [row.id for row in rows])
    kudos_rows = [row for row in rows if row.kind == WinKind.KUDOS.value]
    givers = _opted_out_members(session, [_giver_id(row.details) for row in kudos_rows])
    wins: list[DigestWin] = []
    for row in rows:
        named = row.display_name is not None and not row.sharing_opt_out
        kind = WinKind(row.kind)
        wins.append(
            DigestWin(
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
        )
    tz = load_timezone(team.timezone)
    shown = sprints_to_show(session, team.id, period.start, period.end)
    return DigestInput(
        team_name=team.name,
        period_label=period.label,
        period_start=period.start.astimezone(tz),
        period_end=period.end.astimezone(tz),
        wins=wins,
        sprints=[sprint_progress(session, sprint, now=now, tz_name=team.timezone) for sprint in shown],
    )


def _period_rows(session: Session, team_id: int, period: Period) -> Sequence[Any]:
    """The period's active, team-visible wins, oldest first, with the ticket fields the rules read."""
    return session.execute(
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
            Ticket.issue_type,
            Ticket.labels,
            Ticket.project_key,
            Ticket.is_subtask,
        )
        .outerjoin(Member, Member.id == Win.member_id)
        .outerjoin(  # the engine's join (``service.progress.load_wins``), so both judge the same ticket
            Ticket,
            and_(
                Win.kind == WinKind.TICKET.value,
                Win.source == WinSource.JIRA.value,
                Ticket.workspace_id == Win.workspace_id,
                Ticket.issue_key == Win.source_key,
            ),
        )
        .where(
            Win.team_id == team_id,
            Win.occurred_at >= period.start,
            Win.occurred_at < period.end,
            Win.status == WinStatus.ACTIVE.value,
            Win.visibility != WinVisibility.PRIVATE.value,
        )
        .order_by(Win.occurred_at, Win.id)
    ).all()


def _rules_list(rules: TeamRules, row: Any) -> bool:
    """Whether the team's rules let this win be listed: the engine's ticket rule, other kinds always."""
    if row.kind != WinKind.TICKET.value or rules.counts_every_ticket:
        return True
    labels = tuple(row.labels) if row.labels else ()
    return rules.counts(row.issue_type, labels, row.project_key, row.points, bool(row.is_subtask))


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
    if sprint.state == SprintState.ACTIVE:
        return sprint_so_far(sprint.id, sprint.name, sprint.start_at, now)
    # A closed sprint's period includes the moment it closed: its closing win and its burn-up.
    closed = (sprint.completed_at or sprint.end_at or now) + timedelta(seconds=1)
    return sprint_so_far(sprint.id, sprint.name, sprint.start_at, closed)


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
