"""``GET /api/v1/teams/<slug>/sprints/<id>/scope``: a sprint's committed and completed scope."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app
from sqlalchemy import select

from service.domain.sprint_scope import ScopeSource
from service.models import Sprint
from service.progress import sprint_scope as scope
from service.web.api import guard, no_team, team_or_none
from service.web.api_models import SprintScope
from service.web.errors import json_error
from service.web.extensions import runtime_of
from service.web.openapi import API, answers

bp = Blueprint("scope_api", __name__, url_prefix="/api/v1")
# The same access and path rules as the rest of /api/v1.
guard(bp)


@bp.get("/teams/<slug>/sprints/<int:sprint_id>/scope")
@API.validate(resp=answers(HTTP_200=SprintScope), tags=["sprints"])
def sprint_scope(slug: str, sprint_id: int) -> SprintScope | tuple[Response, int]:
    """A sprint's committed and completed scope, issue by issue when Jira's sprint report is known.

    ``sprint_id`` is Jira's sprint id, as ``id`` in the team's sprint list.
    """
    with runtime_of(current_app).database.sessions() as session:
        team = team_or_none(session, slug)  # the caller's workspace's, or "no team"
        if team is None:
            return no_team(slug)
        sprint = session.scalars(
            select(Sprint).where(Sprint.team_id == team.id, Sprint.jira_id == sprint_id)
        ).first()
        if sprint is None:
            return json_error(404, f"team {slug!r} has no sprint {sprint_id}")
        summary = scope.scope_for_sprint(session, sprint)
        issues = scope.scope_entries(session, sprint) if summary.source == ScopeSource.JIRA else []
        return SprintScope.of(sprint.jira_id, summary, list(issues))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
