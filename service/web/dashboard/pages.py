"""The dashboard's pages: the overview of the viewer's teams, a team's page, and its live feed fragment.

Every figure comes from the read models the JSON API uses (``service.wins.queries``, the progress
engine's scope, ``service.dashboard``), for the teams of the viewer's workspace only. Pages are Jinja
templates with autoescape on; no inline script or style, so the Content-Security-Policy below can
forbid both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template, request
from sqlalchemy.orm import Session

from service.dashboard import digest_history, participation, scope, summaries
from service.dashboard import overview as overview_reads
from service.dashboard import sprints as sprint_reads
from service.dashboard import wins as win_reads
from service.domain import charts
from service.domain.wins import WinKind
from service.models import Member, Team, Win
from service.models.progress import StreakStat
from service.web.access import workspace_id
from service.web.api_inputs import TeamPath, validated
from service.web.api_models import MemberOut
from service.web.dashboard.access import require_page_access
from service.web.dashboard.inputs import FeedQuery, LiveQuery
from service.web.errors import BadInput
from service.web.extensions import runtime_of

bp = Blueprint(
    "dashboard",
    __name__,
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/assets",  # the app keeps /static (its own, empty) folder; ours is served here
)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
LIVE_POLL_SECONDS = 5
ANONYMOUS = "a teammate"


# Access first, so a viewer without it learns nothing about what a path would accept.
bp.before_request(require_page_access)


@bp.before_request
def _check_path() -> None:
    if request.view_args and "slug" in request.view_args:
        validated(TeamPath, {"slug": request.view_args["slug"]})


@bp.after_request
def _page_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.errorhandler(BadInput)
def _bad_input(error: BadInput) -> tuple[str, int]:
    return render_template("dashboard/bad_request.html", field=error.field, message=error.message), 400


def _not_found(slug: str) -> tuple[str, int]:
    return render_template("dashboard/not_found.html", slug=slug), 404


def person(member: Member | None) -> dict[str, Any] | None:
    """How a person is shown: by name with a link to their wins, or, opted out, as "a teammate"."""
    shown = MemberOut.of(member)  # the API's rule, so a page never names someone the API does not
    if shown is None:
        return None
    return {"name": shown.name or ANONYMOUS, "id": shown.id}


def link_of(win: Win) -> str | None:
    """The win's ticket or Slack message; only web addresses, so a stored ``javascript:`` never links."""
    url = win.url or ""
    return url if url.startswith(("https://", "http://")) else None


def _formatting(zone: ZoneInfo) -> dict[str, Any]:
    def local_time(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%a %d %b %Y, %H:%M")

    return {"local_time": local_time, "person": person, "link_of": link_of, "anonymous": ANONYMOUS}


@bp.get("/")
def overview() -> str:
    with runtime_of(current_app).database.sessions() as session:
        cards = overview_reads.team_cards(session, scope.teams_in_view(session, workspace_id=workspace_id()))
        lines = {c.team.slug: charts.sparkline([n for _, n in c.weeks]) for c in cards}
        return render_template(
            "dashboard/overview.html", cards=cards, sparklines=lines, person=person, anonymous=ANONYMOUS
        )


def _feed_context(session: Session, team: Team, query: FeedQuery) -> dict[str, Any]:
    wins, next_cursor = win_reads.feed_page(session, team.id, query.feed_filter())
    # The page size travels with the filters (so "Older wins" keeps it) when it is not the default.
    unset = {"cursor"} if query.limit != FeedQuery().limit else {"cursor", "limit"}
    filters = {k: v for k, v in query.model_dump(exclude=unset).items() if v is not None}
    return {
        "wins": wins,
        "next_cursor": next_cursor,
        "filters": {k: (v.value if isinstance(v, WinKind) else v) for k, v in filters.items()},
        "newest_id": win_reads.newest_id(session, team.id),
        "first_page": query.cursor is None,
        "poll_seconds": LIVE_POLL_SECONDS,
    }


@bp.get("/teams/<slug>")
def team_page(slug: str) -> str | tuple[str, int]:
    query = validated(FeedQuery, request.args.to_dict(flat=False))
    with runtime_of(current_app).database.sessions() as session:
        team = scope.team_in_view(session, slug, workspace_id=workspace_id())
        if team is None:
            return _not_found(slug)
        if query.sprint is not None and sprint_reads.team_sprint(session, team.id, query.sprint) is None:
            raise BadInput("sprint", f"sprint: team {slug!r} has no sprint {query.sprint}")
        zone = summaries.team_zone(team)
        over_time = summaries.wins_over_time(session, team)
        sprint_context = _sprint_context(session, team, zone)
        streaks = summaries.streak_rows(session, team.id)
        members = {m.id: m for m in _members(session, streaks)}
        context = {
            "team": team,
            "over_time": over_time,
            "recent": charts.bar_chart([(d.isoformat(), n) for d, n in over_time.recent]),
            "trend": charts.bar_chart([(d.isoformat(), n) for d, n in over_time.weekly], height=90),
            "team_streak": next((r for r in streaks if r.member_id is None), None),
            "member_streaks": sorted(
                (r for r in streaks if r.member_id is not None), key=lambda r: (-r.current, -r.best, r.id)
            ),
            "members": members,
            "earned": win_reads.earned_wins(session, team.id),
            "people": win_reads.named_members(session, team.id),
            "kinds": [k.value for k in WinKind],
            "participation": participation.team_participation(session, team.id),
            "digests": digest_history.recent_digests(session, team.id),
            **sprint_context,
            **_feed_context(session, team, query),
            **_formatting(zone),
        }
        return render_template("dashboard/team.html", **context)


def _sprint_context(session: Session, team: Team, zone: ZoneInfo) -> dict[str, Any]:
    """The running sprint's burn-up with its milestones, and the velocity of the last closed sprints."""
    sprints = sprint_reads.team_sprint_rows(session, team.id)
    figures = sprint_reads.charted_sprint_figures(session, sprints)
    current = sprint_reads.current_sprint(figures)
    burn = None
    if current is not None:
        days = sprint_reads.burn_days(session, current, zone, summaries.team_today(team))
        ref = sprint_reads.sprint_ref(team.slug, current.sprint)
        marks = [
            (m.occurred_at.astimezone(zone).date(), m.title)
            for m in win_reads.sprint_milestones(session, team.id, ref)
        ]
        burn = charts.burn_up(days, marks) if days else None
    past = sprint_reads.velocity(figures)
    # One unit for the whole chart: points only when every sprint in it committed points.
    by_points = bool(past) and all(f.by_points for f in past)
    velocity = charts.velocity_chart(
        [
            (
                f.sprint.name,
                f.scope.committed_points if by_points else f.scope.committed_issues,
                f.scope.completed_points if by_points else f.scope.completed_issues,
            )
            for f in past
        ],
        "points" if by_points else "issues",
    )
    return {"current": current, "burn": burn, "velocity": velocity, "sprints": sprints}


def _members(session: Session, streaks: list[StreakStat]) -> list[Member]:
    ids = {r.member_id for r in streaks if r.member_id is not None}
    return [m for m in (session.get(Member, i) for i in ids) if m is not None]


@bp.get("/teams/<slug>/live")
def live_wins(slug: str) -> str | tuple[str, int]:
    """The wins recorded since the page was drawn, swapped into its feed by htmx (no reload)."""
    query = validated(LiveQuery, request.args.to_dict(flat=False))
    with runtime_of(current_app).database.sessions() as session:
        team = scope.team_in_view(session, slug, workspace_id=workspace_id())
        if team is None:
            return _not_found(slug)
        fresh = win_reads.wins_after(session, team.id, query.feed_filter(), query.after)
        newest = max([query.after, *(w.id for w in fresh)])
        filters = {
            k: (v.value if isinstance(v, WinKind) else v)
            for k, v in query.model_dump(exclude={"cursor", "limit", "after"}).items()
            if v is not None
        }
        return render_template(
            "dashboard/live.html",
            team=team,
            wins=fresh,
            newest_id=newest,
            filters=filters,
            poll_seconds=LIVE_POLL_SECONDS,
            now=datetime.now(UTC),
            **_formatting(summaries.team_zone(team)),
        )
