"""Every ``/sprintwins`` command and ``/win``, run in workspace B, leaves workspace A exactly as it was."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.models import Team, Win
from service.models.progress import ChallengeRow
from service.models.slack import ChannelLink, WorkspaceAdmin
from service.web.extensions import runtime_of
from tests.jobs.helpers import run_jobs
from tests.workspaces.test_slack_workspaces import (  # the two installs and their fixtures
    OWNER,
    A,
    B,
    TwoWorkspaces,
    backend,
    connected,
    standin,
    two,
)

__all__ = ["backend", "standin", "two"]  # fixtures, used by name

# What B's owner runs, in B's channel: each command the app has, some naming A's own team.
B_COMMANDS = [
    ("/sprintwins", "digest daily 09:30"),
    ("/sprintwins", "timezone Pacific/Auckland"),
    ("/sprintwins", "live all"),
    ("/sprintwins", "challenge close 5 tickets this week"),
    ("/sprintwins", "challenge me review 3 pull requests"),
    ("/sprintwins", f"admin add <@{OWNER[A]}>"),
    ("/sprintwins", "admin list"),
    ("/sprintwins", "connect alpha-only"),
    ("/sprintwins", "connect Alpha"),
    ("/sprintwins", f"link <@{OWNER[A]}> robin@a.example"),
    ("/sprintwins", "help"),
    ("/win", "untangled the flaky deploy"),
    ("/win", f"<@{OWNER[A]}> fixed the build for everyone"),
]


def state_of(two: TwoWorkspaces, team: str) -> dict[str, Any]:
    """Everything of one workspace a command could change, as plain values."""
    workspace = two.workspace_id(team)
    with runtime_of(two.app).database.sessions() as session:
        team_ids = list(session.scalars(select(Team.id).where(Team.workspace_id == workspace)))
        return {
            "teams": sorted(
                (t.slug, t.name, t.timezone, t.slack_channel, str(t.rules))
                for t in session.scalars(select(Team).where(Team.id.in_(team_ids)))
            ),
            "links": sorted(
                (link.team_id, link.channel_id, link.schedule, link.timezone, link.live, link.paused)
                for link in session.scalars(select(ChannelLink).where(ChannelLink.team_id.in_(team_ids)))
            ),
            "wins": sorted(
                (w.team_id, w.kind, w.title, w.member_id)
                for w in session.scalars(select(Win).where(Win.team_id.in_(team_ids)))
            ),
            "challenges": sorted(
                (c.team_id, c.spec)
                for c in session.scalars(select(ChallengeRow).where(ChallengeRow.team_id.in_(team_ids)))
            ),
            "admins": sorted(
                a.user_id
                for a in session.scalars(select(WorkspaceAdmin).where(WorkspaceAdmin.slack_team_id == team))
            ),
        }


def test_every_command_in_one_workspace_leaves_the_other_untouched(two: TwoWorkspaces) -> None:
    connected(two)
    before_a, before_b = state_of(two, A), state_of(two, B)

    for command, text in B_COMMANDS:
        assert two.command(B, command, text).status_code == 200, (command, text)
    run_jobs(two.app)

    assert state_of(two, A) == before_a
    assert state_of(two, B) != before_b  # the commands did act, in B
    hints = [reply.split("Teams I know:", 1)[1] for reply in two.replies(B) if "Teams I know:" in reply]
    assert len(hints) == 2  # both "connect"s to A's team were told it is unknown here
    for hint in hints:
        assert "alpha" not in hint.lower(), hint  # the teams a hint offers are B's own
    assert not any("Orb A" in reply for reply in two.replies(B))  # A's team names never reach B
