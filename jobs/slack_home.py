"""App Home: publish a person's wins, streaks and badges, their sharing toggle and their data buttons.

A person's App Home shows only what their workspace holds: their member row is looked up, and
matched by email, inside the workspace their Slack team acts in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from integrations.slack import views
from integrations.slack.profiles import SlackProfile, fetch_profile
from jobs import runtime
from jobs.slack_people import slack_client, workspace_of
from service.domain.schedule import load_timezone
from service.slack import home
from service.teams import members


def publish_home(
    slack_team_id: str, enterprise_id: str | None, user_id: str, notice: str | None = None
) -> None:
    """Publish the person's App Home: this week's and this sprint's wins, streaks, badges, sharing;
    ``notice`` (our own mrkdwn) first, when a request of theirs just finished."""
    rt = runtime.current()
    workspace_id = workspace_of(slack_team_id, enterprise_id)
    client = slack_client(slack_team_id, enterprise_id)
    profile = fetch_profile(client, user_id)
    tz = _zone(profile.tz)
    now = datetime.now(UTC)
    local_now = now.astimezone(tz)
    week_start = (local_now - timedelta(days=local_now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    with rt.database.transaction() as session:
        member = members.member_for_slack_user(session, slack_team_id, user_id)
        if member is not None and member.workspace_id != workspace_id:
            member = None  # a row of another workspace (from before workspaces) is not shown here
        elif member is None and profile.email:
            # Someone Jira already knows by email: link them now rather than show an empty home.
            member = members.ensure_member(session, slack_team_id, profile, workspace_id=workspace_id)
        if member is None:
            data = views.HomeData(known=False, sharing=True, notice=notice)
        else:
            week = home.member_wins_since(session, member.id, week_start.astimezone(UTC))
            sprint = home.current_sprint_for_member(session, member.id)
            sprint_wins = (
                home.member_wins_since(session, member.id, sprint.start_at, team_id=sprint.team_id)
                if sprint is not None and sprint.start_at is not None
                else []
            )
            streaks, badges = home.achievements(session, member.id)
            cheers = home.cheers_on(session, [*week, *sprint_wins])
            data = views.HomeData(
                known=True,
                sharing=not member.sharing_opt_out,
                week=[views.HomeWin(w.title, w.url, w.points, cheers.get(w.id, 0)) for w in week],
                sprint_name=sprint.name if sprint else None,
                sprint=[views.HomeWin(w.title, w.url, w.points, cheers.get(w.id, 0)) for w in sprint_wins],
                streaks=streaks,
                badges=badges,
                notice=notice,
            )
    client.views_publish(user_id=user_id, view=views.home_view(data))


def set_sharing(slack_team_id: str, enterprise_id: str | None, user_id: str, share: bool) -> None:
    """The App Home toggle: opting out hides the person's name from public posts, not their wins."""
    rt = runtime.current()
    workspace_id = workspace_of(slack_team_id, enterprise_id)
    client = slack_client(slack_team_id, enterprise_id)
    with rt.database.sessions() as session:
        known = members.member_for_slack_user(session, slack_team_id, user_id)
    profile = SlackProfile(user_id, known.display_name) if known else fetch_profile(client, user_id)
    with rt.database.transaction() as session:
        members.set_sharing(session, slack_team_id, profile, share, workspace_id=workspace_id)
    publish_home(slack_team_id, enterprise_id, user_id)


def _zone(tz_name: str | None) -> ZoneInfo:
    try:
        return load_timezone(tz_name or "UTC")
    except ValueError:
        return ZoneInfo("UTC")
