"""Benchmark: what the web process spends on one request before any view work, in process.

Times ``POST /_bench/noop`` through the app's WSGI callable (no HTTP, no gunicorn), with the session
cookie as it is served now (opened only on browser routes, ``service.web.session_cookie``) and, as the
baseline measured in the same run, with Flask's own interface that opens it on every request.

Usage: ``python -m bench.request_overhead [--requests 3000] [--reps 5]``. Embedded default (SQLite in a
temporary folder); nothing else is needed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

from flask.sessions import SecureCookieSessionInterface
from werkzeug.test import EnvironBuilder

from bench.common import log, median


def _per_request_us(app: Any, requests: int) -> float:
    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        assert status.startswith("202"), status  # the no-op answers as a webhook does

    started = time.perf_counter()
    for _ in range(requests):
        environ = EnvironBuilder(path="/_bench/noop", method="POST", json={}).get_environ()
        b"".join(app.wsgi_app(environ, start_response))
    return (time.perf_counter() - started) / requests * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update(
            SPRINTWINS_DATABASE_URL=f"sqlite:///{folder}/bench.db",
            SPRINTWINS_BENCH_ENDPOINTS="1",
            SPRINTWINS_LOG_LEVEL="WARNING",
        )
        from service.app import create_app
        from service.settings import Settings

        app = create_app(Settings.from_env())
        served = app.session_interface
        now: list[float] = []
        opened: list[float] = []
        for _ in range(args.reps):  # interleaved, so a noisy moment touches both alike
            app.session_interface = served
            now.append(_per_request_us(app, args.requests))
            app.session_interface = SecureCookieSessionInterface()
            opened.append(_per_request_us(app, args.requests))
    log(f"no-op, session opened on browser routes only: median {median(now):.1f} µs ({now})")
    log(f"no-op, session opened on every request (baseline): median {median(opened):.1f} µs ({opened})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
