"""Which channels get a team's digest, and which linked channels have a scheduled period due now."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.digests.stored import Target
from service.domain.schedule import Period, ScheduleError, ScheduleKind, due_period, parse_schedule
from service.models.digests import CONSOLE_CHANNEL, DigestState
from service.models.slack import ChannelLink
from service.models.teams import Team
from service.slack.workspaces import link_in_team_workspace

log = logging.getLogger(__name__)

_CONSOLE = Target(None, CONSOLE_CHANNEL, DigestState.RENDERED)


@dataclass(frozen=True, slots=True)
class DuePeriod:
    """A linked channel whose schedule has a period to post now."""

    link_id: int
    team_id: int
    channel_id: str
    period: Period
    post_when_empty: bool


def targets(session: Session, team_id: int, *, slack_enabled: bool, for_sprint_end: bool) -> list[Target]:
    """Where a team's digests go: its linked channels (Slack), else its channel, else the console."""
    if not slack_enabled:
        return [_CONSOLE]
    # Only channels of the Slack workspace the team's own workspace stands for: a team is never
    # posted to another workspace's channel, whatever link a stale row holds.
    links = session.scalars(
        select(ChannelLink).where(ChannelLink.team_id == team_id, link_in_team_workspace())
    ).all()
    if links:
        # Paused links get nothing; "off" stops the sprint-end celebration too, but not an explicit run.
        return [
            Target(link.slack_team_id, link.channel_id, DigestState.PENDING)
            for link in links
            if not link.paused and not (for_sprint_end and _schedule_kind(link.schedule) is ScheduleKind.OFF)
        ]
    team = session.get(Team, team_id)
    if team is not None and team.slack_channel:
        # A single-workspace setup may name the channel with `sprintwins team channel`.
        return [Target(team.slack_team_id, team.slack_channel, DigestState.PENDING)]
    return [_CONSOLE]


def due_periods(session: Session, now: datetime) -> list[DuePeriod]:
    """Every non-paused link whose schedule has a period due at ``now`` and not yet run."""
    due: list[DuePeriod] = []
    query = select(ChannelLink).where(ChannelLink.paused.is_(False), link_in_team_workspace())
    for link in session.scalars(query):
        try:
            schedule = parse_schedule(link.schedule)
            period = due_period(schedule, link.timezone, now, link.last_run_at)
        except (ScheduleError, ValueError) as error:
            log.warning("channel link %s has an unusable schedule or time zone: %s", link.id, error)
            continue
        if period is not None:
            due.append(DuePeriod(link.id, link.team_id, link.channel_id, period, schedule.post_when_empty))
    return due


def mark_runs(session: Session, run_at_by_link: Mapping[int, datetime]) -> None:
    """Move each link's ``last_run_at`` to the end of the period just enqueued for it."""
    for link_id, run_at in run_at_by_link.items():
        session.execute(update(ChannelLink).where(ChannelLink.id == link_id).values(last_run_at=run_at))


def _schedule_kind(text: str) -> ScheduleKind | None:
    try:
        return parse_schedule(text).kind
    except ScheduleError:
        return None
