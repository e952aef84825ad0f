"""A fixed-rate (open-loop) HTTP/1.1 load generator that costs the machine little.

Request ``i`` is due at ``start + i / rate`` whatever happened to earlier ones, and its latency is
measured from that due time, so a slow server cannot hide its queueing (no coordinated omission).

Why not aiohttp: on a 2-core machine the load generator shares the CPU with the server, and
aiohttp's own per-request CPU is taken from the server under test. This client sends pre-built
requests over persistent connections and reads only the status line and ``Content-Length``,
which is all a latency measurement needs.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:\s*close", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str


def target(url: str) -> Target:
    parts = urlsplit(url)
    return Target(parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/")


def build_request(where: Target, headers: Sequence[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"POST {where.path} HTTP/1.1", f"Host: {where.host}:{where.port}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self, lost: Callable[[_Connection], None]) -> None:
        self._lost = lost
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._status = 0
        self._need: int | None = None
        self._closing = False
        self._done: Callable[[int], None] | None = None
        self.alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, request: bytes, done: Callable[[int], None]) -> None:
        assert self.transport is not None and self._done is None
        self._done = done
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            if self._need is None:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(self._buffer[: end + 2])
                del self._buffer[: end + 4]
                length = _CONTENT_LENGTH.search(head)
                self._status = int(head[9:12])
                self._need = int(length.group(1)) if length else 0
                self._closing = _CLOSE.search(head) is not None
            if len(self._buffer) < self._need:
                return
            del self._buffer[: self._need]
            self._need = None
            done, self._done = self._done, None
            if self._closing and self.transport is not None:
                self.alive = False
                self.transport.close()
            if done is not None:
                done(self._status)

    def connection_lost(self, exc: Exception | None) -> None:
        was_alive, self.alive = self.alive, False
        done, self._done = self._done, None
        if done is not None:
            done(-1)  # the request in flight failed
        if was_alive:
            self._lost(self)


async def run(
    url: str,
    requests: Callable[[int], bytes],
    rate: float,
    duration: float,
    connections: int,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Send ``rate * duration`` requests (``requests(i)`` builds the i-th) on a fixed timetable."""
    where = target(url)
    loop = asyncio.get_running_loop()
    total = int(rate * duration)
    latencies: list[float] = []
    send_lag: list[float] = []
    statuses: Counter[int] = Counter()
    idle: deque[_Connection] = deque()  # FIFO: every connection stays warm (the server drops idle ones)
    backlog: deque[tuple[int, float]] = deque()  # due requests waiting for a free connection
    finished = loop.create_future()
    reconnecting: set[asyncio.Task[None]] = set()

    async def connect() -> None:
        _, protocol = await loop.create_connection(lambda: _Connection(replace), where.host, where.port)
        free(protocol)

    def replace(_connection: _Connection) -> None:
        if _connection in idle:
            idle.remove(_connection)
        if not finished.done():
            task = loop.create_task(connect())
            reconnecting.add(task)
            task.add_done_callback(reconnecting.discard)

    def free(connection: _Connection) -> None:
        if not connection.alive:
            return
        if backlog:
            i, due = backlog.popleft()
            dispatch(connection, i, due)
        else:
            idle.append(connection)

    def dispatch(connection: _Connection, i: int, due: float) -> None:
        send_lag.append(loop.time() - due)

        def done(status: int) -> None:
            latencies.append(loop.time() - due)
            statuses[status] += 1
            if len(latencies) == total and not finished.done():
                finished.set_result(None)
            free(connection)

        connection.send(requests(i), done)

    await asyncio.gather(*(connect() for _ in range(connections)))
    start = loop.time() + 0.05
    for i in range(total):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if idle:
            dispatch(idle.popleft(), i, due)
        else:
            backlog.append((i, due))
    await asyncio.wait_for(finished, timeout)
    elapsed = loop.time() - start
    for connection in list(idle):
        connection.alive = False
        if connection.transport is not None:
            connection.transport.close()
    latencies.sort()
    send_lag.sort()

    def pct(values: list[float], q: float) -> float:
        return 1000 * values[min(len(values) - 1, int(q * len(values)))]

    return {
        "requests": total,
        "statuses": dict(statuses),
        "elapsed_s": elapsed,
        "p50_ms": pct(latencies, 0.50),
        "p99_ms": pct(latencies, 0.99),
        "max_ms": 1000 * latencies[-1],
        "client_send_lag_p99_ms": pct(send_lag, 0.99),
    }
