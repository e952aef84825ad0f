"""The read-only JSON API, over the read models in ``service.wins.queries``."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.orm import Session

from service.models import Member, Team, Win
from service.progress import sprint_scope
from service.teams import registry as teams
from service.web.api_inputs import TeamPath, WinsQuery, query_args, validated
from service.web.errors import json_error
from service.web.extensions import runtime_of
from service.wins import queries

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def require_token() -> tuple[Response, int] | None:
    token = runtime_of(current_app).settings.api_token
    if not token:
        return None
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        return json_error(401, "this API needs 'Authorization: Bearer <SPRINTWINS_API_TOKEN>'")
    return None


def check_path() -> None:
    """Validate the path's values (slug, sprint id) before any view sees them; after the token check,
    so a caller without the token learns nothing about what we would accept."""
    if request.view_args:
        path = validated(TeamPath, request.view_args)
        request.view_args.update(path.model_dump(exclude_none=True))


def guard(blueprint: Blueprint) -> None:
    """Every /api/v1 blueprint checks the same token, then the same path rules, in this order."""
    blueprint.before_request(require_token)
    blueprint.before_request(check_path)


guard(bp)


@bp.get("/teams")
def list_teams() -> Response:
    with runtime_of(current_app).database.sessions() as session:
        return jsonify({"teams": [teams.team_summary(t) for t in teams.list_teams(session)]})


@bp.get("/teams/<slug>/wins")
def team_wins(slug: str) -> tuple[Response, int]:
    win_filter = query_args(WinsQuery).win_filter()
    with runtime_of(current_app).database.sessions() as session:
        team = _team_or_none(session, slug)
        if team is None:
            return json_error(404, f"no team with slug {slug!r}")
        wins, next_cursor = queries.team_wins(session, team.id, win_filter)
        return jsonify({"wins": [win_json(w) for w in wins], "next_cursor": next_cursor}), 200


@bp.get("/teams/<slug>/sprints")
def team_sprints(slug: str) -> tuple[Response, int]:
    with runtime_of(current_app).database.sessions() as session:
        team = _team_or_none(session, slug)
        if team is None:
            return json_error(404, f"no team with slug {slug!r}")
        summaries = queries.team_sprints(session, team.id)
        scopes = sprint_scope.scope_for_sprints(session, [s.sprint.id for s in summaries])
        return jsonify(
            {"sprints": [{**sprint_json(s), **scopes[s.sprint.id].api_fields()} for s in summaries]}
        ), 200


def _team_or_none(session: Session, slug: str) -> Team | None:
    try:
        return teams.get_team(session, slug)
    except teams.TeamError:
        return None


def member_json(member: Member | None) -> dict[str, Any] | None:
    if member is None:
        return None
    if member.sharing_opt_out:
        # Counted, never named: the person chose not to be shown.
        return {"id": None, "name": None, "anonymous": True}
    return {"id": member.id, "name": member.display_name, "anonymous": False}


def win_json(win: Win) -> dict[str, Any]:
    return {
        "id": win.id,
        "kind": win.kind,
        "status": win.status,
        "title": win.title,
        "member": member_json(win.member),
        "points": win.points,
        "source": win.source,
        "source_key": win.source_key,
        "url": win.url,
        "occurred_at": _iso(win.occurred_at),
    }


def sprint_json(summary: queries.SprintSummary) -> dict[str, Any]:
    sprint = summary.sprint
    return {
        "id": sprint.jira_id,
        "name": sprint.name,
        "state": sprint.state,
        "goal": sprint.goal,
        "board_id": sprint.board_id,
        "start_at": _iso(sprint.start_at),
        "end_at": _iso(sprint.end_at),
        "completed_at": _iso(sprint.completed_at),
        "issues_total": summary.issues_total,
        "issues_done": summary.issues_done,
        "points_total": summary.points_total,
        "points_done": summary.points_done,
    }


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None
