"""``sprintwins worker``: sweep the inbox, then work the queue with RQ's public Worker classes."""

from __future__ import annotations

import logging

from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer

from jobs import runtime
from jobs.inbox import sweep_inbox
from jobs.queue import RQJobQueue
from service.gc_tuning import freeze_startup_objects
from service.settings import Settings

log = logging.getLogger(__name__)


def run_worker(settings: Settings, *, burst: bool = False, fork: bool = False) -> bool:
    logging.basicConfig(level=settings.log_level)
    rt = runtime.install(runtime.Runtime.from_settings(settings))
    assert isinstance(rt.queue, RQJobQueue)
    swept = sweep_inbox()
    log.info("start-up sweep: %(pending)d pending deliveries in %(batches)d batches", swept)
    # SimpleWorker runs jobs in this process: batches are small and the database pool is reused.
    worker_class = Worker if fork else SimpleWorker
    worker = worker_class([rt.queue.rq], connection=rt.queue.redis, serializer=JSONSerializer)
    freeze_startup_objects()
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
    finally:
        rt.database.dispose()
