"""A web process asks Redis for a drain job at most once per interval, and never forgets to."""

from __future__ import annotations

import threading
import time

import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from jobs.inbox import DRAIN_FLAG
from jobs.queue import RQJobQueue
from jobs.throttle import TrailingThrottle
from service.models import InboundEvent, InboxState
from service.settings import Settings, SettingsError
from service.web.extensions import runtime_of
from service.web.jira_webhook import DRAIN_REQUESTS
from tests.conftest import AppFactory, load_jira, post_jira


class Recorder:
    def __init__(self) -> None:
        self.runs: list[float] = []
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.runs.append(time.monotonic())


def test_a_burst_runs_the_action_once_now_and_once_after_the_last_request() -> None:
    action, errors = Recorder(), []
    throttle = TrailingThrottle(action, 0.2, errors.append)
    start = time.monotonic()
    for _ in range(50):
        throttle()
    last_request = time.monotonic()
    assert len(action.runs) == 1 and action.runs[0] < last_request  # the first ran on the spot
    deadline = time.monotonic() + 2
    while len(action.runs) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    assert len(action.runs) == 2, action.runs  # one trailing run covered the other 49
    assert action.runs[1] > last_request  # and it started after every request of the burst
    assert action.runs[1] - start >= 0.19
    assert errors == []


def test_requests_further_apart_than_the_interval_each_run_now() -> None:
    action = Recorder()
    throttle = TrailingThrottle(action, 0.05, lambda error: None)
    for expected in range(1, 4):
        throttle()
        assert len(action.runs) == expected
        time.sleep(0.06)


def test_no_interval_runs_every_request() -> None:
    action = Recorder()
    throttle = TrailingThrottle(action, 0.0, lambda error: None)
    for _ in range(20):
        throttle()
    assert len(action.runs) == 20


def test_a_failing_trailing_run_is_reported_not_lost_silently() -> None:
    calls: list[int] = []
    reported: list[Exception] = []

    def action() -> None:
        calls.append(1)
        if len(calls) > 1:
            raise ConnectionError("redis went away")

    throttle = TrailingThrottle(action, 0.05, reported.append)
    throttle()
    throttle()  # left to the timer, which fails
    deadline = time.monotonic() + 2
    while not reported and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [type(error) for error in reported] == [ConnectionError]


def test_a_burst_of_deliveries_is_drained_without_anyone_flushing(
    make_app: AppFactory, redis_url: str
) -> None:
    app = make_app("postgres", redis=redis_url, drain_request_interval_ms=2000)
    queue = runtime_of(app).queue
    assert isinstance(queue, RQJobQueue)
    assert app.extensions[DRAIN_REQUESTS].interval_s == 2.0
    client = app.test_client()
    payload = load_jira("webhook-issue-updated-resolved.json")
    assert post_jira(client, payload, delivery_id="b-0").status_code == 202
    assert queue.rq.count == 1  # the first delivery asked at once
    queue.clear_flag(DRAIN_FLAG)  # what a worker does as it starts that job
    for n in range(1, 6):
        assert post_jira(client, payload, delivery_id=f"b-{n}").status_code == 202
    # Asking now would have enqueued a second drain (the flag is down): within the interval
    # nobody asked.
    assert queue.rq.count == 1
    deadline = time.monotonic() + 10
    while queue.rq.count == 1 and time.monotonic() < deadline:
        time.sleep(0.02)  # the trailing request, made after the last commit
    assert queue.rq.count == 2
    SimpleWorker([queue.rq], connection=queue.redis, serializer=JSONSerializer).work(burst=True)
    with runtime_of(app).database.sessions() as session:
        pending = session.scalar(
            select(func.count()).select_from(InboundEvent).where(InboundEvent.state == InboxState.PENDING)
        )
        total = session.scalar(select(func.count()).select_from(InboundEvent))
    assert (total, pending) == (6, 0)


def test_the_interval_setting_is_checked() -> None:
    assert Settings.from_env({"SPRINTWINS_DRAIN_REQUEST_INTERVAL_MS": "0"}).drain_request_interval_ms == 0
    for bad in ("-1", "60000", "soon"):
        with pytest.raises(SettingsError, match="SPRINTWINS_DRAIN_REQUEST_INTERVAL_MS"):
            Settings.from_env({"SPRINTWINS_DRAIN_REQUEST_INTERVAL_MS": bad})


def test_embedded_mode_asks_for_every_delivery(make_app: AppFactory) -> None:
    app = make_app("sqlite")  # in-process jobs: no round trip to save, no interval
    assert app.extensions[DRAIN_REQUESTS].interval_s == 0.0
