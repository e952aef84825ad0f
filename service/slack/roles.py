"""Who runs a Slack workspace in Sprint Wins: Slack's admins and owners, and the people admins name.

Slack's roles come from ``users.info``; a job asks Slack and hands the flags to
:func:`remember_slack_role`, and :func:`admin_standing` answers from them for ``ROLE_TTL``, so a
command costs at most one ``users.info`` per person per TTL. Everything is keyed by the Slack
workspace (team id), as channel links are; writes are keyed by unique constraints, so a retried
job finds the rows it made.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from service.models import utcnow
from service.models.slack import CachedSlackRole, WorkspaceAdmin
from service.models.upsert import insert_ignoring_conflicts

# Long enough that a burst of commands asks Slack once; short enough that someone Slack demotes
# loses their rights here within minutes.
ROLE_TTL = timedelta(minutes=10)

_ADMINS = cast(Table, WorkspaceAdmin.__table__)  # typed as any FromClause; the insert needs a Table
_ROLES = cast(Table, CachedSlackRole.__table__)


def admin_standing(session: Session, slack_team_id: str, user_id: str, *, now: datetime) -> bool | None:
    """Whether the person is a workspace admin: named, or a Slack admin or owner as Slack said within
    the TTL. None when only Slack can tell (their role is unknown or stale)."""
    if is_named_admin(session, slack_team_id, user_id):
        return True
    role = fresh_slack_role(session, slack_team_id, user_id, now=now)
    return None if role is None else role.is_admin or role.is_owner


def fresh_slack_role(
    session: Session, slack_team_id: str, user_id: str, *, now: datetime
) -> CachedSlackRole | None:
    """What Slack said of the person's role, if it said so within the TTL."""
    return session.scalars(
        select(CachedSlackRole).where(
            CachedSlackRole.slack_team_id == slack_team_id,
            CachedSlackRole.user_id == user_id,
            CachedSlackRole.checked_at > now - ROLE_TTL,
        )
    ).first()


def remember_slack_role(
    session: Session,
    slack_team_id: str,
    enterprise_id: str | None,
    user_id: str,
    *,
    is_admin: bool,
    is_owner: bool,
    now: datetime,
) -> None:
    """Keep what ``users.info`` said (an owner or the primary owner is ``is_owner``)."""
    insert_ignoring_conflicts(
        session,
        _ROLES,
        [
            {
                "slack_team_id": slack_team_id,
                "slack_enterprise_id": enterprise_id,
                "user_id": user_id,
                "is_admin": is_admin,
                "is_owner": is_owner,
                "checked_at": now,
            }
        ],
        ["slack_team_id", "user_id"],
    )
    role = session.scalars(
        select(CachedSlackRole).where(
            CachedSlackRole.slack_team_id == slack_team_id, CachedSlackRole.user_id == user_id
        )
    ).one()
    role.slack_enterprise_id = enterprise_id
    role.is_admin, role.is_owner, role.checked_at = is_admin, is_owner, now
    session.flush()


def is_named_admin(session: Session, slack_team_id: str, user_id: str) -> bool:
    found = session.scalar(
        select(WorkspaceAdmin.id).where(
            WorkspaceAdmin.slack_team_id == slack_team_id, WorkspaceAdmin.user_id == user_id
        )
    )
    return found is not None


def named_admins(session: Session, slack_team_id: str) -> list[WorkspaceAdmin]:
    """The people admins named in the workspace, earliest first."""
    return list(
        session.scalars(
            select(WorkspaceAdmin)
            .where(WorkspaceAdmin.slack_team_id == slack_team_id)
            .order_by(WorkspaceAdmin.created_at, WorkspaceAdmin.id)
        )
    )


def add_admin(
    session: Session,
    slack_team_id: str,
    enterprise_id: str | None,
    user_id: str,
    *,
    display_name: str,
    added_by_user_id: str,
) -> bool:
    """Name someone an admin; False when they already were (their row is kept as it was)."""
    if is_named_admin(session, slack_team_id, user_id):
        return False
    insert_ignoring_conflicts(
        session,
        _ADMINS,
        [
            {
                "slack_team_id": slack_team_id,
                "slack_enterprise_id": enterprise_id,
                "user_id": user_id,
                "display_name": display_name[:200] or user_id,
                "added_by_user_id": added_by_user_id,
                "created_at": utcnow(),
            }
        ],
        ["slack_team_id", "user_id"],
    )
    session.flush()
    return True


def remove_admin(session: Session, slack_team_id: str, user_id: str) -> bool:
    """No longer a named admin; False when they were not one."""
    result = session.execute(
        delete(WorkspaceAdmin).where(
            WorkspaceAdmin.slack_team_id == slack_team_id, WorkspaceAdmin.user_id == user_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def forget_cached_roles(session: Session, slack_team_id: str) -> None:
    """On uninstall: what Slack said about people's roles is not kept. Named admins stay, like the
    channel links, so a reinstall finds the workspace as it was."""
    session.execute(delete(CachedSlackRole).where(CachedSlackRole.slack_team_id == slack_team_id))


def forget_person(session: Session, slack_team_id: str, user_id: str) -> None:
    """Someone asked to be forgotten: their named-admin row and what Slack said of their role go.

    Deleted rather than left to the privacy sweep, which would rewrite their id to one shared
    placeholder that the (workspace, person) unique keys allow only once.
    """
    remove_admin(session, slack_team_id, user_id)
    session.execute(
        delete(CachedSlackRole).where(
            CachedSlackRole.slack_team_id == slack_team_id, CachedSlackRole.user_id == user_id
        )
    )
