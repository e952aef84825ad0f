"""The wins a team page shows: never an "only me" win, paged as the JSON API pages.

The feed uses the API's cursor (``service.wins.queries``), so a page link and an API call name the
same place in the list. Counts here are of the wins people made (``COUNTED_KINDS``, still active), the
same wins the progress engine counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from service.domain.wins import COUNTED_KINDS, WinKind, WinSource, WinStatus
from service.models import Member, Sprint, Team, Ticket, Win, sprint_tickets
from service.wins import queries

# The engine's earned wins: the badges wall.
EARNED_KINDS = (WinKind.STREAK.value, WinKind.BADGE.value, WinKind.MILESTONE.value)
COUNTED = tuple(sorted(k.value for k in COUNTED_KINDS))
EXPORT_PAGE = queries.MAX_LIMIT


def shown_to_team(team_id: int) -> list[ColumnElement[bool]]:
    """The conditions every team page and export puts on wins: the team's, and not "only me" (the API's
    own rule, ``queries.shared_with_team``)."""
    return [Win.team_id == team_id, queries.shared_with_team()]


def counted_moments(session: Session, team_id: int, since: datetime, until: datetime) -> list[datetime]:
    """When each counted win in [since, until) happened, for binning by the team's days."""
    query = select(Win.occurred_at).where(
        *shown_to_team(team_id),
        Win.status == WinStatus.ACTIVE.value,
        Win.kind.in_(COUNTED),
        Win.occurred_at >= since,
        Win.occurred_at < until,
    )
    return list(session.scalars(query))


def counted_between(session: Session, team_id: int, since: datetime, until: datetime) -> int:
    query = select(func.count()).where(
        *shown_to_team(team_id),
        Win.status == WinStatus.ACTIVE.value,
        Win.kind.in_(COUNTED),
        Win.occurred_at >= since,
        Win.occurred_at < until,
    )
    return int(session.scalar(query) or 0)


def of_teams_workspace(team_id: int) -> ColumnElement[bool]:
    """Members of the team's own workspace: a person of another one is nobody here, even by id."""
    return Member.workspace_id == select(Team.workspace_id).where(Team.id == team_id).scalar_subquery()


@dataclass(frozen=True)
class FeedFilter:
    """The feed's filters; ``member_id`` names a person by our id, ``sprint`` a sprint by Jira's id."""

    member_id: int | None = None
    kind: str | None = None
    sprint: int | None = None
    cursor: str | None = None
    limit: int = 25


def _filtered(session: Session, team_id: int, f: FeedFilter) -> Select[Win]:
    query = select(Win).where(*shown_to_team(team_id))
    if f.kind:
        query = query.where(Win.kind == f.kind)
    if f.member_id is not None:
        # Only people who agreed to be named can be picked out: an opted-out person's wins stay in the
        # team's list, never in a list of theirs.
        named = select(Member.id).where(
            Member.id == f.member_id, Member.sharing_opt_out.is_(False), of_teams_workspace(team_id)
        )
        query = query.where(Win.member_id.in_(named))
    if f.sprint is not None:
        query = query.where(_in_sprint(session, team_id, f.sprint))
    return query


def _in_sprint(session: Session, team_id: int, jira_sprint_id: int):  # type: ignore[no-untyped-def]
    """A win belongs to a sprint when its ticket is in the sprint, or, for wins without a ticket, when
    it happened while the sprint ran; a sprint the team does not have matches nothing."""
    sprint = session.scalars(
        select(Sprint).where(Sprint.team_id == team_id, Sprint.jira_id == jira_sprint_id)
    ).first()
    if sprint is None:
        return Win.id.is_(None)
    keys = (
        select(Ticket.issue_key)
        .join(sprint_tickets, sprint_tickets.c.ticket_id == Ticket.id)
        .where(sprint_tickets.c.sprint_id == sprint.id)
    )
    # Two lookups whose ids the page then reads, rather than one OR that makes Postgres walk every win
    # of the team newest first: ticket wins by their key (a ticket's win is always Jira's, the unique
    # key the recorder finds it by), the others by time.
    inner = aliased(Win)
    ticket_wins = select(inner.id).where(
        inner.team_id == team_id,
        inner.source == WinSource.JIRA.value,
        inner.kind == WinKind.TICKET.value,
        inner.source_key.in_(keys),
    )
    if sprint.start_at is None:
        return Win.id.in_(ticket_wins)
    during = [
        inner.team_id == team_id,
        inner.kind != WinKind.TICKET.value,
        inner.occurred_at >= sprint.start_at,
    ]
    ended = sprint.completed_at or sprint.end_at
    if ended is not None:
        during.append(inner.occurred_at <= ended)
    return Win.id.in_(union_all(ticket_wins, select(inner.id).where(*during)))


def feed_page(session: Session, team_id: int, f: FeedFilter) -> tuple[list[Win], str | None]:
    """Newest first, a page at a time, keyset-paged on (occurred_at, id) with the API's cursor."""
    query = _filtered(session, team_id, f)
    if f.cursor:
        stamp, win_id = queries.decode_cursor(f.cursor)
        query = query.where(or_(Win.occurred_at < stamp, and_(Win.occurred_at == stamp, Win.id < win_id)))
    rows = list(session.scalars(query.order_by(Win.occurred_at.desc(), Win.id.desc()).limit(f.limit + 1)))
    next_cursor = queries.encode_cursor(rows[f.limit - 1]) if len(rows) > f.limit else None
    return rows[: f.limit], next_cursor


def wins_after(session: Session, team_id: int, f: FeedFilter, after_id: int) -> list[Win]:
    """Wins recorded since the feed was drawn (row ids only grow), newest first: the live update."""
    query = _filtered(session, team_id, f).where(Win.id > after_id)
    return list(session.scalars(query.order_by(Win.occurred_at.desc(), Win.id.desc()).limit(f.limit)))


def newest_id(session: Session, team_id: int) -> int:
    return int(session.scalar(select(func.max(Win.id)).where(Win.team_id == team_id)) or 0)


def all_wins(session: Session, team_id: int, f: FeedFilter) -> Iterator[Win]:
    """Every win the filter matches, newest first, read a page at a time (the export)."""
    cursor: str | None = None
    while True:
        page, cursor = feed_page(
            session, team_id, FeedFilter(f.member_id, f.kind, f.sprint, cursor, EXPORT_PAGE)
        )
        yield from page
        if cursor is None:
            return


def earned_wins(session: Session, team_id: int, limit: int = 60) -> list[Win]:
    """The badges wall: streaks, badges and milestones the engine awarded, newest first."""
    query = (
        select(Win)
        .where(*shown_to_team(team_id), Win.status == WinStatus.ACTIVE.value, Win.kind.in_(EARNED_KINDS))
        .order_by(Win.occurred_at.desc(), Win.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def sprint_milestones(session: Session, team_id: int, sprint_ref: str) -> list[Win]:
    """The engine's milestones of one sprint (their key is ``milestone:<sprint ref>:<name>``)."""
    query = (
        select(Win)
        .where(
            *shown_to_team(team_id),
            Win.kind == WinKind.MILESTONE.value,
            Win.status == WinStatus.ACTIVE.value,
            Win.source_key.startswith(f"milestone:{sprint_ref}:", autoescape=True),
        )
        .order_by(Win.occurred_at)
    )
    return list(session.scalars(query))


def named_members(session: Session, team_id: int) -> list[Member]:
    """People with a win in the team who agreed to be named: the feed's person filter."""
    query = (
        select(Member)
        .where(
            Member.sharing_opt_out.is_(False),
            of_teams_workspace(team_id),
            Member.id.in_(select(Win.member_id).where(*shown_to_team(team_id))),
        )
        .order_by(Member.display_name, Member.id)
    )
    return list(session.scalars(query))
