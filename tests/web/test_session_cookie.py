"""The browser session is opened where browsers go, and never for webhooks, Slack, probes or metrics."""

from __future__ import annotations

import pytest
from flask import Flask, request, session

from service.web.session_cookie import PATHS_WITHOUT_SESSION


def _opened(app: Flask, path: str) -> bool:
    with app.test_request_context(path):
        opened = app.session_interface.open_session(app, request)
        return opened is not None


@pytest.mark.parametrize(
    "path", ["/webhooks/jira", "/webhooks/jira/site-key", "/slack/events", "/healthz", "/readyz", "/metrics"]
)
def test_machine_routes_get_no_session(app: Flask, path: str) -> None:
    assert path.startswith(PATHS_WITHOUT_SESSION)
    assert not _opened(app, path)


@pytest.mark.parametrize(
    "path", ["/", "/teams/orb", "/people/3", "/auth/slack/login", "/share/abc", "/api/v1/teams"]
)
def test_browser_routes_read_the_signed_cookie(app: Flask, path: str) -> None:
    assert _opened(app, path)


def test_a_signed_cookie_still_reaches_a_browser_route(app: Flask) -> None:

    @app.get("/_test/session-value")
    def session_value() -> str:
        return str(session.get("probe"))

    client = app.test_client()
    with client.session_transaction() as stored:
        stored["probe"] = "kept"
    assert client.get("/_test/session-value").text == "kept"
