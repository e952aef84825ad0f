"""Creating and finding workspaces. Every other lookup takes the workspace id these return."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import DEFAULT_WORKSPACE_ID, Member, Team, Workspace
from service.models.slack import ChannelLink

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class WorkspaceError(ValueError):
    """A workspace command that cannot be carried out; the message says why."""


def list_workspaces(session: Session) -> list[Workspace]:
    return list(session.scalars(select(Workspace).order_by(Workspace.slug)))


def get_workspace(session: Session, slug: str) -> Workspace:
    found = session.scalars(select(Workspace).where(Workspace.slug == slug)).first()
    if found is None:
        raise WorkspaceError(f"no workspace with slug {slug!r}")
    return found


def default_workspace(session: Session) -> Workspace:
    found = session.get(Workspace, DEFAULT_WORKSPACE_ID)
    if found is None:  # the migration creates it; only a hand-edited database lacks it
        raise WorkspaceError("the implicit workspace (id 1) is missing; run `sprintwins migrate`")
    return found


def create_workspace(session: Session, slug: str, name: str | None = None) -> Workspace:
    if not _SLUG.match(slug):
        raise WorkspaceError(
            "a workspace slug is 1-64 characters: lower-case letters, digits and '-', not starting with '-'"
        )
    if session.scalars(select(Workspace.id).where(Workspace.slug == slug)).first() is not None:
        raise WorkspaceError(f"a workspace {slug!r} exists already")
    workspace = Workspace(slug=slug, name=(name or slug).strip()[:200] or slug)
    session.add(workspace)
    session.flush()
    return workspace


def workspace_for_slack(session: Session, slack_team_id: str, enterprise_id: str | None = None) -> Workspace:
    """The workspace of a Slack team, made on first sight (an OAuth install, or its first request)."""
    found = session.scalars(select(Workspace).where(Workspace.slack_team_id == slack_team_id)).first()
    if found is not None:
        return found
    adopted = _adopt_implicit_workspace(session, slack_team_id, enterprise_id)
    if adopted is not None:
        return adopted
    slug = _free_slug(session, "slack-" + slack_team_id.lower())
    workspace = Workspace(
        slug=slug, name=slack_team_id, slack_team_id=slack_team_id, slack_enterprise_id=enterprise_id
    )
    session.add(workspace)
    session.flush()
    return workspace


def _free_slug(session: Session, wanted: str) -> str:
    wanted = re.sub(r"[^a-z0-9-]", "-", wanted)[:60].strip("-") or "workspace"
    slug, n = wanted, 2
    while session.scalars(select(Workspace.id).where(Workspace.slug == slug)).first() is not None:
        slug, n = f"{wanted}-{n}", n + 1
    return slug


def _adopt_implicit_workspace(
    session: Session, slack_team_id: str, enterprise_id: str | None
) -> Workspace | None:
    """The implicit workspace, if it holds this Slack team's channels or people and no Slack team yet.

    An install from before workspaces keeps everything in the implicit workspace: the first Slack team
    seen again whose channel links or people are there takes it over, so its teams, links and history
    stay its own instead of a new, empty workspace taking their place.
    """
    implicit = session.get(Workspace, DEFAULT_WORKSPACE_ID)
    if implicit is None or implicit.slack_team_id is not None:
        return None
    linked = session.scalar(
        select(ChannelLink.id)
        .join(Team, Team.id == ChannelLink.team_id)
        .where(Team.workspace_id == DEFAULT_WORKSPACE_ID, ChannelLink.slack_team_id == slack_team_id)
        .limit(1)
    )
    known = linked or session.scalar(
        select(Member.id)
        .where(Member.workspace_id == DEFAULT_WORKSPACE_ID, Member.slack_team_id == slack_team_id)
        .limit(1)
    )
    if known is None:
        return None
    implicit.slack_team_id, implicit.slack_enterprise_id = slack_team_id, enterprise_id
    session.flush()
    return implicit
