"""Real ``sprintwins`` processes for tests: started on a free port, their output kept in a file.

Each process leads a process group of its own; ``stop`` signals only the process itself, as
Kubernetes does, and ``kill_group`` cleans up whatever is left when a test ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``signum`` to the process alone; wait for it to exit and return its status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # PYTHONFAULTHANDLER (set by ``start``) makes SIGABRT print where every thread stands.
            self.process.send_signal(signal.SIGABRT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
            raise AssertionError(
                f"{self.name} still runs {timeout:.0f} s after {signal.Signals(signum).name}\n"
                + self.output()[-4000:]
            ) from None

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


def start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> LiveProcess:
    """``python -m service.cli.main <args>`` with ``env``, its stdout and stderr in ``log_dir/<name>.log``."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli.main", *args],
            env={**env, "PYTHONFAULTHANDLER": "1"},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return LiveProcess(name, process, log_path)


def start_server(
    name: str, env: dict[str, str], log_dir: Path, *, port: int, workers: int = 1, threads: int = 4
) -> LiveProcess:
    args = ["serve", "--port", str(port), "--workers", str(workers), "--threads", str(threads)]
    server = start(name, args, env, log_dir)
    wait_until(lambda: ready(port), 60, f"{name} did not become ready", server)
    return server


def ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def wait_until(
    condition: Callable[[], bool], timeout: float, message: str, process: LiveProcess | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.process.poll() is not None:
            raise AssertionError(f"{message}: {process.name} exited\n{process.output()[-3000:]}")
        if time.monotonic() > deadline:
            tail = process.output()[-3000:] if process is not None else ""
            raise AssertionError(f"{message} within {timeout:.0f} s\n{tail}")
        time.sleep(0.1)


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """The head and body of one response with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection mid-response: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return head, rest
