"""A digest row's way to Slack: claimed by one sender, then posted, failed, or released for a retry.

``claim_for_posting`` hands a row to one sender at a time (a conditional UPDATE on the attempt
counter, which works the same on PostgreSQL and SQLite); ``link_wins`` records the wins a row shows
(``celebrated_wins``); ``record_posted`` stores the ts and the ``slack_posts`` entry through which a
reaction on the post becomes a cheer on the row and its wins; ``release`` gives the row back after an
attempt whose outcome is unknown or worth retrying; ``stranded`` finds rows whose sender died.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, select, update
from sqlalchemy.orm import Session

from service.db import Database
from service.models.digests import DigestState, StoredDigest
from service.models.slack import CelebratedWin, ChannelLink, SlackPost
from service.models.teams import Team
from service.models.upsert import insert_ignoring_conflicts

SETTLED_STATES = frozenset(
    {DigestState.POSTED, DigestState.FAILED, DigestState.RENDERED, DigestState.SKIPPED}
)
# The mapped class's table, typed as the Table it is.
_SLACK_POSTS = cast(Table, SlackPost.__table__)
_CELEBRATED_WINS = cast(Table, CelebratedWin.__table__)
_ERROR_CHARS = 2000


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


@dataclass(frozen=True, slots=True)
class ChannelProblem:
    """Who to tell about a channel the digest could not reach, and the team's name for the message."""

    notify_user_id: str | None
    team_name: str


def claim_for_posting(
    database: Database, digest_id: int, *, now: datetime, lease: timedelta, max_attempts: int
) -> Claimed | NotClaimed:
    """Take the row for sending, unless it is settled or another sender's lease is still running.

    The returned row is detached: the sender reads it while it talks to Slack, with no session open.
    """
    with database.transaction() as session:
        row = session.get(StoredDigest, digest_id)
        if row is None:
            return NotClaimed("missing")
        if row.state in SETTLED_STATES:
            return NotClaimed(row.state, row.ts)
        if row.state == DigestState.POSTING and row.claimed_at is not None and now - row.claimed_at < lease:
            return NotClaimed(row.state)
        if row.attempts >= max_attempts:
            row.state = DigestState.FAILED.value
            row.error = f"gave up after {row.attempts} attempts: {row.error or 'no answer from Slack'}"
            return NotClaimed(row.state)
        previous_state, attempts = row.state, row.attempts
        # Conditional on what we read: of two senders racing here, exactly one updates the row.
        taken = cast(
            CursorResult[Any],
            session.execute(
                update(StoredDigest)
                .where(
                    StoredDigest.id == digest_id,
                    StoredDigest.state == previous_state,
                    StoredDigest.attempts == attempts,
                )
                .values(state=DigestState.POSTING.value, attempts=attempts + 1, claimed_at=now)
                .execution_options(synchronize_session=False)
            ),
        )
        if taken.rowcount != 1:
            return NotClaimed(DigestState.POSTING.value)
        session.expire(row)
        session.refresh(row)
        session.expunge(row)
        return Claimed(row, maybe_sent=previous_state == DigestState.POSTING)


def link_wins(session: Session, digest_id: int, win_ids: Iterable[int]) -> None:
    """Record the wins a stored row lists, so that a reaction on its post cheers each of them.

    Call it when the row is stored (a live celebration does, in the same transaction); safe to repeat.
    """
    rows = [{"digest_id": digest_id, "win_id": win_id} for win_id in sorted(set(win_ids))]
    if rows:
        insert_ignoring_conflicts(session, _CELEBRATED_WINS, rows, ["digest_id", "win_id"])


def record_posted(session: Session, digest: StoredDigest, channel_id: str, ts: str, *, now: datetime) -> None:
    """Record where the message went, register the post so reactions on it become cheers (on the row
    and on the wins linked to it, see ``link_wins``), and clear the channel's last error (it works
    again)."""
    session.execute(
        update(StoredDigest)
        .where(StoredDigest.id == digest.id)
        .values(state=DigestState.POSTED.value, ts=ts, posted_at=now, error=None, claimed_at=None)
    )
    if digest.slack_team_id:
        insert_ignoring_conflicts(
            session,
            _SLACK_POSTS,
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
        if digest.win_id is not None:  # a sprint-end celebration's win is one of the wins it shows
            link_wins(session, digest.id, [digest.win_id])
        session.execute(
            update(ChannelLink)
            .where(ChannelLink.slack_team_id == digest.slack_team_id, ChannelLink.channel_id == channel_id)
            .values(last_error=None)
        )


def mark_failed(session: Session, digest_id: int, error: str) -> None:
    session.execute(
        update(StoredDigest)
        .where(StoredDigest.id == digest_id)
        .values(state=DigestState.FAILED.value, error=error[:_ERROR_CHARS], claimed_at=None)
    )


def mark_channel_unavailable(session: Session, digest: StoredDigest, error: str) -> ChannelProblem:
    """Fail the row and note the error on the channel's link.

    Whoever linked the channel is to be told once per new problem, not once per period while it lasts.
    """
    mark_failed(session, digest.id, error)
    link = session.scalars(
        select(ChannelLink).where(
            ChannelLink.slack_team_id == digest.slack_team_id, ChannelLink.channel_id == digest.channel_id
        )
    ).first()
    team = session.get(Team, digest.team_id)
    notify: str | None = None
    if link is not None and link.last_error != error:
        link.last_error = error
        notify = link.linked_by_user_id or None
    return ChannelProblem(notify, team.name if team is not None else "your team")


def release(session: Session, digest_id: int, *, maybe_sent: bool, error: str) -> None:
    """Give the row back after a failed attempt, for the next one.

    ``maybe_sent`` keeps it ``posting`` (with no live claim), so the next sender looks in the
    channel before posting; otherwise it goes back to ``pending`` and is simply posted.
    """
    state = DigestState.POSTING if maybe_sent else DigestState.PENDING
    session.execute(
        update(StoredDigest)
        .where(StoredDigest.id == digest_id)
        .values(state=state.value, error=error[:_ERROR_CHARS], claimed_at=None)
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


def enterprise_of(session: Session, digest: StoredDigest) -> str | None:
    """The Enterprise Grid org of the digest's channel, whose token posts there; None outside a grid."""
    if not digest.slack_team_id:
        return None
    return session.scalar(
        select(ChannelLink.slack_enterprise_id).where(
            ChannelLink.slack_team_id == digest.slack_team_id, ChannelLink.channel_id == digest.channel_id
        )
    )
