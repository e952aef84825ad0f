"""Channels linked to teams: connecting one, its digest schedule and time zone, pausing a workspace.

A channel celebrates one team; the link is keyed by (Slack workspace, channel), so a retried job finds
the row it made. A channel is linked only to a team of the workspace the Slack request acts in, and
a link is read back only inside that workspace. The person who connects a channel lends it their
time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from service.domain.replies import CHANNEL_NOT_LINKED
from service.domain.schedule import format_schedule, parse_schedule
from service.models import DEFAULT_WORKSPACE_ID, Team, utcnow
from service.models.slack import DEFAULT_SCHEDULE, ChannelLink
from service.models.upsert import insert_ignoring_conflicts
from service.slack.workspaces import link_in_team_workspace
from service.teams.members import LinkError
from service.teams.registry import find_team

_CHANNEL_LINKS = cast(Table, ChannelLink.__table__)  # typed as any FromClause; the insert needs a Table


class ChannelNotLinked(LinkError):
    def __init__(self) -> None:
        super().__init__(CHANNEL_NOT_LINKED)


def channel_link(session: Session, slack_team_id: str, channel_id: str) -> ChannelLink | None:
    return session.scalars(
        select(ChannelLink).where(
            ChannelLink.slack_team_id == slack_team_id, ChannelLink.channel_id == channel_id
        )
    ).first()


def own_link(session: Session, slack_team_id: str, channel_id: str, *, workspace_id: int) -> ChannelLink:
    """The channel's link, if it links a team of the workspace; ChannelNotLinked otherwise.

    A link to a team of another workspace (left from before workspaces) counts as no link: a request
    acting in one workspace never reads or writes another's team.
    """
    link = channel_link(session, slack_team_id, channel_id)
    team_workspace = (
        session.scalar(select(Team.workspace_id).where(Team.id == link.team_id)) if link else None
    )
    if link is None or team_workspace != workspace_id:
        raise ChannelNotLinked()
    return link


def linked_team(session: Session, slack_team_id: str, channel_id: str, *, workspace_id: int) -> Team:
    """The team this channel celebrates; ChannelNotLinked when there is none in the workspace.

    A link to a team of another workspace (left from before workspaces) counts as no link: a request
    acting in one workspace never reads or writes another's team.
    """
    link = channel_link(session, slack_team_id, channel_id)
    if link is None:
        raise ChannelNotLinked()
    team = session.get(Team, link.team_id)
    if team is None or team.workspace_id != workspace_id:
        raise ChannelNotLinked()
    return team


def workspaces_of_team(session: Session, team_id: int) -> list[tuple[str, str | None]]:
    """(Slack team, enterprise) of every Slack workspace with a channel linked to the team, in the
    team's own workspace."""
    rows = session.execute(
        select(ChannelLink.slack_team_id, ChannelLink.slack_enterprise_id)
        .where(ChannelLink.team_id == team_id, link_in_team_workspace())
        .distinct()
    )
    return [(slack_team_id, enterprise_id) for slack_team_id, enterprise_id in rows]


@dataclass(frozen=True, slots=True)
class Connected:
    link: ChannelLink
    team: Team
    previous_team: str | None  # the team's name this channel was linked to before, if another


def connect_channel(
    session: Session,
    *,
    slack_team_id: str,
    enterprise_id: str | None,
    channel_id: str,
    team_name: str,
    linked_by_user_id: str,
    linker_tz: str | None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> Connected:
    """Link (or re-link) the channel to a team of ``workspace_id`` (the workspace the Slack request acts
    in); the linker's time zone becomes the channel's default."""
    team = find_team(session, team_name, workspace_id=workspace_id)
    tz = linker_tz or "UTC"
    insert_ignoring_conflicts(
        session,
        _CHANNEL_LINKS,
        [
            {
                "team_id": team.id,
                "slack_team_id": slack_team_id,
                "slack_enterprise_id": enterprise_id,
                "channel_id": channel_id,
                "linked_by_user_id": linked_by_user_id,
                "schedule": DEFAULT_SCHEDULE,
                "timezone": tz,
                "paused": False,
                "created_at": utcnow(),
            }
        ],
        ["slack_team_id", "channel_id"],
    )
    link = channel_link(session, slack_team_id, channel_id)
    assert link is not None
    previous: str | None = None
    if link.team_id != team.id:
        old = session.get(Team, link.team_id)
        previous = old.name if old else None
        if old is not None and old.slack_channel == channel_id:
            old.slack_channel = None
        link.team_id = team.id
        link.linked_by_user_id = linked_by_user_id
        link.timezone = tz
    link.slack_enterprise_id = enterprise_id
    team.slack_team_id = slack_team_id
    team.slack_channel = channel_id
    if team.timezone == "UTC" and tz != "UTC":
        # The team had only the default; the person linking it knows better.
        team.timezone = tz
    session.flush()
    return Connected(link, team, previous)


def set_schedule(
    session: Session, slack_team_id: str, channel_id: str, schedule_text: str, *, workspace_id: int
) -> ChannelLink:
    """Store a schedule (canonical ``format_schedule`` text); a person setting one also resumes digests."""
    link = own_link(session, slack_team_id, channel_id, workspace_id=workspace_id)
    link.schedule = format_schedule(parse_schedule(schedule_text))
    link.paused = False
    link.last_error = None
    session.flush()
    return link


def set_channel_timezone(
    session: Session, slack_team_id: str, channel_id: str, tz_name: str, *, workspace_id: int
) -> ChannelLink:
    link = own_link(session, slack_team_id, channel_id, workspace_id=workspace_id)
    link.timezone = tz_name
    team = session.get(Team, link.team_id)
    if team is not None:
        team.timezone = tz_name
    session.flush()
    return link


def pause_workspace(session: Session, slack_team_id: str, reason: str) -> int:
    """Stop digests for every channel of a workspace (the app was uninstalled); returns how many."""
    result = session.execute(
        update(ChannelLink)
        .where(ChannelLink.slack_team_id == slack_team_id)
        .values(paused=True, last_error=reason[:2000])
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
