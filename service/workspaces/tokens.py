"""API tokens: bearer keys for ``/api/v1`` and the dashboard, each scoped to one workspace.

A token is shown once, when it is made; only its SHA-256 is stored (``bearer_secrets``), so a copy of
the database gives no working key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import ApiToken, Workspace, utcnow
from service.workspaces.bearer_secrets import mark_used, revoke, secret_hash

TOKEN_PREFIX = "swk_"
MAX_NAME = 200
# Longer than any token we hand out (4 + 43 characters); a longer header is not worth hashing.
MAX_TOKEN_LENGTH = 200


class TokenError(ValueError):
    """A token command that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: ``secret`` is the only copy and is never stored."""

    id: int
    workspace_id: int
    name: str
    can_write: bool
    secret: str


@dataclass(frozen=True)
class TokenGrant:
    """What a presented token allows: its workspace, and whether it may write."""

    token_id: int
    workspace_id: int
    can_write: bool


# The stored form of a presented secret (the tests and the lookups name it after what it hashes).
token_hash = secret_hash


def scope_name(can_write: bool) -> str:
    return "read-write" if can_write else "read"


def create_token(
    session: Session, workspace_id: int, *, name: str = "", can_write: bool = False
) -> IssuedToken:
    if session.get(Workspace, workspace_id) is None:
        raise TokenError(f"no workspace with id {workspace_id}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        workspace_id=workspace_id,
        name=name.strip()[:MAX_NAME],
        token_hash=token_hash(secret),
        can_write=can_write,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return IssuedToken(row.id, workspace_id, row.name, can_write, secret)


def list_tokens(session: Session, workspace_id: int) -> list[ApiToken]:
    """Every token of the workspace, revoked ones included (their history matters), oldest first."""
    query = select(ApiToken).where(ApiToken.workspace_id == workspace_id).order_by(ApiToken.id)
    return list(session.scalars(query))


def revoke_token(session: Session, token_id: int) -> tuple[ApiToken, bool]:
    """Revoke a token for good: the row, and whether this call revoked it (again keeps the first time)."""
    return revoke(session, ApiToken, token_id, TokenError(f"no API token with id {token_id}"))


def grant_for(session: Session, presented: str, now: datetime | None = None) -> TokenGrant | None:
    """The grant of a live token, or ``None`` for an unknown or revoked one.

    Marks the token used (at most once a minute, ``bearer_secrets.mark_used``).
    """
    if not presented.startswith(TOKEN_PREFIX) or len(presented) > MAX_TOKEN_LENGTH:
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash(presented))).first()
    if row is None or row.revoked_at is not None:
        return None
    mark_used(session, ApiToken, row.id, row.last_used_at, now or utcnow())
    return TokenGrant(row.id, row.workspace_id, row.can_write)
