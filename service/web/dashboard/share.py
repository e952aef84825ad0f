"""``GET /share/<token>``: a share link opens one team's page, read-only, for a wall display.

A live link puts its id in the browser's signed session cookie (the one sign-in configures) and sends
the browser on to the team's page. From then on the page guard lets that browser see the team's page,
its live feed and its assets only (``service.web.dashboard.access``); the link is read again on every
such request, so an expired or revoked link ends at once on every screen that opened it.

The cookie is signed with a lifetime (12 hours, as for sign-in); a screen that keeps polling has it
re-signed every hour, so a wall display runs for as long as its link does.
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue

from service.web.access import SHARE_ACCESS
from service.web.extensions import runtime_of
from service.workspaces import share_links

bp = Blueprint("share", __name__)

_SHARED = "shared_link"
# Re-signing the cookie this often keeps it well inside its 12-hour signature lifetime.
RENEW_AFTER_SECONDS = 3600
_PAGE_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    """The share route, and the reader the page guard asks (``service.web.access.SHARE_ACCESS``)."""
    app.extensions[SHARE_ACCESS] = shared_team
    app.register_blueprint(bp)


def shared_team() -> tuple[int, str] | None:
    """``(workspace_id, team slug)`` of the live link this browser opened, or None."""
    stored = session.get(_SHARED)
    if not isinstance(stored, dict):
        return None
    link_id, renewed = stored.get("link"), stored.get("renewed")
    if not isinstance(link_id, int) or isinstance(link_id, bool):
        return None
    with runtime_of(current_app).database.transaction() as db:
        grant = share_links.grant_for_link(db, link_id)
    if grant is None:
        session.pop(_SHARED, None)  # the link ended: the browser forgets it
        return None
    if not isinstance(renewed, int) or time.time() - renewed > RENEW_AFTER_SECONDS:
        _remember(link_id)
    return grant.workspace_id, grant.team_slug


def _remember(link_id: int) -> None:
    # Changing the value makes Flask sign and send the cookie again, with a fresh lifetime.
    session.permanent = True
    session[_SHARED] = {"link": link_id, "renewed": int(time.time())}


@bp.after_request
def _page_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = _PAGE_POLICY
    response.headers["Cache-Control"] = "no-store"
    # The address holds the token: it must not travel on as a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/share/<token>")
def open_link(token: str) -> ResponseReturnValue:
    with runtime_of(current_app).database.transaction() as db:
        grant = share_links.grant_for_token(db, token)
    if grant is None:
        return render_template("dashboard/share_not_found.html"), 404
    _remember(grant.link_id)
    return redirect(url_for("dashboard.team_page", slug=grant.team_slug), 303)
