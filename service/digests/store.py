"""Digests from the database: what a period held for a team, and the rows that make posting exactly once.

Building reads plain columns (no ORM objects) for the team's active, team-visible wins in the period,
through the ``(team_id, occurred_at, id)`` index, so a team with a long history costs no more than
its period; composition is the pure ``service.domain.digest``. People who opted out of sharing are
handed over without a name: they are never named, and their wins still count.

Rows: ``ensure_digest`` stores the composed message once per (team, channel, period); ``claim``
hands a row to one sender at a time (a conditional UPDATE on the attempt counter, which works the
same on PostgreSQL and SQLite); ``mark_posted`` records the ts and the ``slack_posts`` entry that
lets reactions become cheers.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.db import Database
from service.domain.digest import (
    Digest,
    DigestInput,
    DigestWin,
    SprintProgress,
    compose_digest,
    compose_sprint_end,
)
from service.domain.schedule import Period, load_timezone
from service.domain.sprints import SprintState
from service.domain.wins import WinKind, WinStatus, WinVisibility
from service.models import Member, SlackPost, Sprint, Team, Ticket, Win, sprint_tickets, utcnow
from service.models.digests import DigestKind, DigestState, StoredDigest
from service.models.upsert import insert_ignoring_conflicts
from service.slack.links import cheer_counts

SETTLED_STATES = frozenset(
    {DigestState.POSTED, DigestState.FAILED, DigestState.RENDERED, DigestState.SKIPPED}
)
_SIDE_KINDS = {WinKind.STREAK.value, WinKind.BADGE.value, WinKind.KUDOS.value}


class RunPeriod(enum.StrEnum):
    """The periods ``sprintwins digest preview|run`` can show now."""

    WEEK = "week"
    DAY = "day"
    SPRINT = "sprint"


# -- building ------------------------------------------------------------------------------------------------


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
    givers = _opted_out_members(session, [_giver_id(row.details) for row in rows if row.kind == "kudos"])
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
    end = sprint.completed_at or sprint.end_at or now
    start = sprint.start_at or end - timedelta(days=14)
    period = Period(key=f"sprint-end:{sprint.id}", start=start, end=end + timedelta(seconds=1), label="")
    highlights = build_digest_input(session, team, period, now=now).wins
    return compose_sprint_end(
        sprint_progress(session, sprint, now=now, tz_name=team.timezone),
        team_name=team.name,
        sprint_ref=str(sprint.id),
        wins=highlights,
    )


def active_sprint(session: Session, team_id: int) -> Sprint | None:
    return session.scalars(
        select(Sprint)
        .where(Sprint.team_id == team_id, Sprint.state == SprintState.ACTIVE)
        .order_by(Sprint.start_at.desc().nulls_last(), Sprint.id.desc())
        .limit(1)
    ).first()


def latest_sprint(session: Session, team_id: int) -> Sprint | None:
    """The active sprint, or else the most recently closed one."""
    return (
        active_sprint(session, team_id)
        or session.scalars(
            select(Sprint)
            .where(Sprint.team_id == team_id, Sprint.state == SprintState.CLOSED)
            .order_by(Sprint.completed_at.desc().nulls_last(), Sprint.id.desc())
            .limit(1)
        ).first()
    )


def sprint_progress(session: Session, sprint: Sprint, *, now: datetime, tz_name: str) -> SprintProgress:
    committed, done, points_total, points_done = session.execute(
        select(
            func.count(),
            func.count().filter(Ticket.done.is_(True)),
            func.coalesce(func.sum(Ticket.points), 0.0),
            func.coalesce(func.sum(Ticket.points).filter(Ticket.done.is_(True)), 0.0),
        )
        .select_from(sprint_tickets)
        .join(Ticket, Ticket.id == sprint_tickets.c.ticket_id)
        .where(sprint_tickets.c.sprint_id == sprint.id)
    ).one()
    points_total, points_done = float(points_total or 0.0), float(points_done or 0.0)
    # Points when the team estimates, issues otherwise.
    if points_total > 0:
        percent = 100.0 * points_done / points_total
    else:
        percent = 100.0 * done / committed if committed else 0.0
    days_left: int | None = None
    if sprint.state == SprintState.ACTIVE and sprint.end_at is not None:
        tz = load_timezone(tz_name)
        days_left = max(0, (sprint.end_at.astimezone(tz).date() - now.astimezone(tz).date()).days)
    return SprintProgress(
        name=sprint.name or f"Sprint {sprint.jira_id or sprint.id}",
        percent_done=percent,
        done_points=points_done,
        committed_points=points_total,
        done_issues=int(done or 0),
        committed_issues=int(committed or 0),
        days_left=days_left,
        goal=sprint.goal,
    )


def period_for_run(session: Session, team: Team, which: RunPeriod, now: datetime) -> Period:
    """The period ``digest preview|run`` means now: this week, today, or the current sprint so far."""
    tz = load_timezone(team.timezone)
    local_now = now.astimezone(tz)
    if which is RunPeriod.SPRINT:
        sprint = latest_sprint(session, team.id)
        if sprint is None:
            raise LookupError(f"team {team.slug} has no active or closed sprint yet")
        end = now if sprint.state == SprintState.ACTIVE else (sprint.completed_at or sprint.end_at or now)
        start = sprint.start_at or end - timedelta(days=14)
        return Period(key=f"sprint:{sprint.id}", start=start, end=end, label=sprint.name or "This sprint")
    if which is RunPeriod.DAY:
        midnight = datetime.combine(local_now.date(), time(0), tzinfo=tz).astimezone(UTC)
        return Period(key=f"day:{local_now.date().isoformat()}", start=midnight, end=now, label="Today")
    monday = local_now.date() - timedelta(days=local_now.weekday())
    start = datetime.combine(monday, time(0), tzinfo=tz).astimezone(UTC)
    year, week, _ = local_now.date().isocalendar()
    return Period(key=f"week:{year}-W{week:02d}", start=start, end=now, label="This week")


def _giver_id(details: Any) -> int | None:
    giver = (details or {}).get("kudos_from") if isinstance(details, dict) else None
    member_id = giver.get("member_id") if isinstance(giver, dict) else None
    return member_id if isinstance(member_id, int) else None


def _giver_name(details: Any, opted_out: set[int]) -> str | None:
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


# -- rows ----------------------------------------------------------------------------------------------------


def ensure_digest(
    session: Session,
    *,
    team_id: int,
    slack_team_id: str | None,
    channel_id: str,
    period_key: str,
    compose: Any,
    kind: DigestKind = DigestKind.DIGEST,
    win_id: int | None = None,
    state_when_composed: DigestState = DigestState.PENDING,
) -> StoredDigest:
    """The row for (team, channel, period), composing and storing the message only the first time.

    ``compose()`` returns a Digest, or None for an empty period (stored as ``skipped``). A row that
    exists already is returned as it is: a retry sends exactly what the first attempt stored.
    """
    existing = find_digest(session, team_id, channel_id, period_key)
    if existing is not None:
        return existing
    digest: Digest | None = compose()
    now = utcnow()
    insert_ignoring_conflicts(
        session,
        StoredDigest.__table__,
        [
            {
                "team_id": team_id,
                "slack_team_id": slack_team_id,
                "channel_id": channel_id,
                "period_key": period_key,
                "kind": kind.value,
                "win_id": win_id,
                "state": (state_when_composed if digest is not None else DigestState.SKIPPED).value,
                "text": digest.text if digest is not None else "",
                "blocks": digest.blocks if digest is not None else [],
                "attempts": 0,
                "created_at": now,
                "posted_at": now if state_when_composed is DigestState.RENDERED else None,
            }
        ],
        ["team_id", "channel_id", "period_key"],
    )
    row = find_digest(session, team_id, channel_id, period_key)
    assert row is not None
    return row


def find_digest(session: Session, team_id: int, channel_id: str, period_key: str) -> StoredDigest | None:
    return session.scalars(
        select(StoredDigest).where(
            StoredDigest.team_id == team_id,
            StoredDigest.channel_id == channel_id,
            StoredDigest.period_key == period_key,
        )
    ).first()


@dataclass(frozen=True, slots=True)
class Claimed:
    """This sender owns the row now. ``maybe_sent``: an earlier sender may have posted it already."""

    digest: StoredDigest
    maybe_sent: bool


@dataclass(frozen=True, slots=True)
class NotClaimed:
    """Someone else holds the row (``state == "posting"``), or it is settled (posted, failed, ...)."""

    state: str
    ts: str | None = None


def claim(
    database: Database, digest_id: int, *, now: datetime, lease: timedelta, max_attempts: int
) -> Claimed | NotClaimed:
    """Take the row for sending, unless it is settled or another sender's lease is still running."""
    with database.transaction() as session:
        row = session.get(StoredDigest, digest_id)
        if row is None:
            return NotClaimed("missing")
        if row.state in SETTLED_STATES:
            return NotClaimed(row.state, row.ts)
        held = row.state == DigestState.POSTING and row.claimed_at is not None
        if held and now - row.claimed_at < lease:  # type: ignore[operator]
            return NotClaimed(row.state)
        if row.attempts >= max_attempts:
            row.state = DigestState.FAILED.value
            row.error = f"gave up after {row.attempts} attempts: {row.error or 'no answer from Slack'}"
            return NotClaimed(row.state)
        previous_state, attempts = row.state, row.attempts
        # Conditional on what we read: of two senders racing here, exactly one updates the row.
        taken = session.execute(
            update(StoredDigest)
            .where(
                StoredDigest.id == digest_id,
                StoredDigest.state == previous_state,
                StoredDigest.attempts == attempts,
            )
            .values(state=DigestState.POSTING.value, attempts=attempts + 1, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return NotClaimed(DigestState.POSTING.value)
        session.expire(row)
        session.refresh(row)
        session.expunge(row)
        return Claimed(row, maybe_sent=previous_state == DigestState.POSTING)


def mark_posted(session: Session, digest: StoredDigest, channel_id: str, ts: str, *, now: datetime) -> None:
    """Record where the message went, and register the post so reactions on it become cheers."""
    session.execute(
        update(StoredDigest)
        .where(StoredDigest.id == digest.id)
        .values(state=DigestState.POSTED.value, ts=ts, posted_at=now, error=None, claimed_at=None)
    )
    if digest.slack_team_id:
        insert_ignoring_conflicts(
            session,
            SlackPost.__table__,
            [
                {
                    "slack_team_id": digest.slack_team_id,
                    "channel_id": channel_id,
                    "ts": ts,
                    "win_id": digest.win_id,
                    "digest_id": digest.id,
                    "created_at": now,
                }
            ],
            ["slack_team_id", "channel_id", "ts"],
        )


def mark_failed(session: Session, digest_id: int, error: str) -> None:
    session.execute(
        update(StoredDigest)
        .where(StoredDigest.id == digest_id)
        .values(state=DigestState.FAILED.value, error=error[:2000], claimed_at=None)
    )


def release(session: Session, digest_id: int, *, maybe_sent: bool, error: str) -> None:
    """Give the row back after a failed attempt, for the next one.

    ``maybe_sent`` keeps it ``posting`` (with no live claim), so the next sender looks in the
    channel before posting; otherwise it goes back to ``pending`` and is simply posted.
    """
    state = DigestState.POSTING if maybe_sent else DigestState.PENDING
    session.execute(
        update(StoredDigest)
        .where(StoredDigest.id == digest_id)
        .values(state=state.value, error=error[:2000], claimed_at=None)
    )


def stranded(session: Session, *, now: datetime, lease: timedelta, horizon: timedelta) -> list[int]:
    """Rows a sender left unfinished (crashed, or its job was lost), younger than ``horizon``."""
    rows = session.execute(
        select(StoredDigest.id, StoredDigest.state, StoredDigest.claimed_at, StoredDigest.created_at).where(
            StoredDigest.state.in_([DigestState.PENDING.value, DigestState.POSTING.value]),
            StoredDigest.created_at >= now - horizon,
        )
    )
    return [row.id for row in rows if (row.claimed_at or row.created_at) <= now - lease]
