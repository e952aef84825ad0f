"""Who is asking, and in which workspace: the one access decision for ``/api/v1`` and the dashboard.

In order, the first that applies:

1. ``Authorization: Bearer <token>``: an API token (``sprintwins token create``) acts in its own
   workspace, read-only unless made with ``--write``. ``SPRINTWINS_API_TOKEN``, when set, is a legacy
   read-write key for the implicit workspace. Any other token (unknown, revoked, malformed) is a 401,
   wherever the request comes from: a wrong key is never quietly ignored.
2. A signed-in browser session, when sign-in registered its reader in
   ``app.extensions[SESSION_ACCESS]``: a callable returning ``(workspace_id, can_write)`` or ``None``.
3. Outside production, a request from this machine (loopback) with neither acts in the implicit
   workspace and may write, so the demo and a developer's ``curl`` need no setup.
4. Only where the caller asks for it (a team's page and its live feed), a browser that opened a share
   link, when the share links registered their reader in ``app.extensions[SHARE_ACCESS]``: read-only,
   in the link's workspace, limited to its one team (``Access.team_slug``). Last, so a signed-in
   person or this machine keeps the wider view it has.

Everything else is a 401. In production only 1, 2 and 4 exist, whatever else is configured. A request
that would write (PUT, POST, PATCH, DELETE) with read-only access is a 403 naming the scope it needs.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from flask import Flask, Response, current_app, g, request

from service.models import DEFAULT_WORKSPACE_ID
from service.web.errors import json_error
from service.web.extensions import runtime_of
from service.workspaces import tokens

SESSION_ACCESS = "sprintwins.session_access"
SHARE_ACCESS = "sprintwins.share_access"
WRITING_METHODS = frozenset({"PUT", "POST", "PATCH", "DELETE"})
_GRANTED = "sprintwins_access"

# What sign-in registers: the signed-in workspace and whether this request may write, or None.
SessionAccess = Callable[[], tuple[int, bool] | None]
# What share links register: the workspace and the slug of the one team the browser's link opens, or None.
ShareAccess = Callable[[], tuple[int, str] | None]


@dataclass(frozen=True)
class Access:
    """The caller's workspace and whether it may change anything there; ``by`` says how it was given.

    ``team_slug`` limits it to one team's page (a share link); ``None`` is the whole workspace.
    """

    workspace_id: int
    can_write: bool
    by: Literal["token", "legacy key", "session", "this machine", "share link"]
    team_slug: str | None = None


@dataclass(frozen=True)
class Refusal:
    """No access: what the caller can do about it."""

    message: str


MISSING = Refusal("this needs 'Authorization: Bearer <API token>' (sprintwins token create) or sign-in")
UNKNOWN = Refusal("the API token is unknown or revoked")


def resolve(app: Flask, *, share: bool = False) -> Access | Refusal:
    """The access of the current request (see the module's docstring for the order); a share link
    counts only with ``share``, which only a team's page and its live feed pass."""
    settings = runtime_of(app).settings
    header = request.headers.get("Authorization", "")
    if header:
        return _by_token(app, header)
    session_access: SessionAccess | None = app.extensions.get(SESSION_ACCESS)
    if session_access is not None:
        signed_in = session_access()
        if signed_in is not None:
            workspace_id, can_write = signed_in
            return Access(workspace_id, can_write, "session")
    if not settings.production and _from_this_machine():
        return Access(DEFAULT_WORKSPACE_ID, True, "this machine")
    share_access: ShareAccess | None = app.extensions.get(SHARE_ACCESS)
    if share and share_access is not None:
        shared = share_access()
        if shared is not None:
            workspace_id, team_slug = shared
            return Access(workspace_id, False, "share link", team_slug)
    return MISSING


def _by_token(app: Flask, header: str) -> Access | Refusal:
    scheme, _, presented = header.partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        return MISSING
    legacy = runtime_of(app).settings.api_token
    # Compared in constant time, before any query: the legacy key never reaches the database.
    if legacy and hmac.compare_digest(presented.encode(), legacy.encode()):
        return Access(DEFAULT_WORKSPACE_ID, True, "legacy key")
    with runtime_of(app).database.transaction() as session:
        grant = tokens.grant_for(session, presented)
    if grant is None:
        return UNKNOWN
    return Access(grant.workspace_id, grant.can_write, "token")


def _from_this_machine() -> bool:
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def admit(*, share: bool = False) -> Access | Refusal:
    """Resolve the current request's access and keep it for the views (``current``); ``share``
    lets a share link count (a team's page and its live feed only)."""
    found = resolve(current_app._get_current_object(), share=share)  # type: ignore[attr-defined]
    if isinstance(found, Access):
        setattr(g, _GRANTED, found)
    return found


def current() -> Access:
    """The access ``admit`` granted to this request; a view behind no guard has none."""
    granted: Access | None = g.get(_GRANTED)
    if granted is None:
        raise RuntimeError("no access was granted to this request: its blueprint has no access guard")
    return granted


def workspace_id() -> int:
    """The caller's workspace: every lookup a view makes is inside it."""
    return current().workspace_id


def require_api_access() -> tuple[Response, int] | None:
    """The ``/api/v1`` guard: 401 without access, 403 for a write with read-only access."""
    found = admit()
    if isinstance(found, Refusal):
        response, status = json_error(401, found.message)
        response.headers["WWW-Authenticate"] = 'Bearer realm="sprintwins"'
        return response, status
    if request.method in WRITING_METHODS and not found.can_write:
        needed = tokens.scope_name(True)
        return json_error(403, f"{request.method} needs {needed} access; {_why_not(found)}", needs=needed)
    return None


def _why_not(access: Access) -> str:
    if access.by == "session":
        return "a signed-in session writes only as a workspace admin, with the page's X-CSRF-Token"
    return f"this token's scope is {tokens.scope_name(False)} (`sprintwins token create --write` makes one)"
