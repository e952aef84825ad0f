"""Read models shared by the JSON API, the dashboard, the CLI and the digests."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from service.domain.json_depth import nests_deeper_than
from service.domain.sprint_scope import ScopeSummary
from service.domain.wins import WinKind, WinStatus, WinVisibility
from service.models import Member, Sprint, Team, Ticket, Win, sprint_tickets
from service.progress import scope_sums, sprint_scope

MAX_LIMIT = 500
# Our row ids (members, wins) are 32-bit integer columns: a larger number names no row, and binding
# it would overflow the column's type on Postgres.
MAX_INT32 = 2**31 - 1


class QueryError(ValueError):
    """A bad filter; the message names the parameter."""


@dataclass(frozen=True)
class WinFilter:
    since: datetime | None = None
    until: datetime | None = None
    kind: str | None = None
    member: str | None = None
    status: str | None = None
    limit: int = 50
    cursor: str | None = None

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in {k.value for k in WinKind}:
            raise QueryError(f"kind must be one of {', '.join(k.value for k in WinKind)}")
        if self.status is not None and self.status not in {s.value for s in WinStatus}:
            raise QueryError(f"status must be one of {', '.join(s.value for s in WinStatus)}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
        for name, moment in (("since", self.since), ("until", self.until)):
            if moment is not None:
                _comparable(name, moment)
        if self.cursor is not None:
            decode_cursor(self.cursor)  # refused here, before any query is built


def _comparable(name: str, moment: datetime) -> None:
    # The column holds UTC: a naive moment is ambiguous, and one past year 9999 in UTC cannot be bound.
    if moment.utcoffset() is None:
        raise QueryError(f"{name} must carry a time zone")
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise QueryError(f"{name} is out of range once converted to UTC") from None


def encode_cursor(win: Win) -> str:
    raw = json.dumps([win.occurred_at.isoformat(), win.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (occurred_at, id) a cursor from ``encode_cursor`` holds; ``QueryError`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if nests_deeper_than(raw, 1):  # ours is one flat list
            raise ValueError(cursor)
        stamp, win_id = json.loads(raw)
        if not isinstance(stamp, str) or type(win_id) is not int or not 0 < win_id <= MAX_INT32:
            raise ValueError(cursor)
        moment = datetime.fromisoformat(stamp)
        if moment.tzinfo is None:  # ours always carry their zone; a naive one is ambiguous
            raise ValueError(cursor)
        return moment.astimezone(UTC), win_id
    except (ValueError, TypeError, OverflowError, binascii.Error):
        raise QueryError("cursor is not one this API returned") from None


def shared_with_team() -> ColumnElement[bool]:
    """Wins the team may see: every reader of a team's wins adds it. "Only me" wins are their owner's
    alone (docs/privacy.md): never listed, counted by name or exported for the team."""
    return Win.visibility != WinVisibility.PRIVATE.value


def team_wins(session: Session, team_id: int, f: WinFilter) -> tuple[list[Win], str | None]:
    """Newest first, keyset-paginated on (occurred_at, id) so pages never skip or repeat."""
    query = select(Win).where(Win.team_id == team_id, shared_with_team())
    if f.since:
        query = query.where(Win.occurred_at >= f.since)
    if f.until:
        query = query.where(Win.occurred_at < f.until)
    if f.kind:
        query = query.where(Win.kind == f.kind)
    if f.status:
        query = query.where(Win.status == f.status)
    if f.member:
        query = query.where(Win.member_id.in_(_member_ids(f.member, team_id)))
    if f.cursor:
        stamp, win_id = decode_cursor(f.cursor)
        query = query.where(or_(Win.occurred_at < stamp, and_(Win.occurred_at == stamp, Win.id < win_id)))
    rows = list(session.scalars(query.order_by(Win.occurred_at.desc(), Win.id.desc()).limit(f.limit + 1)))
    next_cursor = encode_cursor(rows[f.limit - 1]) if len(rows) > f.limit else None
    return rows[: f.limit], next_cursor


def _member_ids(ref: str, team_id: int | None = None):  # type: ignore[no-untyped-def]
    """A member named by our id, their Jira account id, or their Slack user id; with ``team_id``, one
    of the team's workspace (a Jira account id names a person only within a workspace).

    Only people who agreed to be named can be picked out: an opted-out person's wins stay in the
    team's list, anonymous, and no filter tells which ones are theirs.
    """
    conditions = [Member.jira_account_id == ref, Member.slack_user_id == ref]
    # ASCII digits only: "²" and "٣" are digits to str.isdigit() but not numbers to int().
    if ref.isascii() and ref.isdigit() and int(ref) <= MAX_INT32:
        conditions.append(Member.id == int(ref))
    query = select(Member.id).where(or_(*conditions), Member.sharing_opt_out.is_(False))
    if team_id is None:
        return query
    return query.where(
        Member.workspace_id == select(Team.workspace_id).where(Team.id == team_id).scalar_subquery()
    )


@dataclass(frozen=True)
class SprintSummary:
    sprint: Sprint
    issues_total: int
    issues_done: int
    points_total: float
    points_done: float


def team_sprints(session: Session, team_id: int) -> list[SprintSummary]:
    totals = (
        select(
            sprint_tickets.c.sprint_id,
            func.count().label("issues_total"),
            func.count().filter(Ticket.done.is_(True)).label("issues_done"),
            func.coalesce(func.sum(Ticket.points), 0.0).label("points_total"),
            func.coalesce(func.sum(Ticket.points).filter(Ticket.done.is_(True)), 0.0).label("points_done"),
        )
        .join(Ticket, Ticket.id == sprint_tickets.c.ticket_id)
        # The team's sprints only: Postgres cannot push the outer join's team condition into the
        # grouped subquery, and would total every sprint of every team (seconds over a million tickets).
        .where(sprint_tickets.c.sprint_id.in_(select(Sprint.id).where(Sprint.team_id == team_id)))
        .group_by(sprint_tickets.c.sprint_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Sprint, totals.c.issues_total, totals.c.issues_done, totals.c.points_total, totals.c.points_done
        )
        .outerjoin(totals, totals.c.sprint_id == Sprint.id)
        .where(Sprint.team_id == team_id, Sprint.state != "deleted")
        .order_by(Sprint.start_at.desc().nulls_last(), Sprint.id.desc())
    )
    return [
        SprintSummary(
            sprint, issues_total or 0, issues_done or 0, float(points_total or 0), float(points_done or 0)
        )
        for sprint, issues_total, issues_done, points_total, points_done in rows
    ]


def team_sprints_with_scope(session: Session, team_id: int) -> list[tuple[SprintSummary, ScopeSummary]]:
    """``team_sprints`` with each sprint's ``sprint_scope.scope_for_sprints``, the totals and the scope
    summed from one read of the sprints' tickets (thousands for two years of sprints) instead of two."""
    sprints = list(
        session.scalars(
            select(Sprint)
            .where(Sprint.team_id == team_id, Sprint.state != "deleted")
            .order_by(Sprint.start_at.desc().nulls_last(), Sprint.id.desc())
        )
    )
    scopes, totals = sprint_scope.scope_and_totals(session, [s.id for s in sprints])
    found = []
    for sprint in sprints:
        t = totals.get(sprint.id, scope_sums.TicketTotals())
        summary = SprintSummary(sprint, t.issues_total, t.issues_done, t.points_total, t.points_done)
        found.append((summary, scopes[sprint.id]))
    return found
