"""``GET /api/v1/teams/<slug>/sprints/<id>/scope``: a sprint's committed and completed scope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy import select

from service.domain.sprint_scope import ScopeEntry, ScopeSource
from service.models import Sprint
from service.progress import sprint_scope as scope
from service.teams import registry as teams
from service.web.api import guard
from service.web.errors import json_error
from service.web.extensions import runtime_of

bp = Blueprint("scope_api", __name__, url_prefix="/api/v1")
# The same bearer-token and path rules as the rest of /api/v1.
guard(bp)


@bp.get("/teams/<slug>/sprints/<int:sprint_id>/scope")
def sprint_scope(slug: str, sprint_id: int) -> tuple[Response, int]:
    """``sprint_id`` is Jira's sprint id, as ``id`` in the team's sprint list."""
    with runtime_of(current_app).database.sessions() as session:
        try:
            team = teams.get_team(session, slug)
        except teams.TeamError:
            return json_error(404, f"no team with slug {slug!r}")
        sprint = session.scalars(
            select(Sprint).where(Sprint.team_id == team.id, Sprint.jira_id == sprint_id)
        ).first()
        if sprint is None:
            return json_error(404, f"team {slug!r} has no sprint {sprint_id}")
        summary = scope.scope_for_sprint(session, sprint)
        issues = scope.scope_entries(session, sprint) if summary.source == ScopeSource.JIRA else []
        return jsonify(
            {
                "sprint_id": sprint.jira_id,
                **summary.api_fields(),
                "committed_completed_issues": summary.committed_completed_issues,
                "committed_completed_points": summary.committed_completed_points,
                "added_issues": summary.added_issues,
                "removed_issues": summary.removed_issues,
                "estimated": summary.estimated,
                "issues": [_entry_json(entry) for entry in issues],
            }
        ), 200


def _entry_json(entry: ScopeEntry) -> dict[str, Any]:
    return {
        "issue_key": entry.issue_key,
        "points": entry.points,
        "committed": entry.committed,
        "done": entry.done,
        "added_at": _iso(entry.added_at),
        "removed_at": _iso(entry.removed_at),
        "done_at": _iso(entry.done_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
