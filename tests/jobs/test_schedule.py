"""``sprintwins scheduler`` enqueues the periodic inbox sweep once per period, readable by JSON workers."""

from __future__ import annotations

from rq import SimpleWorker
from rq.serializers import JSONSerializer

from jobs import runtime
from jobs.queue import RQJobQueue
from jobs.schedule import Scheduler, build_scheduler
from service.web.extensions import runtime_of
from tests.conftest import AppFactory, post_jira
from tests.jobs.helpers import inbox_states, issue_payload


def test_scheduler_sweeps_the_inbox_once_per_period(make_app: AppFactory, redis_url: str) -> None:
    app = make_app("postgres", redis="redis://127.0.0.1:1/0")  # intake while Redis is away
    payload = issue_payload("webhook-issue-updated-resolved.json", timestamp=1)
    assert post_jira(app.test_client(), payload, delivery_id="x").status_code == 202
    settings = runtime_of(app).settings.replace(redis_url=redis_url, sweep_interval_seconds=30)

    built = build_scheduler(settings)  # installs the scheduler's runtime, on the live Redis
    sweep = [task for task in built.tasks if task.name == "sweep-inbox"]
    now = [1_000_000.0]
    scheduler = Scheduler(built.queue, sweep, clock=lambda: now[0])
    assert scheduler.tick() == ["sweep-inbox-33333"]
    assert scheduler.tick() == []  # same period: already enqueued
    second = Scheduler(built.queue, sweep, clock=lambda: now[0])
    assert second.tick() == []  # a second scheduler process does not double it

    queue = runtime.current().queue
    assert isinstance(queue, RQJobQueue) and queue.rq.count == 1
    # The sweep runs, enqueues the pending row, and the same burst processes it.
    SimpleWorker([queue.rq], connection=queue.redis, serializer=JSONSerializer).work(burst=True)
    assert inbox_states(app) == ["processed"]

    now[0] += 30
    assert scheduler.tick() == ["sweep-inbox-33334"]  # the next period
