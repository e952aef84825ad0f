from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from jobs.queue import QueueUnavailable
from service.web.extensions import runtime_of

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    rt = runtime_of(current_app)
    checks: dict[str, str] = {}
    try:
        rt.database.ping()
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"unavailable: {type(error).__name__}"
    if rt.settings.redis_url:
        try:
            rt.queue.ping()
            checks["redis"] = "ok"
        except QueueUnavailable as error:
            checks["redis"] = f"unavailable: {type(error).__name__}"
    else:
        checks["jobs"] = "in-process"
    ready = all(v in {"ok", "in-process"} for v in checks.values())
    return jsonify({"status": "ready" if ready else "not ready", "checks": checks}), 200 if ready else 503
