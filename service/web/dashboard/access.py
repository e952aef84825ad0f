"""Who may open the dashboard's pages: the same access as ``/api/v1`` (``service.web.access``).

An API token as a Bearer token, a signed-in session, or, outside production, a request from this
machine (the demo opens straight onto the dashboard). Pages only read, so read access is enough.

A browser that opened a share link sees its one team's page, that page's live feed and the page's
assets, and nothing else: another team's page is "no such team" (404, as for a team that does not
exist), every other page asks to sign in (401).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, has_request_context, render_template, request

from integrations.slack.oidc import signin_configured
from service.teams.members import member_for_slack_user
from service.web.access import Refusal, admit
from service.web.extensions import runtime_of
from service.web.signin import LOGIN_PATH, SIGNOUT_PATH, signed_in

# What a team's page fetches once drawn: itself (filters, older wins), its live feed, its CSS and script.
SHARED_ENDPOINTS = frozenset({"dashboard.team_page", "dashboard.live_wins", "dashboard.static"})
_WALL = "sprintwins_wall_display"


def require_page_access() -> tuple[str, int] | None:
    """The pages' guard: the sign-in page with a 401 when the request has no access."""
    found = admit(share=request.endpoint in SHARED_ENDPOINTS)
    if isinstance(found, Refusal):
        return render_template("dashboard/signin_required.html"), 401
    setattr(g, _WALL, found.team_slug is not None)
    slug = (request.view_args or {}).get("slug")
    if found.team_slug is not None and slug is not None and slug != found.team_slug:
        # The same page as for a team that does not exist: a link tells nothing of the other teams.
        return render_template("dashboard/not_found.html", slug=slug), 404
    return None


def header_context() -> dict[str, Any]:
    """The header's sign-in state: a "Sign in with Slack" link, or the person and a sign-out form; and
    whether a share link is showing the page (``wall_display``): it opens nothing else, so the page
    links to nothing else (the overview, sprint retros, people, exports) and offers no sign-in."""
    if not has_request_context():
        return {}
    if g.get(_WALL, False):
        return {"wall_display": True, "signin_url": None, "signout_url": None, "signin_configured": False}
    person = signed_in()
    configured = signin_configured(runtime_of(current_app).settings)
    return {
        "signin_url": LOGIN_PATH if configured and person is None else None,
        "signout_url": SIGNOUT_PATH if person is not None else None,
        "signed_in_name": _name_of(person.slack_team_id, person.slack_user_id) if person else None,
        "signin_configured": configured,
        "wall_display": False,
    }


def _name_of(slack_team_id: str, slack_user_id: str) -> str:
    """The signed-in person's name as the workspace knows it; their Slack user id before it does."""
    with runtime_of(current_app).database.sessions() as session:
        member = member_for_slack_user(session, slack_team_id, slack_user_id)
        return member.display_name if member is not None and member.display_name else slack_user_id
