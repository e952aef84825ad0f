"""The "Sprint goal met" button on the sprint-end celebration: record who confirmed it, answer them.

Safe to run twice: the first confirmation stands.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from integrations.slack import poster
from integrations.slack.profiles import SlackProfile
from jobs import runtime
from jobs.slack_people import profiles_of_unknown, slack_client, workspace_of
from jobs.slack_wins import request_progress
from service.digests import sprint_goal
from service.domain import replies as texts
from service.domain.commands import button_sprint_id
from service.domain.mrkdwn import escape_mrkdwn
from service.models import Member
from service.slack import channels
from service.teams import members


def confirm_sprint_goal(
    slack_team_id: str, enterprise_id: str | None, channel_id: str, user_id: str, sprint_value: str
) -> str:
    """Record the button's confirmation for the sprint named by its value (our sprint id, as
    ``service.digests.build.compose_sprint_celebration`` posts it); answer the clicker ephemerally.

    Returns the answer (mrkdwn). Safe to run twice: the first confirmation stands.
    """
    rt = runtime.current()
    workspace_id = workspace_of(slack_team_id, enterprise_id)
    client = slack_client(slack_team_id, enterprise_id)
    profile = profiles_of_unknown(slack_team_id, enterprise_id, [user_id], client)[user_id]
    with rt.database.transaction() as session:
        reply, confirmed_team_id = _record_goal(
            session, workspace_id, slack_team_id, channel_id, profile, sprint_value
        )
    if confirmed_team_id is not None:
        request_progress(rt, confirmed_team_id)  # the engine turns the confirmation into the milestone
    poster.post_ephemeral(client, channel_id, user_id, reply)
    return reply


def _record_goal(
    session: Session,
    workspace_id: int,
    slack_team_id: str,
    channel_id: str,
    profile: SlackProfile,
    sprint_value: str,
) -> tuple[str, int | None]:
    """The answer for the clicker, and the sprint's team id when its goal is (now) confirmed."""
    sprint_id = button_sprint_id(sprint_value)
    found = sprint_goal.goal_confirmation(session, sprint_id) if sprint_id is not None else None
    if found is None:
        return texts.SPRINT_NOT_FOUND, None
    try:
        linked = channels.linked_team(session, slack_team_id, channel_id, workspace_id=workspace_id)
    except channels.ChannelNotLinked:
        linked = None
    if linked is None or linked.id != found.team_id:
        # The value arrives signed, but only the team's own channels may speak for its sprint.
        return texts.SPRINT_OF_ANOTHER_TEAM, None
    member = members.ensure_member(session, slack_team_id, profile, workspace_id=workspace_id)
    try:
        recorded = sprint_goal.confirm_sprint_goal(session, found.sprint_id, member.id, datetime.now(UTC))
    except sprint_goal.SprintNotClosed as error:
        return escape_mrkdwn(str(error)), None
    stored = sprint_goal.goal_confirmation(session, found.sprint_id)
    assert stored is not None  # this transaction just read the row
    if recorded:
        return texts.sprint_goal_confirmed(stored.sprint_name), found.team_id
    who = _confirmer(stored.confirmed_by, member.id, slack_team_id)
    return texts.sprint_goal_already_confirmed(stored.sprint_name, who), found.team_id


def _confirmer(by: Member | None, clicker_member_id: int, slack_team_id: str) -> str:
    """Who confirmed, as mrkdwn: named only if they share publicly."""
    return texts.confirmer(
        shares_publicly=by is not None and not by.sharing_opt_out,
        is_clicker=by is not None and by.id == clicker_member_id,
        same_workspace_user_id=by.slack_user_id if by and by.slack_team_id == slack_team_id else None,
        display_name=by.display_name if by else None,
    )
