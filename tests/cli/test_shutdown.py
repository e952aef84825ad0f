"""SIGTERM (and Ctrl-C) on each ``sprintwins`` process: what it finishes, what it hands on, how it exits.

Every process here is real and gets the signal alone, as a container's main process does from
Kubernetes; the chart's grace periods are checked against what the processes need.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest
import yaml
from redis import Redis
from rq import Queue
from rq.job import Job
from sqlalchemy import func, select

from integrations.jira import signature
from jobs.inbox import DRAIN_TIME_LIMIT_S, request_processing
from jobs.queue import RQJobQueue
from jobs.runtime import Runtime
from service.cli.serve import GRACEFUL_TIMEOUT_S
from service.domain.wins import WinKind
from service.intake.inbox import Delivery
from service.models import InboundEvent, InboxState, Win
from service.web.extensions import runtime_of
from tests import live
from tests.conftest import SECRET, AppFactory
from tests.jobs.helpers import issue_payload

CHART_VALUES = Path(__file__).resolve().parents[2] / "helm" / "sprintwins" / "values.yaml"


def _embedded_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SPRINTWINS_DATABASE_URL": f"sqlite:///{tmp_path / 'sprintwins.db'}",
        "SPRINTWINS_REDIS_URL": "",
        "SPRINTWINS_JIRA_WEBHOOK_SECRET": SECRET,
    }


def _resolved(key: str) -> bytes:
    return json.dumps(issue_payload("webhook-issue-updated-resolved.json", key=key, timestamp=1_000)).encode()


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as probe:
            probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            return probe.recv(64) == b""
    except OSError:
        return True


# -- the web process -------------------------------------------------------------------------------------


def test_serve_stops_accepting_finishes_the_request_in_flight_and_exits_0(tmp_path: Path) -> None:
    port = live.free_port()
    server = live.start_server("serve", _embedded_env(tmp_path), tmp_path, port=port, workers=2)
    try:
        body = _resolved("SHUT-1")
        head = (
            "POST /webhooks/jira HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"X-Hub-Signature: {signature.sign(SECRET, body)}\r\n"
            "X-Atlassian-Webhook-Identifier: in-flight-1\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", port), timeout=15) as in_flight:
            in_flight.sendall(head.encode() + body[:100])  # a slow client: the body is half sent
            time.sleep(0.5)
            server.process.send_signal(signal.SIGTERM)
            live.wait_until(lambda: _refused(port), 5, "new connections were still accepted")
            in_flight.sendall(body[100:])
            answer, _ = live.read_response(in_flight)
            assert answer.startswith(b"HTTP/1.1 202 "), answer
            assert in_flight.recv(1024) == b""  # then the stopping worker closes the connection
        assert server.process.wait(timeout=GRACEFUL_TIMEOUT_S + 5) == 0
        assert "Shutting down" in server.output()
    finally:
        server.kill_group()


# -- a job worker ----------------------------------------------------------------------------------------


def _store_resolved_deliveries(rt: Runtime, count: int) -> None:
    deliveries = [
        Delivery.received(
            "jira", f"stop-{n}", _resolved(f"STOP-{n}"), "jira:issue_updated", 1_000, known=True
        )
        for n in range(count)
    ]
    rt.inbox_writer.store_group(deliveries)


def test_a_stopping_worker_leaves_after_its_batch_and_hands_the_rest_on(
    make_app: AppFactory, redis_url: str, postgres_url: str, tmp_path: Path
) -> None:
    app = make_app("postgres", redis=redis_url)
    rt = runtime_of(app)
    assert isinstance(rt.queue, RQJobQueue)
    env = {
        **os.environ,
        "SPRINTWINS_DATABASE_URL": postgres_url,
        "SPRINTWINS_REDIS_URL": redis_url,
        "SPRINTWINS_INBOX_BATCH_SIZE": "10",
    }
    worker = live.start("worker", ["worker"], env, tmp_path)
    try:
        live.wait_until(lambda: "start-up sweep" in worker.output(), 60, "the worker did not start", worker)
        count = 1200  # at 10 a batch, a drain job far longer than the wait for the stop below
        _store_resolved_deliveries(rt, count)
        request_processing(rt.queue)

        def processed() -> int:
            with rt.database.sessions() as session:
                return int(
                    session.scalar(
                        select(func.count())
                        .select_from(InboundEvent)
                        .where(InboundEvent.state == InboxState.PROCESSED)
                    )
                    or 0
                )

        live.wait_until(lambda: processed() >= 20, 60, "the drain job did not start", worker)
        asked = time.monotonic()
        assert worker.stop(signal.SIGTERM, timeout=DRAIN_TIME_LIMIT_S) == 0
        took = time.monotonic() - asked
        # It left in the middle of its drain job, which would have gone on to the last row.
        assert 0 < processed() < count, f"the worker drained everything before stopping ({took:.1f} s)"
        # The rest was handed on: a drain job waits in the queue for the next worker.
        assert rt.queue.rq.count >= 1

        # The next worker takes the rest in big batches, as production's default does.
        successor_env = {**env, "SPRINTWINS_INBOX_BATCH_SIZE": "1000"}
        successor = live.start("successor", ["worker", "--burst"], successor_env, tmp_path)
        assert successor.process.wait(timeout=120) == 0, successor.output()[-3000:]
        with rt.database.sessions() as session:
            keys = list(session.scalars(select(Win.source_key).where(Win.kind == WinKind.TICKET.value)))
        assert processed() == count
        assert sorted(keys) == sorted(f"STOP-{n}" for n in range(count))  # each exactly once
    finally:
        worker.kill_group()


# -- the scheduler ---------------------------------------------------------------------------------------


def test_the_scheduler_exits_on_sigterm_with_every_period_enqueued(redis_url: str, tmp_path: Path) -> None:
    interval = 2
    env = {
        **_embedded_env(tmp_path),
        "SPRINTWINS_REDIS_URL": redis_url,
        "SPRINTWINS_SWEEP_INTERVAL_SECONDS": str(interval),
    }
    assert live.start("upgrade", ["db", "upgrade"], env, tmp_path).process.wait(timeout=120) == 0
    connection = Redis.from_url(redis_url)

    def sweeps() -> set[int]:
        ids = Queue("sprintwins", connection=connection).job_ids
        return {int(job_id.rsplit("-", 1)[1]) for job_id in ids if job_id.startswith("sweep-inbox-")}

    scheduler = live.start("scheduler", ["scheduler"], env, tmp_path)
    try:
        live.wait_until(lambda: len(sweeps()) >= 2, 30, "the scheduler enqueued no second sweep", scheduler)
        # Stop just after a period begins: the loop, polling once a second, has likely not seen it yet.
        time.sleep(interval - time.time() % interval + 0.02)
        stopped_in = int(time.time() // interval)
        asked = time.monotonic()
        assert scheduler.stop(signal.SIGTERM, timeout=10) == 0
        assert time.monotonic() - asked < 3
        enqueued = sweeps()
        assert enqueued == set(range(min(enqueued), stopped_in + 1)), "a period was skipped"
        assert Job.exists(f"digests-{int(time.time() // 60)}", connection=connection)
        assert "scheduler stopped" in scheduler.output()
    finally:
        scheduler.kill_group()
        connection.close()


# -- the demo --------------------------------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    found = []
    for child in live.children(pid):
        found += [child, *_descendants(child)]
    return found


@pytest.mark.parametrize(
    ("signum", "parent_ignored_sigint"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGINT, True)],
    ids=["SIGTERM", "SIGINT", "SIGINT-ignored-by-its-parent"],
)
def test_stopping_the_demo_stops_everything_it_started(
    signum: int, parent_ignored_sigint: bool, tmp_path: Path
) -> None:
    port = live.free_port()
    # Started by a parent that ignores SIGINT (nohup, a supervisor), a process inherits that, and Python
    # then installs no Ctrl-C handler of its own: the demo must still stop on SIGINT.
    inherited = signal.signal(signal.SIGINT, signal.SIG_IGN if parent_ignored_sigint else signal.SIG_DFL)
    try:
        demo = live.start("demo", ["demo", "--port", str(port)], _embedded_env(tmp_path), tmp_path)
    finally:
        signal.signal(signal.SIGINT, inherited)
    try:
        live.wait_until(lambda: not _refused(port), 90, "the demo's server did not start", demo)
        started = _descendants(demo.pid)
        assert len(started) >= 2  # gunicorn's master and its worker
        assert demo.stop(signum, timeout=40) == 0
        live.wait_until(lambda: not any(live.alive(pid) for pid in started), 5, "a demo process lingered")
        assert _refused(port)
    finally:
        demo.kill_group()


# -- the chart -------------------------------------------------------------------------------------------


def test_the_charts_grace_periods_outlast_each_shutdown() -> None:
    values = yaml.safe_load(CHART_VALUES.read_text())
    # gunicorn's graceful timeout, plus the seconds it takes a worker to notice and its master to reap.
    assert values["web"]["terminationGracePeriodSeconds"] >= GRACEFUL_TIMEOUT_S + 5
    # A worker finishes the job in hand: a drain hands over after its batch, any job ends by RQ's timeout.
    assert values["worker"]["terminationGracePeriodSeconds"] > max(Queue.DEFAULT_TIMEOUT, DRAIN_TIME_LIMIT_S)
    # The scheduler's last tick is one enqueue per task.
    assert values["scheduler"]["terminationGracePeriodSeconds"] >= 10
