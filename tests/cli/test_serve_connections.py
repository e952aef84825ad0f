"""Keep-alive connections under the real gunicorn (``sprintwins serve``) after a refused body."""

from __future__ import annotations

import http.client
import json
import os
import socket
from collections.abc import Iterator

import pytest

from integrations.jira import signature
from tests import live
from tests.conftest import SECRET, load_jira

LIMIT = 32_768


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("connections")
    env = {
        **os.environ,
        "SPRINTWINS_DATABASE_URL": f"sqlite:///{tmp / 'sprintwins.db'}",
        "SPRINTWINS_REDIS_URL": "",
        "SPRINTWINS_JIRA_WEBHOOK_SECRET": SECRET,
        "SPRINTWINS_MAX_BODY_BYTES": str(LIMIT),
    }
    port = live.free_port()
    process = live.start_server("serve", env, tmp, port=port)
    try:
        yield port
    finally:
        process.stop()
        process.kill_group()


def _signed_delivery(n: int) -> tuple[bytes, dict[str, str]]:
    payload = load_jira("webhook-issue-updated-resolved.json")
    payload["issue"]["key"] = f"CON-{n}"
    body = json.dumps(payload).encode()
    return body, {
        "Content-Type": "application/json",
        "X-Hub-Signature": signature.sign(SECRET, body),
        "X-Atlassian-Webhook-Identifier": f"connections-{n}",
    }


def test_a_413_says_connection_close_and_then_closes(server: int) -> None:
    oversized = b"{" + b" " * (50 * LIMIT) + b"}"
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(
            b"POST /webhooks/jira HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(oversized)}\r\n\r\n".encode()
        )
        sock.sendall(oversized[: 2 * LIMIT])  # the rest never comes: the server must not wait for it
        head, body = live.read_response(sock)
        assert head.startswith(b"HTTP/1.1 413 ")
        assert b"\r\nconnection: close" in head.lower()
        assert json.loads(body)["status"] == 413
        assert sock.recv(1024) == b""  # closed, as announced


def test_a_chunked_body_closes_its_connection(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        chunk = b"x" * (4 * LIMIT)
        sock.sendall(
            b"POST /webhooks/jira HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
            + f"{len(chunk):x}\r\n".encode()
            + chunk
            + b"\r\n"
        )
        head, _ = live.read_response(sock)
        # The body is never read to its end (its last chunk never comes): whatever the answer, the
        # connection must say it closes, and close.
        assert head.startswith(b"HTTP/1.1 4")
        assert b"\r\nconnection: close" in head.lower()
        assert sock.recv(1024) == b""


def test_every_request_after_a_413_on_a_kept_alive_client_succeeds(server: int) -> None:
    # http.client reuses the connection unless the response said close: a truthful 413 lets it
    # reconnect instead of writing the next request into a socket the server has closed.
    client = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    try:
        client.request("POST", "/webhooks/jira", body=b"{" + b" " * (20 * LIMIT) + b"}")
        refused = client.getresponse()
        refused.read()
        assert refused.status == 413
        statuses = []
        for n in range(20):
            body, headers = _signed_delivery(n)
            client.request("POST", "/webhooks/jira", body=body, headers=headers)
            response = client.getresponse()
            response.read()
            statuses.append(response.status)
        assert statuses == [202] * 20
    finally:
        client.close()


def test_accepted_deliveries_keep_their_connection(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        for n in range(100, 110):
            body, headers = _signed_delivery(n)
            lines = [f"{name}: {value}" for name, value in headers.items()]
            request = "POST /webhooks/jira HTTP/1.1\r\nHost: test\r\n" + "\r\n".join(lines)
            sock.sendall(request.encode() + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            head, _ = live.read_response(sock)
            assert head.startswith(b"HTTP/1.1 202 ")
            assert b"\r\nconnection: keep-alive" in head.lower()


def test_a_body_at_the_limit_keeps_its_connection() -> None:
    # The hook takes the limit from the settings `serve` read: a body at the limit is not refused.
    from service.cli.serve import close_after_an_oversized_body

    class Request:
        def __init__(self, headers: list[tuple[str, str]]) -> None:
            self.headers = headers
            self.closed = False

        def force_close(self) -> None:
            self.closed = True

    hook = close_after_an_oversized_body(LIMIT)
    at_limit, over = Request([("CONTENT-LENGTH", str(LIMIT))]), Request([("CONTENT-LENGTH", str(LIMIT + 1))])
    hook(None, at_limit)
    hook(None, over)
    assert (at_limit.closed, over.closed) == (False, True)
