"""Which workspace a Slack team acts in, and which channel links stay inside their team's workspace.

With one bot token (single-workspace mode) every Slack request acts in the implicit workspace. With
OAuth installs each Slack team (each workspace of an Enterprise Grid org) is a workspace of its own,
found or made on first sight. Channel links are keyed by the Slack team; the rule below is what keeps
a team's posts in the Slack workspace its own workspace stands for.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from service.models import DEFAULT_WORKSPACE_ID, Team, Workspace
from service.models.slack import ChannelLink
from service.workspaces.registry import workspace_for_slack


def workspace_id_for_slack(
    session: Session, slack_team_id: str, enterprise_id: str | None, *, multi_workspace: bool
) -> int:
    """The workspace a request from this Slack team acts in (made on its first request, with OAuth)."""
    if not multi_workspace:
        return DEFAULT_WORKSPACE_ID
    return workspace_for_slack(session, slack_team_id, enterprise_id).id


def link_in_team_workspace() -> ColumnElement[bool]:
    """A channel link whose Slack team is the one its team's workspace stands for.

    A workspace without a Slack team (the implicit one, or one made without Slack) accepts its
    links as they are: single-workspace mode links every channel of the one bot's Slack team there.
    """
    return (
        select(Team.id)
        .join(Workspace, Workspace.id == Team.workspace_id)
        .where(
            Team.id == ChannelLink.team_id,
            or_(Workspace.slack_team_id.is_(None), Workspace.slack_team_id == ChannelLink.slack_team_id),
        )
        .exists()
    )


def link_row_in_team_workspace(session: Session, link: ChannelLink) -> bool:
    """The same rule for one loaded link (a job about to post to it)."""
    found = session.scalar(select(ChannelLink.id).where(ChannelLink.id == link.id, link_in_team_workspace()))
    return found is not None
