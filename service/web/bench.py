"""A no-op endpoint so benchmarks can compare intake with the server's own floor, in the same run.

Mounted only when ``SPRINTWINS_BENCH_ENDPOINTS=1``.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

bp = Blueprint("bench", __name__)


@bp.post("/_bench/noop")
def noop() -> tuple[Response, int]:
    request.get_data(cache=False)  # read the body as the webhook does, then do nothing
    return jsonify({"status": "ok"}), 202
