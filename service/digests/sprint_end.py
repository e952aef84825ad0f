"""Sprint-end celebrations: the closed sprint and its win, and the sprints still to celebrate."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, cast, literal, select
from sqlalchemy.orm import Session

from service.domain.digest_periods import SPRINT_END_KEY_PREFIX
from service.domain.sprints import SprintState, sprint_win_key
from service.domain.wins import WinKind
from service.models.digests import DigestKind, StoredDigest
from service.models.slack import ChannelLink
from service.models.wins import Win
from service.models.work import Sprint


def closed_sprint(session: Session, sprint_id: int) -> Sprint | None:
    """The sprint, if it exists and is closed: only a closed sprint is celebrated."""
    sprint = session.get(Sprint, sprint_id)
    return sprint if sprint is not None and sprint.state == SprintState.CLOSED else None


def sprint_closed_win_id(session: Session, sprint: Sprint) -> int | None:
    """The sprint's ``sprint_closed`` win, which reactions on the celebration cheer.

    Sprint wins are keyed by Jira's sprint id, so a sprint without one has none.
    """
    if sprint.jira_id is None:
        return None
    return session.scalar(
        select(Win.id).where(
            Win.workspace_id == sprint.workspace_id,
            Win.source_key == sprint_win_key(sprint.jira_id),
            Win.kind == WinKind.SPRINT_CLOSED.value,
        )
    )


def uncelebrated_sprints(session: Session, *, now: datetime, horizon: timedelta) -> list[int]:
    """Sprints closed within ``horizon``, in teams with a linked channel, not yet celebrated."""
    celebrated = select(StoredDigest.id).where(
        StoredDigest.kind == DigestKind.SPRINT_END.value,
        StoredDigest.period_key == literal(SPRINT_END_KEY_PREFIX) + cast(Sprint.id, String),
    )
    linked = select(ChannelLink.id).where(
        ChannelLink.team_id == Sprint.team_id, ChannelLink.paused.is_(False), ChannelLink.schedule != "off"
    )
    return list(
        session.scalars(
            select(Sprint.id).where(
                Sprint.state == SprintState.CLOSED,
                Sprint.completed_at >= now - horizon,
                linked.exists(),
                ~celebrated.exists(),
            )
        )
    )
