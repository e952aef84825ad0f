"""Jobs, parked rows, recomputes, Slack posts, 429s and retries move their counters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from integrations.slack.poster import ChannelPacer, SlackPoster
from jobs.queue import InProcessJobQueue
from service.observability.metrics import metrics
from service.settings import Settings
from tests.conftest import AppFactory, post_jira
from tests.jobs.helpers import issue_payload, run_jobs
from tests.standins.slack_api import SlackStandIn

T0 = 1_763_900_000_000


def sample(name: str, **labels: str) -> float:
    metrics()  # registered before the first read
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(rate_per_channel_per_s=1.0) as server:
        yield server


def test_slack_429s_and_retries_are_counted(standin: SlackStandIn) -> None:
    settings = Settings.from_env({}, slack_api_url=standin.url + "/api/")
    poster = SlackPoster(settings, lambda team, enterprise: "xoxb-metrics", pacer=ChannelPacer(interval_s=0))
    limited, rate_retries = (
        sample("sprintwins_slack_rate_limited_total"),
        sample("sprintwins_slack_retries_total", reason="rate_limited"),
    )
    server_retries = sample("sprintwins_slack_retries_total", reason="server_error")

    for n in range(2):
        poster.post_message("T1", "C0METRICS", text=f"message {n}")  # the second is answered 429 first
    standin.fail_next("chat.postMessage", status=500)
    poster.post_message("T1", "C0OTHER", text="after a server error")

    assert standin.rejected_429_count() >= 1
    assert sample("sprintwins_slack_rate_limited_total") - limited == standin.rejected_429_count()
    assert sample("sprintwins_slack_retries_total", reason="rate_limited") - rate_retries == (
        standin.rejected_429_count()
    )
    assert sample("sprintwins_slack_retries_total", reason="server_error") - server_retries == 1


def _succeeds() -> None:
    return None


def _fails() -> None:
    raise RuntimeError("this job always fails")


def test_in_process_jobs_are_counted_by_job_and_outcome() -> None:
    queue = InProcessJobQueue(retries=2)
    ok_name, bad_name = f"{__name__}._succeeds", f"{__name__}._fails"
    before_ok = sample("sprintwins_jobs_total", job=ok_name, outcome="processed")
    before_bad = sample("sprintwins_jobs_total", job=bad_name, outcome="failed")

    queue.enqueue(_succeeds)
    queue.enqueue(_fails)
    assert queue.wait_idle(30)

    assert sample("sprintwins_jobs_total", job=ok_name, outcome="processed") - before_ok == 1
    assert sample("sprintwins_jobs_total", job=bad_name, outcome="failed") - before_bad == 2  # each attempt


def test_a_parked_row_a_drain_and_a_recompute_are_counted(make_app: AppFactory) -> None:
    app = make_app("sqlite")
    client = app.test_client()
    parked = sample("sprintwins_inbox_parked_total", reason="unparseable")
    drains = sample("sprintwins_jobs_total", job="jobs.inbox.drain_inbox", outcome="processed")
    recomputes = sample("sprintwins_recompute_seconds_count")

    good = issue_payload(
        "webhook-issue-updated-resolved.json", key="MET-1", timestamp=T0, assignee=("a-1", "Ada")
    )
    poison = issue_payload(
        "webhook-issue-updated-resolved.json", key="MET-2", timestamp=T0, assignee=("a-1", "Ada")
    )
    poison["issue"]["key"] = "K" * 30 + "-" + "1" * 40  # longer than any issue key: refused by the parser
    assert post_jira(client, good, delivery_id="met-good").status_code == 202
    assert post_jira(client, poison, delivery_id="met-poison").status_code == 202
    run_jobs(app)

    assert sample("sprintwins_inbox_parked_total", reason="unparseable") - parked == 1
    assert sample("sprintwins_jobs_total", job="jobs.inbox.drain_inbox", outcome="processed") - drains >= 1
    assert sample("sprintwins_recompute_seconds_count") - recomputes >= 1
