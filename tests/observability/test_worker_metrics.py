"""A real ``sprintwins worker`` serves its own /metrics port: the jobs it ran, counted as RQ reported them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests import live
from tests.conftest import AppFactory, load_jira, post_jira


def drains_processed(port: int) -> float:
    try:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except requests.RequestException:
        return 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "sprintwins_jobs_total" and sample.labels == {
                "job": "jobs.inbox.drain_inbox",
                "outcome": "processed",
            }:
                return sample.value
    return 0.0


@pytest.mark.redis
def test_the_worker_counts_the_jobs_it_ran_on_its_metrics_port(
    make_app: AppFactory, redis_url: str, tmp_path: Path
) -> None:
    app = make_app("sqlite", redis=redis_url, drain_request_interval_ms=0)
    delivered = post_jira(app.test_client(), load_jira("webhook-issue-created.json"), delivery_id="w-1")
    assert delivered.status_code == 202  # its drain job now waits in Redis

    port = live.free_port()
    env = {
        **os.environ,
        "SPRINTWINS_ENV": "test",
        "SPRINTWINS_DATABASE_URL": f"sqlite:///{tmp_path / 'sprintwins.db'}",
        "SPRINTWINS_REDIS_URL": redis_url,
        "SPRINTWINS_METRICS_PORT": str(port),
        "SPRINTWINS_LOG_FORMAT": "json",
    }
    worker = live.start("worker", ["worker"], env, tmp_path)
    try:
        live.wait_until(lambda: drains_processed(port) >= 1, 60, "the drain job counted", worker)
    finally:
        status = worker.stop()
        worker.kill_group()
    assert status == 0, worker.output()[-3000:]
    assert '"job processed"' in worker.output()
