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
    """Ready means "can acknowledge": deliveries are stored in the database and swept into jobs
    later, so Redis down is reported as degraded (200) and only the database decides."""
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
    if checks["database"] != "ok":
        return jsonify({"status": "not ready", "checks": checks}), 503
    degraded = checks.get("redis", "ok") != "ok"
    return jsonify({"status": "degraded" if degraded else "ready", "checks": checks}), 200
