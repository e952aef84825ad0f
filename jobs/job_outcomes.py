"""What RQ tells us about each job: counted by job and outcome, logged with the request id it carries.

RQ calls these as the jobs' success and failure callbacks (``jobs.queue`` sets them on every
enqueue, RQ's public ``Callback`` API); they keep these dotted paths across releases, as job
functions do. The request id travels in the job's ``meta`` (``REQUEST_ID_META``).
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from redis import Redis
from rq import Callback, get_current_job
from rq.job import Job

from service.observability.metrics import count_job

log = logging.getLogger(__name__)

REQUEST_ID_META = "request_id"


def job_processed(job: Job, connection: Redis, result: Any) -> None:
    count_job(job.func_name or "unknown", "processed")
    log.info("job processed", extra={"job": job.func_name, "job_id": job.id, **_request_id_of(job)})


def job_failed(
    job: Job, connection: Redis, kind: type[BaseException], error: BaseException, traceback: TracebackType
) -> None:
    # Each failed attempt counts: RQ's Retry may run the job again and succeed.
    count_job(job.func_name or "unknown", "failed")
    log.warning(
        "job failed",
        extra={"job": job.func_name, "job_id": job.id, "error": kind.__name__, **_request_id_of(job)},
    )


ON_SUCCESS = Callback(job_processed)
ON_FAILURE = Callback(job_failed)


def running_job_request_id() -> str | None:
    """The request id of the RQ job this worker is running, if it carries one."""
    job = get_current_job()
    return None if job is None else _request_id_of(job).get(REQUEST_ID_META)


def _request_id_of(job: Job) -> dict[str, str]:
    request_id = job.meta.get(REQUEST_ID_META)
    return {REQUEST_ID_META: request_id} if isinstance(request_id, str) else {}
