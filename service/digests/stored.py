"""Digest rows: a composed message stored once per (team, channel, period), before anything is sent.

A duplicated or retried job finds the row and sends what it holds; it never composes a second
message. The posting lifecycle of a row (claim, posted, failed, released) is ``posting``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from service.digests.posting import link_wins
from service.domain.digest_blocks import Digest
from service.models import utcnow
from service.models.digests import DigestKind, DigestState, StoredDigest
from service.models.upsert import insert_ignoring_conflicts

# The mapped class's table, typed as the Table it is.
_DIGESTS = cast(Table, StoredDigest.__table__)


@dataclass(frozen=True, slots=True)
class Target:
    """One place a team's digest goes: a Slack channel, or the console (rendered, not posted)."""

    slack_team_id: str | None
    channel_id: str
    initial_state: DigestState


class ComposeOnce:
    """A digest composed at most once however many channels it goes to, remembered for the console."""

    def __init__(self, compose: Callable[[], Digest | None]) -> None:
        self._compose = compose
        self._done = False
        self._digest: Digest | None = None

    def __call__(self) -> Digest | None:
        if not self._done:
            self._digest = self._compose()
            self._done = True
        return self._digest

    @property
    def composed(self) -> Digest | None:
        """What was composed in this process; None if no row needed it (or the period was empty)."""
        return self._digest


def ensure_digest(
    session: Session,
    *,
    team_id: int,
    slack_team_id: str | None,
    channel_id: str,
    period_key: str,
    compose: Callable[[], Digest | None],
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
    digest = compose()
    now = utcnow()
    insert_ignoring_conflicts(
        session,
        _DIGESTS,
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
    if digest is not None:
        # A reaction on the posted message then cheers each win it lists (posting.link_wins).
        link_wins(session, row.id, [i for i in digest.win_ids if isinstance(i, int)])
    return row


def ensure_for_targets(
    session: Session,
    targets: Iterable[Target],
    *,
    team_id: int,
    period_key: str,
    compose: ComposeOnce,
    kind: DigestKind = DigestKind.DIGEST,
    win_id: int | None = None,
) -> list[int]:
    """The ids of the period's rows, one per target, composing once for all of them."""
    return [
        ensure_digest(
            session,
            team_id=team_id,
            slack_team_id=target.slack_team_id,
            channel_id=target.channel_id,
            period_key=period_key,
            compose=compose,
            kind=kind,
            win_id=win_id,
            state_when_composed=target.initial_state,
        ).id
        for target in targets
    ]


def find_digest(session: Session, team_id: int, channel_id: str, period_key: str) -> StoredDigest | None:
    return session.scalars(
        select(StoredDigest).where(
            StoredDigest.team_id == team_id,
            StoredDigest.channel_id == channel_id,
            StoredDigest.period_key == period_key,
        )
    ).first()


def stored_digest(session: Session, digest_id: int) -> StoredDigest:
    """A row known to exist (its id came from ``ensure_digest`` or a claim)."""
    row = session.get(StoredDigest, digest_id)
    assert row is not None
    return row
