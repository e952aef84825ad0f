"""The request id: taken from ``X-Request-Id`` (or made) at the edge, carried into the jobs it queues.

A web request binds it for its thread; a job binds the one its queue entry carried. Log lines and
the jobs queued meanwhile read it from here, so one delivery can be followed from the webhook to the
win to the Slack post.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from typing import Any, TypeVar

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID_MAX = 128  # longer ids are replaced: they would bloat every log line and job

T = TypeVar("T")

# (pid, random prefix, counter) of the process that makes request ids; remade after a fork.
_id_source: tuple[int, str, itertools.count[int]] | None = None
_request_id: ContextVar[str | None] = ContextVar("sprintwins_request_id", default=None)
# Where a worker finds the id of the job it is running (set by jobs.worker; RQ's current job).
_job_request_id: Callable[[], str | None] | None = None


def new_request_id() -> str:
    """32 hex digits: a random prefix per process and a counter (a uuid4 per request costs a system
    call; the intake makes one for each of ~1,300 deliveries a second)."""
    global _id_source
    pid = os.getpid()
    if _id_source is None or _id_source[0] != pid:  # new after a fork: gunicorn's workers differ
        _id_source = (pid, secrets.token_hex(12), itertools.count())
    _, prefix, counter = _id_source
    return f"{prefix}{next(counter) & 0xFFFFFFFF:08x}"


def accept_request_id(sent: str | None) -> str:
    """The id a client sent, if it is a short printable token; otherwise a new one."""
    if sent and len(sent) <= REQUEST_ID_MAX and sent.isprintable() and " " not in sent:
        return sent
    return new_request_id()


def bind_request_id(request_id: str | None) -> None:
    """Make ``request_id`` this thread's (or task's) id until the next bind; None clears it."""
    _request_id.set(request_id)


@contextmanager
def request_id_bound(request_id: str | None) -> Iterator[None]:
    """Bind ``request_id`` for the block, then restore the previous one (a job run on a thread)."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


def set_job_request_id_source(source: Callable[[], str | None] | None) -> None:
    """Tell this process how to read the request id of the job it is running (a worker)."""
    global _job_request_id
    _job_request_id = source


def current_request_id() -> str | None:
    """The id bound here, else the running job's, else None."""
    bound = _request_id.get()
    if bound is not None or _job_request_id is None:
        return bound
    return _job_request_id()


class ContextCopyingExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks run in the context of the code that submitted them.

    Bolt runs listeners on its own threads after the ack; with this executor a listener sees the
    request id of the request it answers, and the jobs it queues carry it.
    """

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(copy_context().run, fn, *args, **kwargs)
