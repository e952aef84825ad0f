"""``sprintwins worker``: sweep the inbox, then work the queue with RQ's public Worker classes."""

from __future__ import annotations

import logging
import signal
from types import FrameType
from typing import Any

from redis import Redis
from redis.client import PubSub
from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer

from jobs import runtime
from jobs.inbox import sweep_inbox
from jobs.job_outcomes import running_job_request_id
from jobs.queue import RQJobQueue
from service.gc_tuning import freeze_startup_objects
from service.observability import exposition
from service.observability.context import set_job_request_id_source
from service.observability.logs import configure_logging
from service.settings import Settings

log = logging.getLogger(__name__)


def run_worker(settings: Settings, *, burst: bool = False, fork: bool = False) -> bool:
    """Sweep, then work the queue until SIGTERM or SIGINT (RQ's warm shutdown: the job in hand finishes)."""
    # Until RQ's loop installs its warm shutdown, a stop has no job to wait for: leave at once, with
    # status 0. What the start-up sweep had not enqueued yet stays pending for the next sweep.
    signal.signal(signal.SIGTERM, _leave_before_working)
    signal.signal(signal.SIGINT, _leave_before_working)
    configure_logging(settings)
    if fork:  # RQ runs each job in a child process: they count into files the port adds up
        exposition.use_fresh_multiprocess_dir()
    set_job_request_id_source(running_job_request_id)  # log lines carry the running job's request id
    if settings.metrics_port:
        exposition.serve_on_port(settings.metrics_port)
    rt = runtime.install(runtime.Runtime.from_settings(settings))
    assert isinstance(rt.queue, RQJobQueue)
    swept = sweep_inbox()
    log.info("start-up sweep: %(pending)d pending deliveries in %(batches)d batches", swept)
    # SimpleWorker runs jobs in this process: batches are small and the database pool is reused.
    worker_class = Worker if fork else SimpleWorker
    connection = PromptlyStoppingRedis(connection_pool=rt.queue.redis.connection_pool)
    worker = worker_class([rt.queue.rq], connection=connection, serializer=JSONSerializer)
    freeze_startup_objects()
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
    finally:
        rt.database.dispose()


def _leave_before_working(signum: int, _frame: FrameType | None) -> None:
    log.info("stopped by %s before working any job", signal.Signals(signum).name)
    raise SystemExit(0)


class PromptlyStoppingRedis(Redis):
    """The worker's Redis client: its command listener notices a stop within a second.

    An RQ worker listens for commands on a pub/sub thread that waits up to 60 s per poll. On
    shutdown RQ unsubscribes and then stops that thread, and redis-py (8.2) joins it: when the
    thread had looped back to wait for a subscription before the stop, the worker sat out the whole
    minute before exiting. A one-second poll bounds that wait; the cost is one wake-up a second.
    """

    def pubsub(self, **kwargs: Any) -> PubSub:
        pubsub = super().pubsub(**kwargs)
        run_in_thread = pubsub.run_in_thread

        def polling_at_most_a_second(sleep_time: float = 0.0, **options: Any) -> Any:
            return run_in_thread(min(sleep_time, 1.0), **options)

        pubsub.run_in_thread = polling_at_most_a_second  # type: ignore[method-assign, assignment]
        return pubsub
