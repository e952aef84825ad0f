"""Share links: read-only links to one team's page, for a wall display or a screen in the office.

A link is shown once, when it is made; only the SHA-256 of its token is stored (``bearer_secrets``, as
for API tokens). A link opens its team's page only, and only until
it expires or is revoked: the browser that opened it is checked against the link again on every
request, so revoking one ends it on every screen at once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from service.models import ShareLink, Team, Workspace, utcnow
from service.teams import registry as teams
from service.workspaces.bearer_secrets import mark_used, revoke, secret_hash

DEFAULT_LIFETIME = timedelta(days=30)
# A year: a forgotten link stops working some day, however long the screen it is on stays up.
MAX_LIFETIME = timedelta(days=365)
MAX_NAME = 200
# What ``secrets.token_urlsafe(32)`` makes; anything else (a NUL, 10 kB, unicode) is refused unhashed.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
_LIFETIME = re.compile(r"(\d{1,6})([hdw])")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


class ShareLinkError(ValueError):
    """A share link command that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class IssuedLink:
    """A link just made: ``token`` is the only copy and is never stored."""

    id: int
    workspace_id: int
    team_slug: str
    name: str
    expires_at: datetime
    token: str


@dataclass(frozen=True)
class LinkGrant:
    """What a live link opens: one team (by id, and its slug today) in one workspace."""

    link_id: int
    workspace_id: int
    team_id: int
    team_slug: str


@dataclass(frozen=True)
class ListedLink:
    """A link as an operator sees it: everything but the token."""

    link: ShareLink
    team_slug: str


# The stored form of a presented secret (the tests and the lookups name it after what it hashes).
token_hash = secret_hash


def parse_lifetime(text: str) -> timedelta:
    """``12h``, ``30d`` or ``8w``: how long a link works, from one hour up to ``MAX_LIFETIME``."""
    found = _LIFETIME.fullmatch(text.strip().lower())
    if found is None:
        raise ShareLinkError(f"give the lifetime as a number and h, d or w (e.g. 12h, 30d, 8w), not {text!r}")
    lifetime = int(found[1]) * _UNIT[found[2]]
    if lifetime <= timedelta(0):
        raise ShareLinkError("a share link must work for at least an hour")
    if lifetime > MAX_LIFETIME:
        raise ShareLinkError(f"a share link works for at most {MAX_LIFETIME.days} days, not {text!r}")
    return lifetime


def create_link(
    session: Session,
    workspace_id: int,
    team_slug: str,
    *,
    name: str = "",
    lifetime: timedelta = DEFAULT_LIFETIME,
    now: datetime | None = None,
) -> IssuedLink:
    """Make a link to the team ``team_slug`` of the workspace; raises ``ShareLinkError`` or ``TeamError``."""
    if session.get(Workspace, workspace_id) is None:
        raise ShareLinkError(f"no workspace with id {workspace_id}")
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise ShareLinkError(f"a share link works for at most {MAX_LIFETIME.days} days")
    team = teams.get_team(session, team_slug, workspace_id=workspace_id)
    moment = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = ShareLink(
        workspace_id=workspace_id,
        team_id=team.id,
        name=name.strip()[:MAX_NAME],
        token_hash=token_hash(token),
        created_at=moment,
        expires_at=moment + lifetime,
    )
    session.add(row)
    session.flush()
    return IssuedLink(row.id, workspace_id, team.slug, row.name, row.expires_at, token)


def list_links(session: Session, workspace_id: int) -> list[ListedLink]:
    """Every link of the workspace, expired and revoked ones included, oldest first."""
    query = (
        select(ShareLink, Team.slug)
        .join(Team, Team.id == ShareLink.team_id)
        .where(ShareLink.workspace_id == workspace_id)
        .order_by(ShareLink.id)
    )
    return [ListedLink(link, slug) for link, slug in session.execute(query)]


def revoke_link(session: Session, link_id: int) -> tuple[ShareLink, bool]:
    """Revoke a link for good: the row, and whether this call revoked it (again keeps the first time)."""
    return revoke(session, ShareLink, link_id, ShareLinkError(f"no share link with id {link_id}"))


def grant_for_token(session: Session, presented: str, now: datetime | None = None) -> LinkGrant | None:
    """The grant of a live link's token; ``None`` for an unknown, expired, revoked or malformed one."""
    if not TOKEN_SHAPE.fullmatch(presented):
        return None
    return _live(session, ShareLink.token_hash == token_hash(presented), now or utcnow())


def grant_for_link(session: Session, link_id: int, now: datetime | None = None) -> LinkGrant | None:
    """The grant of the link a browser opened before, if it is still live (asked on every request)."""
    return _live(session, ShareLink.id == link_id, now or utcnow())


def _live(session: Session, which: ColumnElement[bool], moment: datetime) -> LinkGrant | None:
    row = session.execute(
        select(ShareLink.id, ShareLink.workspace_id, ShareLink.team_id, Team.slug, ShareLink.last_used_at)
        .join(Team, Team.id == ShareLink.team_id)
        .where(
            which,
            ShareLink.revoked_at.is_(None),
            ShareLink.expires_at > moment,
            # The team must still be in the link's workspace.
            Team.workspace_id == ShareLink.workspace_id,
        )
    ).first()
    if row is None:
        return None
    link_id, workspace_id, team_id, slug, last_used_at = row
    mark_used(session, ShareLink, link_id, last_used_at, moment)  # screens polling one link: once a minute
    return LinkGrant(link_id, workspace_id, team_id, slug)
