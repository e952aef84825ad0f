"""A sprint's retro page: ``/teams/<slug>/sprints/<Jira's sprint id>``.

What got done, the milestones hit, who contributed and the burn-up, from ``service.dashboard.retro``
(the team page's and the API's own reads). Registered on the dashboard's blueprint, so it has the
pages' access guard, path checks and headers. A sprint id that is not a number we could store, or a
sprint of another team or workspace, is the same 404 as a missing one.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, render_template

from service.dashboard import retro, scope, summaries
from service.domain import charts
from service.web.access import workspace_id
from service.web.api_inputs import MAX_SPRINT_ID
from service.web.dashboard.pages import ANONYMOUS, bp, link_of, person
from service.web.extensions import runtime_of

_MAX_DIGITS = len(str(MAX_SPRINT_ID))


def jira_sprint_id(raw: str) -> int | None:
    """The sprint id a path segment names: ASCII digits within the column's range, else ``None``."""
    if not raw or len(raw) > _MAX_DIGITS or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= MAX_SPRINT_ID else None


def formatting(zone: ZoneInfo) -> dict[str, object]:
    """What the win and chart partials call: the dashboard's person and link rules, local times."""

    def local_time(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%a %d %b %Y, %H:%M")

    return {"local_time": local_time, "person": person, "link_of": link_of, "anonymous": ANONYMOUS}


@bp.get("/teams/<slug>/sprints/<sprint_id>")
def sprint_page(slug: str, sprint_id: str) -> str | tuple[str, int]:
    with runtime_of(current_app).database.sessions() as session:
        team = scope.team_in_view(session, slug, workspace_id=workspace_id())
        if team is None:
            return render_template("dashboard/not_found.html", slug=slug), 404
        zone = summaries.team_zone(team)
        wanted = jira_sprint_id(sprint_id)
        sprint = retro.team_sprint(session, team.id, wanted) if wanted is not None else None
        if sprint is None:
            return render_template("dashboard/sprint.html", team=team, retro=None, **formatting(zone)), 404
        looked_back = retro.sprint_retro(session, team, sprint, zone, summaries.team_today(team))
        marks = [(m.occurred_at.astimezone(zone).date(), m.title) for m in looked_back.milestones]
        return render_template(
            "dashboard/sprint.html",
            team=team,
            retro=looked_back,
            burn=charts.burn_up(looked_back.burn, marks) if looked_back.burn else None,
            **formatting(zone),
        )
