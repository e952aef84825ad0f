"""The read-only JSON API, over the read models in ``service.wins.queries``.

Every ``/api/v1`` route is declared (``service.web.openapi``): its query and body are pydantic models
(``api_inputs``), its answers too (``api_models``), and the OpenAPI document is written from them.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, request
from sqlalchemy.orm import Session

from service.models import Team
from service.progress import sprint_scope
from service.teams import registry as teams
from service.web.api_inputs import TeamPath, WinsQuery, json_body, validated
from service.web.api_models import SprintList, SprintOut, TeamList, TeamOut, WinOut, WinsPage
from service.web.errors import BadInput, json_error
from service.web.extensions import runtime_of
from service.web.openapi import API, answers
from service.wins import queries
from service.wins.cheers import cheer_counts

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


def check_body() -> None:
    """A body must be a plain JSON object before a route's model reads it: the JSON reader alone would
    take NaN, recurse without end on deep nesting, or read ``[]`` as "no body"."""
    if request.method in ("POST", "PUT", "PATCH"):
        body = json_body()
        if not isinstance(body, dict):
            raise BadInput("body", '"body": must be a JSON object')


def guard(blueprint: Blueprint) -> None:
    """Every /api/v1 blueprint checks the same token, then the same path and body rules, in this order."""
    blueprint.before_request(require_token)
    blueprint.before_request(check_path)
    blueprint.before_request(check_body)


guard(bp)


@bp.get("/teams")
@API.validate(resp=answers(HTTP_200=TeamList), tags=["teams"])
def list_teams() -> TeamList:
    """Every team."""
    with runtime_of(current_app).database.sessions() as session:
        return TeamList(teams=[TeamOut.of(t) for t in teams.list_teams(session)])


@bp.get("/teams/<slug>/wins")
@API.validate(resp=answers(HTTP_200=WinsPage), tags=["wins"])
def team_wins(slug: str, query: WinsQuery) -> WinsPage | tuple[Response, int]:
    """A team's wins, newest first, a page at a time (``next_cursor`` fetches the next one)."""
    win_filter = query.win_filter()
    with runtime_of(current_app).database.sessions() as session:
        team = _team_or_none(session, slug)
        if team is None:
            return json_error(404, f"no team with slug {slug!r}")
        wins, next_cursor = queries.team_wins(session, team.id, win_filter)
        cheers = cheer_counts(session, [w.id for w in wins])
        return WinsPage(wins=[WinOut.of(w, cheers.get(w.id, 0)) for w in wins], next_cursor=next_cursor)


@bp.get("/teams/<slug>/sprints")
@API.validate(resp=answers(HTTP_200=SprintList), tags=["sprints"])
def team_sprints(slug: str) -> SprintList | tuple[Response, int]:
    """A team's sprints with their issue and point totals and their committed and completed scope."""
    with runtime_of(current_app).database.sessions() as session:
        team = _team_or_none(session, slug)
        if team is None:
            return json_error(404, f"no team with slug {slug!r}")
        summaries = queries.team_sprints(session, team.id)
        scopes = sprint_scope.scope_for_sprints(session, [s.sprint.id for s in summaries])
        return SprintList(sprints=[SprintOut.of(s, scopes[s.sprint.id]) for s in summaries])


def _team_or_none(session: Session, slug: str) -> Team | None:
    try:
        return teams.get_team(session, slug)
    except teams.TeamError:
        return None
