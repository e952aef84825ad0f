"""Local HTTP stand-ins for the third-party APIs Sprint Wins talks to.

Tests and benchmarks never reach the internet: they point the *real* clients
(`slack_sdk.WebClient`, `jira.JIRA`) at these servers, so the wire format, the
retry behaviour and the pagination loops of those clients are exercised for real.

`LocalHTTPServer` is the shared plumbing: a werkzeug WSGI server on 127.0.0.1, on a
free port, served from a daemon thread, that starts and stops deterministically.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

__all__ = ["LocalHTTPServer"]

# How often the serving thread checks for a shutdown request; small so `stop()` is quick.
_POLL_INTERVAL_S = 0.05
_STOP_TIMEOUT_S = 5.0


class _QuietRequestHandler(WSGIRequestHandler):
    """Request handler that does not log every request: test output stays readable."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class LocalHTTPServer:
    """Base class: a threaded HTTP server whose requests go to `handle(request)`.

    Subclasses implement `handle`. Use as a context manager or call `start()`/`stop()`.
    """

    def __init__(self) -> None:
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve in a background thread (idempotent)."""
        with self._lifecycle_lock:
            if self._server is not None:
                return self
            server = make_server(
                "127.0.0.1", 0, self._wsgi_app, threaded=True, request_handler=_QuietRequestHandler
            )
            # Handler threads must never keep the interpreter alive after a failed test.
            server.daemon_threads = True
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": _POLL_INTERVAL_S},
                name=f"{type(self).__name__}-http",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        with self._lifecycle_lock:
            server, thread = self._server, self._thread
            self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=_STOP_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    # -- request handling ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def _wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        response = self.handle(Request(environ))
        return response(environ, start_response)
