"""JSON API of the progress engine: a team's rules, its challenges and its streaks.

Writes store the change and enqueue a recompute of the team (the job the pipeline runs after
each batch), so the request stays fast whatever the team's history.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.queue import QueueUnavailable
from service.domain.team_rules import TeamRulesError
from service.models import Member
from service.models.progress import StreakStat
from service.progress import admin as progress_admin
from service.teams import registry as teams
from service.web import api
from service.web.api_inputs import ChallengeBody, json_body, validated
from service.web.errors import json_error
from service.web.extensions import runtime_of

log = logging.getLogger(__name__)

bp = Blueprint("progress_api", __name__, url_prefix="/api/v1")
# The same bearer token and path rules as the rest of /api/v1, checked by the same functions.
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


@bp.get("/teams/<slug>/rules")
def get_rules(slug: str) -> tuple[Response, int]:
    with runtime_of(current_app).database.sessions() as session:
        return jsonify(progress_admin.show_rules(session, slug)), 200


@bp.put("/teams/<slug>/rules")
def put_rules(slug: str) -> tuple[Response, int]:
    """Replace the team's rules with the body's mapping (keys left out follow the defaults)."""
    body = json_body()
    with runtime_of(current_app).database.transaction() as session:
        team = teams.get_team(session, slug)
        try:
            progress_admin.replace_rules(session, slug, body, recompute=False)
        except TeamRulesError as error:
            return json_error(400, "invalid team rules", problems=list(error.problems))
        team_id = team.id
        shown = progress_admin.show_rules(session, slug)
    _recompute_later(team_id)
    return jsonify(shown), 200


def _anonymised(session: Session, member_ids: set[int]) -> dict[int, dict[str, Any] | None]:
    if not member_ids:
        return {}
    members = session.scalars(select(Member).where(Member.id.in_(member_ids)))
    return {m.id: api.member_json(m) for m in members}


def _challenge_out(row: dict[str, Any], people: dict[int, dict[str, Any] | None]) -> dict[str, Any]:
    member_id = row.pop("member_id")
    return {**row, "member": None if member_id is None else people.get(member_id)}


@bp.get("/teams/<slug>/challenges")
def get_challenges(slug: str) -> tuple[Response, int]:
    with runtime_of(current_app).database.sessions() as session:
        rows = progress_admin.list_challenges(session, slug)
        people = _anonymised(session, {r["member_id"] for r in rows if r["member_id"] is not None})
        return jsonify({"challenges": [_challenge_out(r, people) for r in rows]}), 200


@bp.post("/teams/<slug>/challenges")
def post_challenge(slug: str) -> tuple[Response, int]:
    """Body: ``{"spec": "close 5 bugs this week", "member_id": 12}`` (``member_id`` optional)."""
    body = validated(ChallengeBody, json_body())
    member_id = body.member_id
    with runtime_of(current_app).database.transaction() as session:
        team = teams.get_team(session, slug)
        try:
            row = progress_admin.add_challenge(session, slug, body.spec, member_id, recompute=False)
        except progress_admin.AdminError as error:
            return json_error(400, str(error))
        team_id = team.id
        people = _anonymised(session, {member_id} if member_id is not None else set())
    _recompute_later(team_id)
    return jsonify(_challenge_out(row, people)), 201


@bp.get("/teams/<slug>/streaks")
def get_streaks(slug: str) -> tuple[Response, int]:
    """The team's streak and each member's, as of the last recompute; opted-out people unnamed."""
    with runtime_of(current_app).database.sessions() as session:
        team = teams.get_team(session, slug)
        rows = list(session.execute(select(StreakStat).where(StreakStat.team_id == team.id)).scalars())
        people = _anonymised(session, {r.member_id for r in rows if r.member_id is not None})
        team_row = next((r for r in rows if r.member_id is None), None)
        members = [{"member": people.get(r.member_id), **_stats(r)} for r in rows if r.member_id is not None]
        # Best first; ties by current, then by id so the order is stable without naming anyone.
        members.sort(key=lambda m: (-m["best"], -m["current"], m["_order"]))
        for m in members:
            del m["_order"]
        return jsonify({"team": _stats(team_row, order=False) if team_row else None, "members": members}), 200


def _stats(row: StreakStat, *, order: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "current": row.current,
        "best": row.best,
        "current_start": row.current_start.isoformat() if row.current_start else None,
        "last_day": row.last_day.isoformat() if row.last_day else None,
    }
    if order:
        out["_order"] = row.id
    return out
