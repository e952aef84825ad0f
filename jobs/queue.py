"""The one queue factory: RQ on Redis in production, a worker thread in the embedded mode."""

from __future__ import annotations

import logging
import queue as stdlib_queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer

from jobs import job_outcomes
from service.observability.context import current_request_id, request_id_bound
from service.observability.metrics import count_job

log = logging.getLogger(__name__)

# Jira retries for about 30 minutes; our own retries back off over a similar span.
RETRY = Retry(max=5, interval=[2, 10, 60, 300, 900])
QUEUE_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class QueueUnavailable(RuntimeError):
    """The queue could not take the job; the inbox still holds the work for the sweeper."""


class JobQueue(Protocol):
    def enqueue(self, func: Callable[..., Any], *args: Any, job_id: str | None = None) -> None: ...

    def enqueue_unique(self, func: Callable[..., Any], *args: Any, job_id: str) -> bool:
        """Enqueue unless a job with this id exists; True if it was enqueued."""
        ...

    def enqueue_coalesced(
        self, func: Callable[..., Any], *args: Any, flag: str, ttl_seconds: int = 5
    ) -> bool:
        """Enqueue unless a job requested under ``flag`` is still waiting to start; True if enqueued.

        The job must call ``clear_flag(flag)`` before it looks for work, so anything stored
        after that moment raises the flag again and gets a job of its own.
        """
        ...

    def clear_flag(self, flag: str) -> None: ...

    def ping(self) -> None: ...


class RQJobQueue:
    def __init__(self, redis: Redis, name: str) -> None:
        self.redis = redis
        self.rq = Queue(name, connection=redis, serializer=JSONSerializer)

    def enqueue(self, func: Callable[..., Any], *args: Any, job_id: str | None = None) -> None:
        try:
            self.rq.enqueue(
                func, *args, job_id=job_id, retry=RETRY, result_ttl=600, failure_ttl=7 * 86400, **_observed()
            )
        except QUEUE_UNAVAILABLE as error:
            raise QueueUnavailable(str(error)) from error

    def enqueue_unique(self, func: Callable[..., Any], *args: Any, job_id: str) -> bool:
        try:
            self.rq.enqueue(
                func,
                *args,
                job_id=job_id,
                unique=True,
                retry=RETRY,
                result_ttl=86400,
                failure_ttl=7 * 86400,
                **_observed(),
            )
        except DuplicateJobError:
            return False
        except QUEUE_UNAVAILABLE as error:
            raise QueueUnavailable(str(error)) from error
        return True

    def enqueue_coalesced(
        self, func: Callable[..., Any], *args: Any, flag: str, ttl_seconds: int = 5
    ) -> bool:
        key = f"sprintwins:flag:{flag}"
        try:
            # The TTL bounds the damage of a lost job: a later delivery raises the flag again.
            if not self.redis.set(key, 1, nx=True, ex=ttl_seconds):
                return False
            try:
                self.rq.enqueue(func, *args, retry=RETRY, result_ttl=0, failure_ttl=7 * 86400, **_observed())
            except BaseException:
                self.redis.delete(key)
                raise
        except QUEUE_UNAVAILABLE as error:
            raise QueueUnavailable(str(error)) from error
        return True

    def clear_flag(self, flag: str) -> None:
        try:
            self.redis.delete(f"sprintwins:flag:{flag}")
        except QUEUE_UNAVAILABLE as error:
            raise QueueUnavailable(str(error)) from error

    def ping(self) -> None:
        try:
            self.redis.ping()
        except QUEUE_UNAVAILABLE as error:
            raise QueueUnavailable(str(error)) from error


def _observed() -> dict[str, Any]:
    """What every RQ job carries: callbacks that count and log its outcome, and the request id it was
    queued under (in its meta), so its log lines and the jobs it queues in turn carry it too."""
    request_id = current_request_id()
    return {
        "on_success": job_outcomes.ON_SUCCESS,
        "on_failure": job_outcomes.ON_FAILURE,
        "meta": {job_outcomes.REQUEST_ID_META: request_id} if request_id else None,
    }


class InProcessJobQueue:
    """Runs jobs one at a time on a background thread of this process.

    One thread keeps SQLite to a single writer. A crash loses no work: the inbox rows stay
    pending and the start-up sweep enqueues them again.
    """

    def __init__(self, retries: int = 3) -> None:
        # Each job with the request id it was queued under.
        self._jobs: stdlib_queue.Queue[tuple[Callable[..., Any], tuple[Any, ...], str | None]] = (
            stdlib_queue.Queue()
        )
        self._retries = retries
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._outstanding = 0
        self._seen_ids: set[str] = set()
        self._flags: set[str] = set()
        self.failures = 0

    def enqueue(self, func: Callable[..., Any], *args: Any, job_id: str | None = None) -> None:
        with self._idle:
            self._outstanding += 1
        self._jobs.put((func, args, current_request_id()))
        self._ensure_thread()

    def enqueue_unique(self, func: Callable[..., Any], *args: Any, job_id: str) -> bool:
        with self._lock:
            if job_id in self._seen_ids:
                return False
            self._seen_ids.add(job_id)
        self.enqueue(func, *args, job_id=job_id)
        return True

    def enqueue_coalesced(
        self, func: Callable[..., Any], *args: Any, flag: str, ttl_seconds: int = 5
    ) -> bool:
        with self._lock:
            if flag in self._flags:
                return False
            self._flags.add(flag)
        self.enqueue(func, *args)
        return True

    def clear_flag(self, flag: str) -> None:
        with self._lock:
            self._flags.discard(flag)

    def ping(self) -> None:
        return None

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every enqueued job has run (tests and the demo use this)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._outstanding:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sprintwins-jobs", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            func, args, request_id = self._jobs.get()
            try:
                with request_id_bound(request_id):
                    self._run_with_retries(func, args)
            finally:
                with self._idle:
                    self._outstanding -= 1
                    self._idle.notify_all()

    def _run_with_retries(self, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
        for attempt in range(1, self._retries + 1):
            try:
                func(*args)
                count_job(f"{func.__module__}.{func.__qualname__}", "processed")
                return
            except Exception:
                count_job(f"{func.__module__}.{func.__qualname__}", "failed")
                log.exception("job %s failed (attempt %d of %d)", func.__name__, attempt, self._retries)
                time.sleep(min(0.2 * attempt, 1.0))
        self.failures += 1


def connect_redis(url: str) -> Redis:
    # Short timeouts: a webhook must still be acknowledged quickly when Redis is away.
    return Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2.0, health_check_interval=30)


def build_queue(redis_url: str | None, name: str) -> JobQueue:
    if not redis_url:
        return InProcessJobQueue()
    return RQJobQueue(connect_redis(redis_url), name)
