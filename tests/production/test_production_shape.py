"""The production shape end to end: gunicorn with two workers, two job workers and the scheduler on
the real Postgres and Redis, Slack played by the stand-in; each process is stopped with SIGTERM while
Jira deliveries keep coming, and every acknowledged delivery still becomes exactly one win.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from sqlalchemy import select

from jobs.celebrations import COALESCE_TTL_S
from service.models import InboundEvent, InboxState
from service.slack.celebrations import LIVE_KEY_PREFIX
from service.web.extensions import runtime_of
from tests import live
from tests.conftest import AppFactory
from tests.production import shape
from tests.production.shape import METRICS_TOKEN, TEAM, JiraLoad, Shape
from tests.standins.slack_api import SlackStandIn
from tests.web.slack.conftest import CHANNEL, USER

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

LOAD_DELIVERIES = 240
LOAD_PER_SECOND = 16.0


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(rate_per_channel_per_s=None) as standin:
        standin.add_user(
            USER, email="owner@example.com", tz="UTC", real_name="Primary Owner", is_primary_owner=True
        )
        yield standin


# -- what /metrics and the logs must show ------------------------------------------------------------------


def scrape(base: str) -> dict[str, float]:
    """``/metrics`` as {"name{labels}": value}."""
    response = requests.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5
    )
    assert response.status_code == 200, response.text
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[sample.name + json.dumps(dict(sorted(sample.labels.items())))] = sample.value
    return samples


def assert_webhook_counters_moved(before: dict[str, float], after: dict[str, float], accepted: int) -> None:
    """The web process counted the deliveries it received and accepted between the two scrapes."""

    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta('sprintwins_webhooks_received_total{"source": "jira"}') >= accepted
    accepted_key = 'sprintwins_webhooks_total{"outcome": "accepted", "reason": "", "source": "jira"}'
    assert delta(accepted_key) >= accepted, {k: v for k, v in after.items() if "webhooks" in k}


def assert_one_request_id_from_webhook_to_post(logs: list[dict[str, Any]], request_id: str) -> None:
    """The id sent with a Jira delivery is on the web process's line for it, on the drain job that
    recorded its win in a worker, and on the job that posted the win to the team's Slack channel."""
    mine = [line for line in logs if line.get("request_id") == request_id]
    web = [line for line in mine if line["_file"].startswith("web.")]
    assert any(line.get("path") == "/webhooks/jira" and line.get("status") == 202 for line in web), mine
    jobs = {line.get("job") for line in mine if line.get("event") == "job processed"}
    assert {"jobs.inbox.drain_inbox", "jobs.celebrations.post_live_celebrations"} <= jobs, jobs
    assert all(line["_file"].startswith("worker-") for line in mine if line.get("job")), mine


def scheduled_digests(standin: SlackStandIn) -> list[dict[str, Any]]:
    """The digests posted to the channel (its live celebrations travel the same way, keyed apart)."""
    found = []
    for call in standin.calls_to("chat.postMessage"):
        metadata = call.params.get("metadata") or {}
        metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
        key = str(metadata.get("event_payload", {}).get("period_key", ""))
        if call.params.get("channel") == CHANNEL and key and not key.startswith(LIVE_KEY_PREFIX):
            found.append(metadata)
    return found


# -- the test --------------------------------------------------------------------------------------------


def test_every_acknowledged_delivery_is_one_win_while_each_process_is_stopped_and_replaced(
    make_app: AppFactory, postgres_url: str, redis_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    app = make_app("postgres", redis=redis_url)  # empties the tables; its database reads the outcome
    database = runtime_of(app).database
    deployment = Shape(
        shape.shape_env(postgres_url, redis_url, standin, tmp_path), tmp_path, live.free_port()
    )
    try:
        deployment.start("web")
        deployment.start("worker-1")
        deployment.start("worker-2")
        base = deployment.base
        session = requests.Session()

        # The team comes with its first delivery; the channel is connected and a digest scheduled
        # for a minute ago (every day, even when empty), so the scheduler's first tick finds it due.
        assert shape.post_delivery(session, base, *shape.resolved_delivery(0, int(time.time() * 1000))).ok
        live.wait_until(lambda: any(True for _ in shape.api_wins(base, "ticket")), 30, "no first win")
        shape.slack_command(base, standin, "/sprintwins", f"connect {TEAM}")
        live.wait_until(lambda: len(standin.responses()) >= 1, 30, "no answer to connect")
        due = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%H:%M")
        shape.slack_command(
            base, standin, "/sprintwins", f"digest daily {due} include-weekends post-when-empty"
        )
        live.wait_until(lambda: len(standin.responses()) >= 2, 30, "no answer to the schedule")
        assert "daily" in json.dumps(standin.responses()[-1])
        shape.slack_command(base, standin, "/sprintwins", "live all")  # every win is announced as it comes
        live.wait_until(lambda: len(standin.responses()) >= 3, 30, "no answer to live")
        deployment.start("scheduler")

        # A Slack /win, through the web process and a worker, to a win and its reply.
        shape.slack_command(base, standin, "/win", "shipped the production shape", request_id="prod-slack-1")

        load = JiraLoad(base, first=1, count=LOAD_DELIVERIES, per_second=LOAD_PER_SECOND)
        load.start()
        stop_times: dict[str, float] = {}
        sent_at_stop: dict[str, int] = {}
        for name, share in (("worker-1", 0.15), ("scheduler", 0.3), ("web", 0.45), ("worker-2", 0.6)):
            sent_before = share * LOAD_DELIVERIES
            live.wait_until(lambda: load.sent >= sent_before, 60, f"load stalled before {name}")  # noqa: B023
            sent_at_stop[name] = load.sent
            stop_times[name] = deployment.restart(name)
        load.join(timeout=120)
        for name in stop_times:
            deployment.wait_started(name)
        # Each process was stopped while deliveries were still coming.
        assert all(0 < sent < LOAD_DELIVERIES for sent in sent_at_stop.values()), sent_at_stop
        assert load.failure is None, load.failure
        assert len(load.acknowledged) == LOAD_DELIVERIES

        # Every acknowledged delivery becomes exactly one win, visible in the API.
        expected = Counter(load.acknowledged.values())
        expected[f"{shape.PROJECT}-0"] += 1

        def ticket_keys() -> Counter[str]:
            return Counter(win["source_key"] for win in shape.api_wins(base, "ticket"))

        live.wait_until(lambda: ticket_keys() == expected, 60, "not every acknowledged delivery is a win")
        with database.sessions() as db:
            rows = db.execute(select(InboundEvent.delivery_id, InboundEvent.state)).all()
        states = {delivery_id: state for delivery_id, state in rows}
        assert len(rows) == len(states)  # one row per delivery id
        assert all(states[d] == InboxState.PROCESSED for d in load.acknowledged)

        # The Slack command's win and reply; the scheduled digest in the channel.
        live.wait_until(lambda: any(True for _ in shape.api_wins(base, "manual")), 30, "no /win win")
        assert any("shipped the production shape" in json.dumps(r) for r in standin.responses())
        live.wait_until(lambda: scheduled_digests(standin) != [], 60, "no digest was posted")

        # The web process that runs now (its counters start afresh) counts a delivery, which is
        # followed by its request id from the webhook to the live post of its win. Live posts coalesce
        # into one waiting job per team, which carries the request id of whoever asked first, and the
        # scheduler's minute tick may ask in the moment between the check below and the delivery's batch:
        # then that job carries the tick's id, and a second delivery is traced (at most three).
        for attempt in range(1, TRACE_ATTEMPTS + 1):
            traced = f"prod-trace-{attempt}"
            n = LOAD_DELIVERIES + attempt
            if _traced_to_its_live_post(deployment, session, base, redis_url, n, traced):
                break
        else:
            raise AssertionError(f"no live celebration job carried a traced id in {TRACE_ATTEMPTS} tries")
        assert_one_request_id_from_webhook_to_post(deployment.logs(), traced)
        print(f"stop times: {stop_times}; sent at each stop: {sent_at_stop}; retries: {load.retries}")
    finally:
        deployment.stop_all()


TRACE_ATTEMPTS = 3


def _traced_to_its_live_post(
    deployment: Shape, session: requests.Session, base: str, redis_url: str, n: int, request_id: str
) -> bool:
    """Post delivery ``n`` with ``request_id`` once no live celebration job waits; True when the live
    celebration job its batch asked for ran under that id."""
    flags = Redis.from_url(redis_url)
    try:
        live.wait_until(
            lambda: not flags.keys("sprintwins:flag:live-celebrations:*"),
            COALESCE_TTL_S + 30,
            "a live celebration job still waits",
        )
    finally:
        flags.close()
    traced_id, traced_body = shape.resolved_delivery(n, int(time.time() * 1000))
    before = scrape(base)
    assert shape.post_delivery(session, base, traced_id, traced_body, request_id=request_id).ok
    assert_webhook_counters_moved(before, scrape(base), accepted=1)
    live.wait_until(
        lambda: any(w["source_key"] == f"{shape.PROJECT}-{n}" for w in shape.api_wins(base, "ticket")),
        30,
        "the traced delivery is no win",
    )
    try:
        live.wait_until(
            lambda: any(
                line.get("job") == "jobs.celebrations.post_live_celebrations"
                and line.get("request_id") == request_id
                for line in deployment.logs()
            ),
            60,
            "no live celebration job ran for the traced delivery",
        )
    except AssertionError:
        return False
    return True
