"""The one way a win the rules want (a ``WinDraft``) becomes a row of the ``wins`` table."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from service.domain.wins import WinDraft, WinStatus, WinVisibility

SOURCE_KEY_LENGTH = 200  # the column's width


def json_ready(details: dict[str, object]) -> dict[str, Any]:
    """``details`` in the normal form the JSON column hands back, so stored and fresh rows compare equal."""
    normal: dict[str, Any] = json.loads(json.dumps(details, default=str, sort_keys=True))
    return normal


def win_row(
    team_id: int,
    draft: WinDraft,
    *,
    member_id: int | None,
    workspace_id: int,
    visibility: str = WinVisibility.TEAM,
) -> dict[str, Any]:
    """The ``wins`` row for ``draft``, active; ``(source, source_key, kind)`` is its identity within
    ``workspace_id``, the team's workspace."""
    return {
        "workspace_id": workspace_id,
        "team_id": team_id,
        "kind": draft.kind.value,
        "status": WinStatus.ACTIVE.value,
        "title": draft.title,
        "member_id": member_id,
        "points": draft.points,
        "source": draft.source.value,
        "source_key": draft.source_key[:SOURCE_KEY_LENGTH],
        "url": draft.url,
        "visibility": str(visibility),
        "occurred_at": draft.occurred_at.astimezone(UTC),
        "details": json_ready(draft.details),
    }
