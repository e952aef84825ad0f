"""The Slack edge: ``POST /slack/events`` (events, commands, interactivity, options) and the install flow.

Bolt's Flask adapter does the work: it verifies the signature (v0 HMAC, 5-minute window),
answers url_verification and routes to the listeners. Before it, ``shape`` refuses what Bolt
cannot handle: malformed signature headers or a bad signature (401), then a body that is not the
JSON object Slack sends or whose read fields have other types (400), so only an outage is a 5xx.
Without Slack settings these routes answer 503 JSON and the rest of the app runs as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, current_app, request

from service.web.errors import json_error
from service.web.extensions import runtime_of
from service.web.metrics import counted_webhook
from service.web.slack import shape

if TYPE_CHECKING:
    from slack_bolt.adapter.flask import SlackRequestHandler

    from jobs.runtime import Runtime

SLACK_HANDLER = "sprintwins.slack"
bp = Blueprint("slack", __name__)


def init_app(app: Flask, rt: Runtime) -> None:
    """Build the Bolt app (when Slack is configured) and register the Slack routes."""
    from service.web.slack.bolt_app import build_bolt_app

    bolt = build_bolt_app(rt)
    if bolt is not None:
        from slack_bolt.adapter.flask import SlackRequestHandler

        app.extensions[SLACK_HANDLER] = SlackRequestHandler(bolt)
    else:
        app.extensions[SLACK_HANDLER] = None
    app.register_blueprint(bp)


def _handler() -> SlackRequestHandler | None:
    return current_app.extensions.get(SLACK_HANDLER)


def _not_configured() -> tuple[Response, int]:
    return json_error(
        503,
        "Slack is not configured: set SPRINTWINS_SLACK_BOT_TOKEN and SPRINTWINS_SLACK_SIGNING_SECRET, "
        "or SPRINTWINS_SLACK_CLIENT_ID, SPRINTWINS_SLACK_CLIENT_SECRET, SPRINTWINS_SLACK_SIGNING_SECRET "
        "and SPRINTWINS_TOKEN_ENCRYPTION_KEY",
    )


@bp.post("/slack/events")
@counted_webhook("slack", redelivery_header="X-Slack-Retry-Num")
def events() -> Response | tuple[Response, int]:
    handler = _handler()
    if handler is None:
        return _not_configured()
    secret = runtime_of(current_app).settings.slack_signing_secret or ""
    try:
        shape.check_signature(dict(request.headers), request.get_data(), secret)
        # Bolt decodes the body the same way (its Flask adapter), so both read the same text.
        content_type = (request.headers.get("Content-Type") or "").split(";")[0] or None
        body = shape.parse(request.get_data(as_text=True), content_type)
        shape.check_body(body)
    except shape.Refused as refused:
        return json_error(refused.status, refused.message)
    return handler.handle(request)


@bp.get("/slack/install")
@bp.get("/slack/oauth_redirect")
def install() -> Response | tuple[Response, int]:
    handler = _handler()
    if handler is None:
        return _not_configured()
    if handler.app.oauth_flow is None:
        return json_error(
            404,
            "this server runs for a single Slack workspace (SPRINTWINS_SLACK_BOT_TOKEN); "
            "set SPRINTWINS_SLACK_CLIENT_ID and SPRINTWINS_SLACK_CLIENT_SECRET to install into workspaces",
        )
    return handler.handle(request)
