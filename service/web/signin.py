"""Sign in with Slack for the dashboard and the API: ``/auth/slack/login``, its callback, sign-out.

The browser is sent to Slack with a one-time ``state`` (kept by the same SQL state store as the Slack
install) and a random ``nonce`` (kept in its signed session); Slack sends it back with a code, which
``integrations.slack.oidc`` exchanges for an id token and checks. The Slack team then names the
workspace: its own in multi-workspace mode, or the implicit one when this server runs for one bot's
Slack team (any other team is refused). The session cookie holds ids only (workspace, Slack team and
user, admin or not) and a CSRF token; it is signed with ``SPRINTWINS_SESSION_SECRET`` and lives 12 hours.

``/api/v1`` and the dashboard read it through ``app.extensions[SESSION_ACCESS]``: the workspace, and
write access for admins on requests that carry the CSRF token (``X-CSRF-Token`` or a ``csrf_token``
form field), which pages get from ``<meta name="csrf-token">``.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request, session
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from slack_sdk.errors import SlackClientError
from sqlalchemy.exc import IntegrityError

from integrations.slack import installation, oidc
from integrations.slack.roles import fetch_person
from service.models import utcnow
from service.settings import PREFIX, Settings, SettingsError
from service.slack import roles
from service.slack.workspaces import workspace_id_for_slack
from service.web.errors import RETRY_AFTER_SECONDS
from service.web.extensions import runtime_of
from service.web.session_cookie import SessionWhereUsed

if TYPE_CHECKING:
    from jobs.runtime import Runtime

log = logging.getLogger(__name__)

LOGIN_PATH = "/auth/slack/login"
CALLBACK_PATH = "/auth/slack/callback"
SIGNOUT_PATH = "/auth/signout"
# The name access.py looks the reader up by (kept equal to service.web.access.SESSION_ACCESS).
SESSION_ACCESS = "sprintwins.session_access"
SIGNING_KEYS = "sprintwins.slack_oidc_keys"
# A working day: long enough not to nag, short enough that a lost laptop's cookie soon stops working.
SESSION_LIFETIME = timedelta(hours=12)
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"

_SIGNED_IN = "signed_in"
_PENDING = "signin_pending"
_CSRF = "csrf"
# What the state store issues (a UUID) and what Slack's codes look like, with room to spare; anything
# else (a NUL, 10 kB, markup) is refused before it reaches the database or Slack.
_STATE_SHAPE = re.compile(r"[A-Za-z0-9-]{1,64}")
_CODE_SHAPE = re.compile(r"[A-Za-z0-9._-]{1,512}")
_PAGE_POLICY = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; " + (
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

bp = Blueprint("signin", __name__, template_folder="templates")


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who this browser signed in as: ids only, nothing Slack would have to be asked again for."""

    workspace_id: int
    slack_team_id: str
    slack_user_id: str
    is_admin: bool


def init_app(app: Flask) -> None:
    """The session cookie, the sign-in routes, the CSRF meta tag and the reader for ``/api/v1``."""
    settings = runtime_of(app).settings
    configured = oidc.signin_configured(settings)
    if configured and settings.production and not settings.session_secret:
        raise SettingsError(
            f"{PREFIX}SESSION_SECRET is required when {PREFIX}ENV=production and Sign in with Slack is "
            f"on ({PREFIX}SLACK_CLIENT_ID): it signs the session cookie"
        )
    if configured and not settings.session_secret:
        log.warning("%sSESSION_SECRET is not set: sign-in cookies last until this process restarts", PREFIX)
    app.config.update(
        # Without the setting, a random key: cookies then verify only in this process, which is
        # what a development server needs, and nothing a guess could forge.
        SECRET_KEY=settings.session_secret or secrets.token_urlsafe(32),
        # __Host-: browsers keep it only when Secure, for this host and every path: no subdomain sets it.
        SESSION_COOKIE_NAME="__Host-sprintwins_session" if settings.production else "sprintwins_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.production,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        # The cookie is re-signed only when sign-in changes it, so 12 hours after sign-in it is over.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    app.session_interface = SessionWhereUsed()
    app.extensions[SIGNING_KEYS] = oidc.signing_keys(settings) if configured else None
    app.extensions[SESSION_ACCESS] = session_access
    app.context_processor(_csrf_context)
    app.register_blueprint(bp)


# -- what the rest of the app asks -------------------------------------------------------------------------


def signed_in() -> SignedIn | None:
    """The signed-in person of this request, or None."""
    stored = session.get(_SIGNED_IN)
    if not isinstance(stored, dict):
        return None
    workspace_id, team, user, admin = (stored.get(k) for k in ("workspace", "team", "user", "admin"))
    if not (isinstance(workspace_id, int) and isinstance(team, str) and isinstance(user, str)):
        return None
    return SignedIn(workspace_id, team, user, admin is True)


def csrf_token() -> str | None:
    """This session's CSRF token (made at sign-in); None when nobody is signed in."""
    token = session.get(_CSRF)
    return token if isinstance(token, str) and signed_in() is not None else None


def csrf_ok() -> bool:
    """Whether the request carries this session's CSRF token, in the header or a form field."""
    expected = csrf_token()
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if expected is None or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def session_access() -> tuple[int, bool] | None:
    """``(workspace_id, can_write)`` for a signed-in request: only an admin writes, and only with
    the CSRF token, so another site cannot make a signed-in browser change anything."""
    who = signed_in()
    if who is None:
        return None
    return who.workspace_id, who.is_admin and csrf_ok()


def _csrf_context() -> dict[str, Any]:
    token = csrf_token()
    meta = Markup('<meta name="csrf-token" content="{}">').format(token) if token else Markup("")
    return {"csrf_token": token, "csrf_meta": meta}


# -- the routes ----------------------------------------------------------------------------------------------


@bp.after_request
def _page_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = _PAGE_POLICY
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the callback's address holds a code
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get(LOGIN_PATH)
def login() -> ResponseReturnValue:
    rt = runtime_of(current_app)
    settings = rt.settings
    if not oidc.signin_configured(settings):
        return _not_configured()
    state = installation.build_state_store(rt.database.engine).issue()
    nonce = secrets.token_urlsafe(32)
    session[_PENDING] = {"state": state, "nonce": nonce}
    url = oidc.authorize_url(settings, redirect_uri=_redirect_uri(settings), state=state, nonce=nonce)
    return redirect(url, 302)


@bp.get(CALLBACK_PATH)
def callback() -> ResponseReturnValue:
    rt = runtime_of(current_app)
    settings = rt.settings
    if not oidc.signin_configured(settings):
        return _not_configured()
    pending = session.pop(_PENDING, None)  # one callback per login, whatever its outcome
    state = _query_value("state", _STATE_SHAPE)
    if state is None or not installation.build_state_store(rt.database.engine).consume(state):
        return _problem(400, "This sign-in link has expired or was already used. Please sign in again.")
    nonce = _nonce_of(pending, state)
    if nonce is None:
        return _problem(400, "This sign-in was started in another browser. Please sign in again.")
    if "error" in request.args:
        return _problem(400, "Sign-in was cancelled in Slack.")
    code = _query_value("code", _CODE_SHAPE)
    if code is None:
        return _problem(400, "Slack's answer is missing its code. Please sign in again.")
    try:
        identity = _identity(settings, code, nonce)
        bot_token = _bot_token_for(rt, identity)
    except oidc.SignInRefused as refused:
        log.warning("sign-in refused: %s", refused)
        return _problem(400, "Slack could not confirm who you are. Please sign in again.")
    except oidc.SlackUnreachable as trouble:
        log.warning("sign-in could not reach Slack: %s", trouble)
        page, status = _problem(503, "Slack cannot be reached right now. Please try again in a minute.")
        return page, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if bot_token is None:
        return _problem(403, "Your Slack workspace does not use Sprint Wins on this server.")
    workspace_id = _workspace_for(rt, identity)
    is_admin = _is_admin(rt, identity, bot_token)
    session.clear()  # nothing from before sign-in carries over into the signed-in session
    session.permanent = True
    session[_SIGNED_IN] = {
        "workspace": workspace_id,
        "team": identity.team_id,
        "user": identity.user_id,
        "admin": is_admin,
    }
    session[_CSRF] = secrets.token_urlsafe(32)
    log.info("signed in with Slack to workspace %s (admin: %s)", workspace_id, is_admin)
    return redirect("/", 303)


@bp.post(SIGNOUT_PATH)
def signout() -> ResponseReturnValue:
    if signed_in() is not None and not csrf_ok():
        return _problem(403, "Sign-out needs the page's CSRF token; reload the page and try again.")
    session.clear()
    return redirect("/", 303)


# -- the steps -----------------------------------------------------------------------------------------------


def _identity(settings: Settings, code: str, nonce: str) -> oidc.SlackIdentity:
    id_token = oidc.exchange_code(settings, code=code, redirect_uri=_redirect_uri(settings))
    keys = current_app.extensions[SIGNING_KEYS]
    assert settings.slack_client_id
    return oidc.verify_id_token(id_token, keys=keys, client_id=settings.slack_client_id, nonce=nonce)


def _bot_token_for(rt: Runtime, identity: oidc.SlackIdentity) -> str | None:
    """Our bot's token in the person's Slack team; None when that team may not sign in here.

    Multi-workspace: a team that installed Sprint Wins (a stranger's Slack makes no workspace here).
    Single-workspace: only the Slack team of the configured bot token.
    """
    settings = rt.settings
    if not oidc.multi_workspace(settings):
        assert settings.slack_bot_token  # signin_configured and not multi_workspace
        return settings.slack_bot_token if identity.team_id == oidc.bot_team(settings) else None
    try:
        return installation.bot_token_for(
            settings, rt.database.engine, identity.team_id, identity.enterprise_id
        )
    except installation.SlackNotInstalled:
        return None


def _workspace_for(rt: Runtime, identity: oidc.SlackIdentity) -> int:
    multi = oidc.multi_workspace(rt.settings)
    try:
        with rt.database.transaction() as db:
            return workspace_id_for_slack(db, identity.team_id, identity.enterprise_id, multi_workspace=multi)
    except IntegrityError:
        # The Slack team's first request elsewhere made its workspace at the same moment: use that one.
        with rt.database.transaction() as db:
            return workspace_id_for_slack(db, identity.team_id, identity.enterprise_id, multi_workspace=multi)


def _is_admin(rt: Runtime, identity: oidc.SlackIdentity, bot_token: str) -> bool:
    """A named admin, or a Slack admin or owner (remembered, else asked with ``users.info``)."""
    with rt.database.sessions() as db:
        standing = roles.admin_standing(db, identity.team_id, identity.user_id, now=utcnow())
    if standing is not None:
        return standing
    try:
        person = fetch_person(installation.web_client(rt.settings, bot_token), identity.user_id)
    except (SlackClientError, OSError) as error:
        # Unknown counts as a member: they can read now and write after their next sign-in.
        log.warning("users.info unreachable at sign-in: %s", type(error).__name__)
        return False
    if person.role is None:
        return False
    with rt.database.transaction() as db:
        roles.remember_slack_role(
            db,
            identity.team_id,
            identity.enterprise_id,
            identity.user_id,
            is_admin=person.role.is_admin,
            is_owner=person.role.is_owner,
            now=utcnow(),
        )
    return person.role.runs_the_workspace


def _nonce_of(pending: object, state: str) -> str | None:
    """The nonce of the sign-in this browser started, if it is the one ``state`` comes back for."""
    if not isinstance(pending, dict):
        return None
    started, nonce = pending.get("state"), pending.get("nonce")
    if not (isinstance(started, str) and isinstance(nonce, str)):
        return None
    return nonce if hmac.compare_digest(started.encode(), state.encode()) else None


def _redirect_uri(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + CALLBACK_PATH


def _query_value(name: str, shape: re.Pattern[str]) -> str | None:
    """The one value of a query parameter, when it has the expected shape."""
    values = request.args.getlist(name)
    if len(values) != 1 or not shape.fullmatch(values[0]):
        return None
    return values[0]


def _problem(status: int, message: str) -> tuple[str, int]:
    return render_template("signin/problem.html", status=status, message=message), status


def _not_configured() -> tuple[str, int]:
    return _problem(
        404,
        "Sign in with Slack is not configured on this server: its operator sets "
        f"{PREFIX}SLACK_CLIENT_ID, {PREFIX}SLACK_CLIENT_SECRET and {PREFIX}PUBLIC_URL.",
    )
