"""Child processes a command starts and must stop, whichever way the command itself is stopped.

``sprintwins demo`` starts gunicorn (a master and its workers) and short-lived commands. Python's
default for SIGTERM is to die on the spot, with no ``finally``, which left gunicorn serving after a
``kill <pid>``. Here SIGTERM and SIGHUP become the same ``Stopped`` exit as Ctrl-C's KeyboardInterrupt,
and every child runs in a process group of its own, which is stopped as a whole: gunicorn's workers
go with their master even if the master does not answer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType


class Stopped(KeyboardInterrupt):
    """SIGTERM (or SIGHUP) arrived: unwinds like Ctrl-C, so every ``finally`` runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise ``Stopped`` and SIGINT ``KeyboardInterrupt``; the old
    handlers come back afterwards.

    SIGINT is set too because Python installs its own handler only when the process starts with SIGINT
    at its default: one started by a parent that ignored it (a supervisor, a test runner, ``nohup`` in
    some shells) would otherwise ignore Ctrl-C and leave its children serving.
    """
    handlers = {
        signal.SIGTERM: _raise_stopped,
        signal.SIGHUP: _raise_stopped,
        signal.SIGINT: signal.default_int_handler,
    }
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class ChildProcesses:
    """Processes started in groups of their own and stopped, group by group, when the block ends.

    Each child leads a new session, so a Ctrl-C in the terminal reaches only this process, which
    then stops the children in order: SIGTERM to the group, ``grace_s`` to exit, then SIGKILL. On
    Linux a child also gets SIGTERM if this process dies without unwinding (SIGKILL, a crash).
    """

    def __init__(self, grace_s: float = 15.0) -> None:
        self.grace_s = grace_s
        self._children: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> ChildProcesses:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop_all()

    def start(self, command: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(
            list(command), env=env, start_new_session=True, preexec_fn=_terminate_with_parent
        )
        self._children.append(child)
        return child

    def run(self, command: Sequence[str], env: dict[str, str] | None = None) -> int:
        """Start a command and wait for it; if this process is stopped meanwhile, so is the command."""
        child = self.start(command, env)
        try:
            return child.wait()
        finally:
            self.stop(child)

    def stop(self, child: subprocess.Popen[bytes]) -> int | None:
        """SIGTERM the child's group, wait up to the grace period, then SIGKILL what is left."""
        if child.poll() is None:
            _signal_group(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=self.grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(child.pid, signal.SIGKILL)
                child.wait()
        # The leader may be gone while its group lingers (a worker that ignored its master).
        _signal_group(child.pid, signal.SIGKILL)
        if child in self._children:
            self._children.remove(child)
        return child.returncode

    def stop_all(self) -> None:
        """Stop every child, the last started first (it may depend on the earlier ones).

        A second SIGTERM or Ctrl-C meanwhile is ignored: it must not cut the stopping short and
        leave a child running. The stopping is bounded anyway (the grace period, then SIGKILL).
        """
        with _ignoring_signals():
            for child in reversed(list(self._children)):
                self.stop(child)


@contextlib.contextmanager
def _ignoring_signals() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only the main thread may
        yield
        return
    ignored = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in ignored}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _terminate_with_parent() -> None:
    """Runs in the child before exec: ask Linux to send SIGTERM when the parent dies."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
