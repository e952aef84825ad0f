"""JSON API of the progress engine: a team's rules, its challenges and its streaks.

Writes store the change and enqueue a recompute of the team (the job the pipeline runs after
each batch), so the request stays fast whatever the team's history. Every team and person is looked
up inside the caller's workspace (``service.web.access``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.queue import QueueUnavailable
from service.domain.team_rules import TeamRulesError
from service.models import Member
from service.models.progress import StreakStat
from service.progress import admin as progress_admin
from service.teams import registry as teams
from service.web import access, api
from service.web.api_inputs import ChallengeBody, RulesBody, bad_input
from service.web.api_models import (
    ChallengeList,
    ChallengeOut,
    MemberOut,
    MemberStreakOut,
    RulesOut,
    StreakOut,
    Streaks,
)
from service.web.errors import BadInput, json_error
from service.web.extensions import runtime_of
from service.web.openapi import API, answers

log = logging.getLogger(__name__)

# Longer than the longest challenge the words can ask for ("for 1000 days", counted in working days);
# an end such as 9999-12-31 would leave no room for the day after it, which every recompute computes.

bp = Blueprint("progress_api", __name__, url_prefix="/api/v1")
# The same access and path rules as the rest of /api/v1, checked by the same functions.
api.guard(bp)


@bp.errorhandler(teams.TeamError)
def _unknown_team(error: teams.TeamError) -> tuple[Response, int]:
    """Every endpoint names a team by slug: an unknown one is a 404 (nothing was written)."""
    return json_error(404, str(error))


def _recompute_later(team_id: int) -> None:
    from jobs.progress import request_progress_update

    try:
        request_progress_update([team_id], runtime_of(current_app).queue)
    except QueueUnavailable:
        # The change is committed; answering 503 would make the client write it twice. The team's
        # next batch recomputes it, whoever triggers it.
        log.warning("queue unavailable; team %s is recomputed with its next batch", team_id)


def _rules_refused(_request: Any, _response: Any, error: Exception | None, *_rest: Any) -> None:
    """The rules model refused the body: answer with the domain's wording, every problem at once, as
    the command line does; the model's first error names the field."""
    if not isinstance(error, ValidationError):
        return
    refused = bad_input(error)
    try:
        progress_admin.validated_rules(_raw_body())
    except TeamRulesError as rules_error:
        raise BadInput(refused.field, "invalid team rules", list(rules_error.problems)) from None
    raise refused


def _raw_body() -> object:
    # The keys as given: a key left out keeps following the default, so the model's filled-in
    # defaults must not be stored. check_body has already read and checked it.
    return request.get_json()


@bp.get("/teams/<slug>/rules")
@API.validate(resp=answers(HTTP_200=RulesOut), tags=["rules"])
def get_rules(slug: str) -> RulesOut:
    """The team's rules: those in force, and the ones it stored."""
    with runtime_of(current_app).database.sessions() as session:
        return RulesOut.model_validate(
            progress_admin.show_rules(session, slug, workspace_id=access.workspace_id())
        )


@bp.put("/teams/<slug>/rules")
@API.validate(
    json=RulesBody,
    resp=answers(HTTP_200=RulesOut, with_body=True, writes=True),
    tags=["rules"],
    before=_rules_refused,
)
def put_rules(slug: str) -> RulesOut:
    """Replace the team's rules with the body's mapping (keys left out follow the defaults)."""
    workspace_id = access.workspace_id()
    with runtime_of(current_app).database.transaction() as session:
        team = teams.get_team(session, slug, workspace_id=workspace_id)
        try:
            progress_admin.replace_rules(
                session, slug, _raw_body(), recompute=False, workspace_id=workspace_id
            )
        except TeamRulesError as error:
            raise BadInput("body", "invalid team rules", list(error.problems)) from None
        team_id = team.id
        shown = RulesOut.model_validate(progress_admin.show_rules(session, slug, workspace_id=workspace_id))
    _recompute_later(team_id)
    return shown


def _people(session: Session, member_ids: set[int]) -> dict[int, MemberOut | None]:
    """Each member of the caller's workspace as the API shows them: opted-out people anonymous."""
    if not member_ids:
        return {}
    members = session.scalars(
        select(Member).where(Member.id.in_(member_ids), Member.workspace_id == access.workspace_id())
    )
    return {m.id: MemberOut.of(m) for m in members}


def _challenge_out(row: dict[str, Any], people: dict[int, MemberOut | None]) -> ChallengeOut:
    member_id = row["member_id"]
    return ChallengeOut.of(row, None if member_id is None else people.get(member_id))


@bp.get("/teams/<slug>/challenges")
@API.validate(resp=answers(HTTP_200=ChallengeList), tags=["challenges"])
def get_challenges(slug: str) -> ChallengeList:
    """The team's challenges and their progress, oldest first."""
    with runtime_of(current_app).database.sessions() as session:
        rows = progress_admin.list_challenges(session, slug, workspace_id=access.workspace_id())
        people = _people(session, {r["member_id"] for r in rows if r["member_id"] is not None})
        return ChallengeList(challenges=[_challenge_out(r, people) for r in rows])


@bp.post("/teams/<slug>/challenges")
@API.validate(resp=answers(HTTP_201=ChallengeOut, with_body=True, writes=True), tags=["challenges"])
def post_challenge(slug: str, json: ChallengeBody) -> tuple[ChallengeOut, int] | tuple[Response, int]:
    """Set a challenge, such as ``{"spec": "close 5 bugs this week", "member_id": 12}``."""
    member_id = json.member_id
    workspace_id = access.workspace_id()
    with runtime_of(current_app).database.transaction() as session:
        team = teams.get_team(session, slug, workspace_id=workspace_id)
        try:
            row = progress_admin.add_challenge(
                session, slug, json.spec, member_id, recompute=False, workspace_id=workspace_id
            )
        except progress_admin.AdminError as error:
            # Either the member is unknown (or another workspace's, which is the same answer) or the
            # words cannot be read as a challenge (a number out of range, a date past the calendar).
            field = "member_id" if str(error).startswith("no member") else "spec"
            return json_error(400, str(error), field=field, problems=[f'"{field}": {error}'])
        team_id = team.id
        created = _challenge_out(row, _people(session, {member_id} if member_id is not None else set()))
    _recompute_later(team_id)
    return created, 201


@bp.get("/teams/<slug>/streaks")
@API.validate(resp=answers(HTTP_200=Streaks), tags=["streaks"])
def get_streaks(slug: str) -> Streaks:
    """The team's streak and each member's, as of the last recompute; opted-out people unnamed."""
    with runtime_of(current_app).database.sessions() as session:
        team = teams.get_team(session, slug, workspace_id=access.workspace_id())
        rows = list(session.execute(select(StreakStat).where(StreakStat.team_id == team.id)).scalars())
        people = _people(session, {r.member_id for r in rows if r.member_id is not None})
        team_row = next((r for r in rows if r.member_id is None), None)
        # Best first; ties by current, then by id so the order is stable without naming anyone.
        ranked = sorted(
            (r for r in rows if r.member_id is not None), key=lambda r: (-r.best, -r.current, r.id)
        )
        members = [
            MemberStreakOut(member=people.get(r.member_id), **StreakOut.of(r).model_dump())
            for r in ranked
            if r.member_id is not None
        ]
        return Streaks(team=StreakOut.of(team_row) if team_row else None, members=members)
