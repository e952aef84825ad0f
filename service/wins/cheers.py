"""Cheers: people's reactions on our posts, counted per win (the morale signal) and per digest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from service.models import utcnow
from service.models.digests import DigestKind, StoredDigest
from service.models.slack import CelebratedWin, Cheer, DigestCheer, SlackPost
from service.models.upsert import insert_ignoring_conflicts

# An IN list of a whole busy period, chunked, stays well under the databases' parameter limits.
_COUNT_CHUNK = 5000
_CHEERS = cast(Table, Cheer.__table__)  # typed as any FromClause; the insert needs a Table
_DIGEST_CHEERS = cast(Table, DigestCheer.__table__)


@dataclass(frozen=True, slots=True)
class CheeredPost:
    """What a reaction on one of our posts cheered: its wins and, on a digest, the digest itself."""

    win_ids: tuple[int, ...]
    digest_id: int | None = None


def record_cheer(
    session: Session, slack_team_id: str, channel_id: str, ts: str, user_id: str, reaction: str, added: bool
) -> CheeredPost | None:
    """Add or remove a cheer on each win behind one of our posts; None if the post is not ours.

    A live celebration cheers the wins it shows; a digest cheers itself and the wins it lists; a
    sprint-end celebration cheers the sprint's win. Keyed by (win, person, reaction), so a person's
    same reaction on two posts of one win is one cheer, and a redelivered event changes nothing.
    """
    post = session.execute(
        select(SlackPost.win_id, SlackPost.digest_id).where(
            SlackPost.slack_team_id == slack_team_id, SlackPost.channel_id == channel_id, SlackPost.ts == ts
        )
    ).first()
    if post is None:
        return None
    win_ids = set(celebrated_win_ids(session, post.digest_id)) if post.digest_id is not None else set()
    if post.win_id is not None:
        win_ids.add(post.win_id)
    cheered_digest = (
        post.digest_id if post.digest_id is not None and _is_digest(session, post.digest_id) else None
    )
    reaction = reaction[:100]
    ordered = tuple(sorted(win_ids))
    if added:
        now = utcnow()
        rows = [
            {
                "win_id": win_id,
                "slack_team_id": slack_team_id,
                "user_id": user_id,
                "reaction": reaction,
                "created_at": now,
            }
            for win_id in ordered
        ]
        if rows:
            insert_ignoring_conflicts(session, _CHEERS, rows, ["win_id", "user_id", "reaction"])
        if cheered_digest is not None:
            insert_ignoring_conflicts(
                session,
                _DIGEST_CHEERS,
                [
                    {
                        "digest_id": cheered_digest,
                        "slack_team_id": slack_team_id,
                        "user_id": user_id,
                        "reaction": reaction,
                        "created_at": now,
                    }
                ],
                ["digest_id", "user_id", "reaction"],
            )
    else:
        if ordered:
            session.execute(
                delete(Cheer).where(
                    Cheer.win_id.in_(ordered), Cheer.user_id == user_id, Cheer.reaction == reaction
                )
            )
        if cheered_digest is not None:
            session.execute(
                delete(DigestCheer).where(
                    DigestCheer.digest_id == cheered_digest,
                    DigestCheer.user_id == user_id,
                    DigestCheer.reaction == reaction,
                )
            )
    return CheeredPost(ordered, cheered_digest)


def celebrated_win_ids(session: Session, digest_id: int) -> list[int]:
    """The wins a stored post shows (``celebrated_wins``)."""
    return list(
        session.scalars(
            select(CelebratedWin.win_id)
            .where(CelebratedWin.digest_id == digest_id)
            .order_by(CelebratedWin.win_id)
        )
    )


def _is_digest(session: Session, digest_id: int) -> bool:
    """A digest proper: live and sprint-end celebrations cheer their wins only."""
    return session.scalar(select(StoredDigest.kind).where(StoredDigest.id == digest_id)) == DigestKind.DIGEST


def digest_cheer_counts(session: Session, digest_ids: Sequence[int]) -> dict[int, int]:
    """How many cheers each digest itself has."""
    counts: dict[int, int] = {}
    for start in range(0, len(digest_ids), _COUNT_CHUNK):
        chunk = list(digest_ids[start : start + _COUNT_CHUNK])
        rows = session.execute(
            select(DigestCheer.digest_id, func.count())
            .where(DigestCheer.digest_id.in_(chunk))
            .group_by(DigestCheer.digest_id)
        )
        counts.update({digest_id: count for digest_id, count in rows})
    return counts


def cheer_counts(session: Session, win_ids: Sequence[int]) -> dict[int, int]:
    """How many cheers each win has (the digests' morale signal)."""
    counts: dict[int, int] = {}
    for start in range(0, len(win_ids), _COUNT_CHUNK):
        chunk = list(win_ids[start : start + _COUNT_CHUNK])
        rows = session.execute(
            select(Cheer.win_id, func.count()).where(Cheer.win_id.in_(chunk)).group_by(Cheer.win_id)
        )
        counts.update({win_id: count for win_id, count in rows})
    return counts
