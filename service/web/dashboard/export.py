"""``GET /api/v1/teams/<slug>/export?format=csv|json[&sprint=<jira sprint id>]``: a team's wins.

The JSON holds the API's own win shape (``WinOut``); the CSV is the same rows flattened, one column per
field, so both carry the same values. "Only me" wins are left out and opted-out people stay unnamed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, request

from service.dashboard import scope
from service.dashboard import sprints as sprint_reads
from service.dashboard import wins as win_reads
from service.web import access, api
from service.web.api_inputs import validated
from service.web.api_models import ExportOut, WinOut
from service.web.dashboard.inputs import ExportFormat, ExportQuery
from service.web.errors import BadInput
from service.web.extensions import runtime_of
from service.web.openapi import API, answers
from service.wins.cheers import cheer_counts

bp = Blueprint("dashboard_export", __name__, url_prefix="/api/v1")
# The same access and path rules as the rest of /api/v1.
api.guard(bp)

CSV_COLUMNS = (
    "id",
    "kind",
    "status",
    "title",
    "member_id",
    "member_name",
    "member_anonymous",
    "points",
    "source",
    "source_key",
    "url",
    "occurred_at",
    "cheers",
)


def csv_row(win: WinOut) -> dict[str, Any]:
    """A win as one CSV line: the member's fields side by side, empty where the JSON has null."""
    member = win.member
    values: dict[str, Any] = {
        **win.model_dump(exclude={"member"}),
        "member_id": member.id if member else None,
        "member_name": member.name if member else None,
        "member_anonymous": member.anonymous if member else None,
    }
    return {column: "" if values[column] is None else values[column] for column in CSV_COLUMNS}


def _csv_lines(rows: list[WinOut]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(csv_row(row))
    yield buffer.getvalue()


@bp.get("/teams/<slug>/export")
@API.validate(query=ExportQuery, resp=answers(HTTP_200=None), tags=["export"])
def export_wins(slug: str) -> Response | tuple[Response, int]:
    """Every win the team page may show, newest first, as CSV or JSON (``ExportOut``)."""
    # Read as the pages read their query strings (the first of a repeated value); spectree has checked
    # the same model already, and the document declares both answers (service.web.openapi).
    query = validated(ExportQuery, request.args.to_dict(flat=False))
    with runtime_of(current_app).database.sessions() as session:
        team = scope.team_in_view(session, slug, workspace_id=access.workspace_id())
        if team is None:
            return api.no_team(slug)
        if query.sprint is not None and sprint_reads.team_sprint(session, team.id, query.sprint) is None:
            raise BadInput("sprint", f"sprint: team {slug!r} has no sprint {query.sprint}")
        wanted = win_reads.FeedFilter(sprint=query.sprint)
        wins = list(win_reads.all_wins(session, team.id, wanted))
        cheers = cheer_counts(session, [win.id for win in wins])
        rows = [WinOut.of(win, cheers.get(win.id, 0)) for win in wins]
    name = f"{slug}-wins" + (f"-sprint-{query.sprint}" if query.sprint is not None else "")
    if query.format is ExportFormat.JSON:
        body = ExportOut(team=slug, sprint=query.sprint, wins=rows).model_dump_json()
        response = Response(body, mimetype="application/json")
    else:
        response = Response("".join(_csv_lines(rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{query.format.value}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
