"""Periodic work, declared as data; registering it twice is harmless."""

from __future__ import annotations

import logging

from rq.cron import CronScheduler

from jobs import runtime
from jobs.inbox import sweep_inbox
from jobs.queue import RQJobQueue
from service.settings import Settings


def build_scheduler(settings: Settings) -> CronScheduler:
    rt = runtime.install(runtime.Runtime.from_settings(settings))
    assert isinstance(rt.queue, RQJobQueue)
    scheduler = CronScheduler(connection=rt.queue.redis, logging_level=settings.log_level)
    scheduler.register(
        sweep_inbox, settings.queue_name, interval=settings.sweep_interval_seconds, job_timeout=300
    )
    return scheduler


def run_scheduler(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level)
    build_scheduler(settings).start()
