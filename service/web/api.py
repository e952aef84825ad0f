"""The JSON API's reads of teams, wins and sprints, over the read models in ``service.wins.queries``.

Every ``/api/v1`` route is declared (``service.web.openapi``): its query and body are pydantic models
(``api_inputs``), its answers too (``api_models``), and the OpenAPI document is written from them.
Every route acts inside the caller's workspace (``service.web.access``): another workspace's team is
"no team", with the same 404 as a slug nobody uses.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Member, Team
from service.teams import registry as teams
from service.web import access
from service.web.api_inputs import TeamPath, WinsQuery, json_body, validated
from service.web.api_models import SprintList, SprintOut, TeamList, TeamOut, WinOut, WinsPage
from service.web.errors import BadInput, json_error
from service.web.extensions import runtime_of
from service.web.openapi import API, answers
from service.wins import queries
from service.wins.cheers import cheer_counts

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def check_path() -> None:
    """Validate the path's values (slug, sprint id) before any view sees them; after the access check,
    so a caller without access learns nothing about what we would accept."""
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
    """Every /api/v1 blueprint checks the same access, then the same path and body rules, in this order."""
    blueprint.before_request(access.require_api_access)
    blueprint.before_request(check_path)
    blueprint.before_request(check_body)


guard(bp)


@bp.get("/teams")
@API.validate(resp=answers(HTTP_200=TeamList), tags=["teams"])
def list_teams() -> TeamList:
    """Every team of the caller's workspace."""
    with runtime_of(current_app).database.sessions() as session:
        found = teams.list_teams(session, workspace_id=access.workspace_id())
        return TeamList(teams=[TeamOut.of(t) for t in found])


@bp.get("/teams/<slug>/wins")
@API.validate(resp=answers(HTTP_200=WinsPage), tags=["wins"])
def team_wins(slug: str, query: WinsQuery) -> WinsPage | tuple[Response, int]:
    """A team's wins, newest first, a page at a time (``next_cursor`` fetches the next one)."""
    win_filter = query.win_filter()
    with runtime_of(current_app).database.sessions() as session:
        team = team_or_none(session, slug)
        if team is None:
            return no_team(slug)
        if win_filter.member is not None and not _names_a_member(session, win_filter.member, team):
            # Someone of another workspace is nobody here: the same empty page as an unknown person.
            return WinsPage(wins=[], next_cursor=None)
        wins, next_cursor = queries.team_wins(session, team.id, win_filter)
        cheers = cheer_counts(session, [w.id for w in wins])
        return WinsPage(wins=[WinOut.of(w, cheers.get(w.id, 0)) for w in wins], next_cursor=next_cursor)


@bp.get("/teams/<slug>/sprints")
@API.validate(resp=answers(HTTP_200=SprintList), tags=["sprints"])
def team_sprints(slug: str) -> SprintList | tuple[Response, int]:
    """A team's sprints with their issue and point totals and their committed and completed scope."""
    with runtime_of(current_app).database.sessions() as session:
        team = team_or_none(session, slug)
        if team is None:
            return no_team(slug)
        found = queries.team_sprints_with_scope(session, team.id)
        return SprintList(sprints=[SprintOut.of(summary, scope) for summary, scope in found])


def team_or_none(session: Session, slug: str) -> Team | None:
    """The caller's team of that slug; ``None`` both when no team has it and when another workspace's
    does, so the answer never tells the two apart."""
    try:
        return teams.get_team(session, slug, workspace_id=access.workspace_id())
    except teams.TeamError:
        return None


def no_team(slug: str) -> tuple[Response, int]:
    return json_error(404, f"no team with slug {slug!r}")


def _names_a_member(session: Session, ref: str, team: Team) -> bool:
    """Whether ``ref`` names someone of the team's workspace, read as the wins filter reads it."""
    named = queries._member_ids(ref)  # the filter's own reading: our id, Jira or Slack user id
    found = select(Member.id).where(Member.id.in_(named), Member.workspace_id == team.workspace_id)
    return session.scalar(found.limit(1)) is not None
