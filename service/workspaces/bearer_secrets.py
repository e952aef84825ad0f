"""What API tokens and share links share: a secret kept only as its hash, a last use written at most once
a minute, and revoking for good.

The secrets are 256 random bits, so a plain SHA-256 (no salt, no stretching) is enough: there is no
dictionary to try against it, and a lookup by hash needs no scan.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from service.models import ApiToken, ShareLink, utcnow

# A last use is written at most this often, so a busy client's reads (or a wall display polling every
# few seconds) do not each become a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

Issued = TypeVar("Issued", ApiToken, ShareLink)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def mark_used(
    session: Session, model: type[Issued], row_id: int, last_used_at: datetime | None, moment: datetime
) -> None:
    """Record a use unless one was recorded within ``LAST_USED_RESOLUTION``. The update is conditional,
    so concurrent requests with one secret write it once between them."""
    stale = moment - LAST_USED_RESOLUTION
    if last_used_at is not None and last_used_at > stale:
        return
    session.execute(
        update(model)
        .where(model.id == row_id, or_(model.last_used_at.is_(None), model.last_used_at <= stale))
        .values(last_used_at=moment)
        .execution_options(synchronize_session=False)
    )


def revoke(session: Session, model: type[Issued], row_id: int, missing: Exception) -> tuple[Issued, bool]:
    """Revoke for good: the row, and whether this call revoked it (again keeps the first time). Raises
    ``missing`` when there is no such row."""
    row = session.get(model, row_id)
    if row is None:
        raise missing
    if row.revoked_at is not None:
        return row, False
    row.revoked_at = utcnow()
    session.flush()
    return row, True
