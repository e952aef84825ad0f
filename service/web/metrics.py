"""``GET /metrics`` behind a token, the request id of every request, and the counting of webhooks.

``/metrics`` is not for the world: it answers only ``Authorization: Bearer <SPRINTWINS_METRICS_TOKEN>``
(401 otherwise) and is not served at all (404) while no token is set. Under gunicorn any worker's
answer covers every worker (multi-process mode, ``service.observability.exposition``); the inbox
gauges are read from the database at scrape time.
"""

from __future__ import annotations

import functools
import hmac
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from jobs.runtime import Runtime
from service.intake import inbox
from service.observability import exposition
from service.observability.context import REQUEST_ID_HEADER, accept_request_id, bind_request_id
from service.observability.metrics import InboxGauges, InboxReading, metrics
from service.web.errors import json_error
from service.web.extensions import runtime_of

log = logging.getLogger(__name__)
request_log = logging.getLogger("sprintwins.requests")
bp = Blueprint("metrics", __name__)

INBOX_GAUGES = "sprintwins.inbox_gauges"
_OUTCOME = "sprintwins_webhook_outcome"
_STARTED = "sprintwins_started"
# Why a webhook was refused, by the status it was answered with.
REJECTION_REASONS = {
    400: "malformed",
    401: "signature",
    403: "forbidden",
    413: "too_large",
    415: "media_type",
    503: "unavailable",
}

P = ParamSpec("P")
R = TypeVar("R")


def init_app(app: Flask, rt: Runtime) -> None:
    metrics()  # built in each process at start, so every live worker shows in sprintwins_processes
    app.extensions[INBOX_GAUGES] = InboxGauges(functools.partial(_read_inbox, rt))
    app.before_request(_bind_request_id)
    app.after_request(_answer_with_request_id)
    app.teardown_request(_unbind_request_id)
    app.register_blueprint(bp)


@bp.get("/metrics")
def scrape() -> Response | tuple[Response, int]:
    token = runtime_of(current_app).settings.metrics_token
    if not token:
        return json_error(404, "metrics are served only when SPRINTWINS_METRICS_TOKEN is set")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        response, status = json_error(
            401, "/metrics needs 'Authorization: Bearer <SPRINTWINS_METRICS_TOKEN>'"
        )
        response.headers["WWW-Authenticate"] = "Bearer"
        return response, status
    body, content_type = exposition.render([current_app.extensions[INBOX_GAUGES]])
    return Response(body, content_type=content_type)


def _read_inbox(rt: Runtime) -> InboxReading:
    with rt.database.sessions() as session:
        status = inbox.status(session)
    return InboxReading(status.counts, status.oldest_pending_age_seconds(datetime.now(UTC)))


# -- the request id ------------------------------------------------------------------------------------


def _bind_request_id() -> None:
    g.request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
    bind_request_id(g.request_id)
    if runtime_of(current_app).settings.log_requests:
        setattr(g, _STARTED, time.perf_counter())


def _answer_with_request_id(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get(_STARTED)
    if started is not None:
        request_log.info(
            "request",
            extra={
                "method": request.method,
                "path": _loggable_path(),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
    return response


# Path parameters that are credentials: a share link's token, a Jira site's key (half of what lets a
# delivery in). A request line with one is logged as its route ("/share/<token>"), never as sent.
_SECRET_PATH_ARGS = frozenset({"token", "site_key"})


def _loggable_path() -> str:
    rule = request.url_rule
    if rule is not None and request.view_args and _SECRET_PATH_ARGS.intersection(request.view_args):
        return rule.rule
    return request.path


def _unbind_request_id(_error: BaseException | None) -> None:
    bind_request_id(None)  # a gthread worker's thread serves the next request with a fresh context


# -- counting webhooks ---------------------------------------------------------------------------------


def note_webhook_outcome(outcome: str) -> None:
    """Say how a 2xx answer counts ("accepted" or "duplicate"); without it a 2xx is "accepted"."""
    setattr(g, _OUTCOME, outcome)


def counted_webhook(
    source: str, *, redelivery_header: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Count a webhook view's deliveries by outcome and reason, and time its answer.

    ``redelivery_header`` names a header the sender adds when it sends a delivery again (Slack's
    ``X-Slack-Retry-Num``): a 2xx answer to such a delivery counts as a duplicate.
    """

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        # Each label set's child, looked up once: the intake path then only adds to values.
        children: dict[tuple[str, str], Any] = {}

        def child(outcome: str, reason: str) -> Any:
            found = children.get((outcome, reason))
            if found is None:
                counters = metrics()
                if outcome == "received":
                    found = counters.webhooks_received.labels(source)
                elif outcome == "ack":
                    found = counters.ack_seconds.labels(source)
                else:
                    found = counters.webhooks.labels(source, outcome, reason)
                children[(outcome, reason)] = found
            return found

        @functools.wraps(view)
        def counted(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            child("received", "").inc()
            status = 500
            try:
                result = view(*args, **kwargs)
                status = _status_of(result)
                return result
            except HTTPException as error:
                status = error.code or 500
                raise
            finally:
                if status < 400:
                    redelivered = redelivery_header is not None and redelivery_header in request.headers
                    child(g.get(_OUTCOME) or ("duplicate" if redelivered else "accepted"), "").inc()
                else:
                    child("rejected", REJECTION_REASONS.get(status, f"http_{status}")).inc()
                child("ack", "").observe(time.perf_counter() - started)

        return counted

    return decorate


def _status_of(result: Any) -> int:
    if isinstance(result, tuple) and len(result) > 1 and isinstance(result[1], int):
        return result[1]
    if isinstance(result, Response):
        return result.status_code
    return 200
