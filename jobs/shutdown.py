"""Whether the worker running the current job has been asked to stop.

SIGTERM is RQ's warm shutdown: the worker finishes the job in hand, then exits. A drain job may
hold its worker for up to a minute, batch after batch; it asks here between batches, so that a
stopping worker leaves after the batch it is in and hands the rest to another worker.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from rq import Worker, get_current_job

log = logging.getLogger(__name__)


def stop_requested() -> bool:
    """True once the RQ worker running this job got SIGTERM (or SIGINT); False outside a worker.

    RQ records a warm shutdown that waits for a busy worker in the worker's Redis hash, which the
    job process reads whether it is the worker itself (SimpleWorker) or a forked work horse.
    """
    job = get_current_job()
    if job is None or not job.worker_name:
        return False  # in-process jobs (the embedded mode) stop with their web process
    try:
        worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name, job.connection)
        return worker is not None and worker.shutdown_requested_date is not None
    except RedisError:
        log.warning("could not ask Redis whether this worker is stopping; carrying on")
        return False
