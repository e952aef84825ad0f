"""``sprintwins scheduler``: periodic work declared as data, enqueued once per period.

RQ's own ``rq cron`` enqueues with its default (pickle) serializer, which our JSON-only
workers refuse, so this small loop does the same job through ``Queue.enqueue``. Each run
gets the job id ``<task>-<period number>`` with ``unique=True``: a second scheduler, or a
restart inside the same period, finds the id taken and enqueues nothing.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jobs import runtime
from jobs.celebrations import live_celebrations_tick
from jobs.digests import schedule_tick
from jobs.inbox import sweep_inbox
from jobs.queue import JobQueue, QueueUnavailable
from jobs.retention import PRUNE_INTERVAL_SECONDS, prune_inbox
from service.observability import exposition
from service.observability.logs import configure_logging
from service.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    func: Callable[..., Any]
    interval_seconds: int

    def period(self, now: float) -> int:
        return int(now // self.interval_seconds)


def periodic_tasks(settings: Settings) -> list[PeriodicTask]:
    return [
        PeriodicTask("sweep-inbox", sweep_inbox, settings.sweep_interval_seconds),
        PeriodicTask("digests", schedule_tick, 60),  # digest periods are minutes apart at the finest
        PeriodicTask("live-celebrations", live_celebrations_tick, 60),  # the gathering window is a minute
        PeriodicTask("inbox-retention", prune_inbox, PRUNE_INTERVAL_SECONDS),  # docs/privacy.md
    ]


class Scheduler:
    def __init__(
        self, queue: JobQueue, tasks: list[PeriodicTask], clock: Callable[[], float] = time.time
    ) -> None:
        self.queue = queue
        self.tasks = tasks
        self.clock = clock
        self._stop = threading.Event()

    def tick(self) -> list[str]:
        """Enqueue every task whose current period has no job yet; returns the job ids enqueued."""
        now = self.clock()
        enqueued = []
        for task in self.tasks:
            job_id = f"{task.name}-{task.period(now)}"
            try:
                if self.queue.enqueue_unique(task.func, job_id=job_id):
                    enqueued.append(job_id)
            except QueueUnavailable:
                log.warning("queue unavailable; %s will be tried again next tick", task.name)
        return enqueued

    def run(self, poll_seconds: float = 1.0) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        signal.signal(signal.SIGINT, lambda *_: self.stop())
        log.info(
            "scheduler started with %s", ", ".join(f"{t.name}/{t.interval_seconds}s" for t in self.tasks)
        )
        while not self._stop.is_set():
            self._tick_and_log()
            self._stop.wait(poll_seconds)
        # A period may have begun since the last tick (up to ``poll_seconds`` ago): enqueue it before
        # leaving, so stopping never skips one. Its job id makes this harmless if the next scheduler
        # starts within the same period.
        self._tick_and_log()
        log.info("scheduler stopped")

    def stop(self) -> None:
        """Leave ``run`` after one last tick (SIGTERM and SIGINT do this)."""
        self._stop.set()

    def _tick_and_log(self) -> None:
        for job_id in self.tick():
            log.info("enqueued %s", job_id)


def build_scheduler(settings: Settings) -> Scheduler:
    rt = runtime.install(runtime.Runtime.from_settings(settings))
    return Scheduler(rt.queue, periodic_tasks(settings))


def run_scheduler(settings: Settings) -> None:
    configure_logging(settings)
    if settings.metrics_port:
        exposition.serve_on_port(settings.metrics_port)  # the queue's jobs counted as it enqueues them
    build_scheduler(settings).run()
