"""Who may open the dashboard's pages: the same access as ``/api/v1`` (``service.web.access``).

An API token as a Bearer token, a signed-in session, or, outside production, a request from this
machine (the demo opens straight onto the dashboard). Pages only read, so read access is enough.
"""

from __future__ import annotations

from flask import render_template

from service.web.access import Refusal, admit


def require_page_access() -> tuple[str, int] | None:
    """The pages' guard: the sign-in page with a 401 when the request has no access."""
    if isinstance(admit(), Refusal):
        return render_template("dashboard/signin_required.html"), 401
    return None
