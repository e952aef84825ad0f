"""Multi-process metrics under a real gunicorn with two workers: any worker answers for all of them,
a dead worker's live files are dropped, and the directory is fresh for each start and removed after."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from integrations.jira import signature
from tests import live
from tests.conftest import SECRET, load_jira

TOKEN = "live-metrics-token"


def scrape(base: str) -> dict[str, float]:
    response = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert response.status_code == 200, response.text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            key = sample.name + json.dumps(dict(sorted(sample.labels.items())))
            out[key] = sample.value
    return out


def received(samples: dict[str, float]) -> float:
    return samples.get('sprintwins_webhooks_received_total{"source": "jira"}', 0.0)


def processes(samples: dict[str, float]) -> float:
    return samples.get("sprintwins_processes{}", 0.0)


@pytest.mark.redis
def test_two_gunicorn_workers_count_into_one_page_and_a_dead_workers_files_go(
    tmp_path: Path, redis_url: str
) -> None:
    port = live.free_port()
    base = f"http://127.0.0.1:{port}"
    metrics_base = tmp_path / "metrics"
    env = {
        **os.environ,
        "SPRINTWINS_ENV": "test",
        "SPRINTWINS_DATABASE_URL": f"sqlite:///{tmp_path / 'sprintwins.db'}",
        "SPRINTWINS_REDIS_URL": redis_url,
        "SPRINTWINS_JIRA_WEBHOOK_SECRET": SECRET,
        "SPRINTWINS_METRICS_TOKEN": TOKEN,
        "SPRINTWINS_LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_base),
    }
    server = live.start_server("web", env, tmp_path, port=port, workers=2, threads=2)
    try:
        [run_dir] = metrics_base.iterdir()  # this start's own, fresh directory
        workers = live.children(server.pid)
        assert len(workers) == 2
        live.wait_until(lambda: processes(scrape(base)) == 2, 30, "both workers counted", server)

        body = json.dumps(load_jira("webhook-issue-created.json")).encode()
        for n in range(20):
            # A new connection each time, so both workers take some of them.
            answer = requests.post(
                f"{base}/webhooks/jira",
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature": signature.sign(SECRET, body),
                    "X-Atlassian-Webhook-Identifier": f"live-{n}",
                    "Connection": "close",
                },
                timeout=10,
            )
            assert answer.status_code == 202, answer.text
        for _ in range(5):  # whichever worker answers the scrape, it reports every worker's count
            assert received(scrape(base)) == 20

        victim = workers[0]
        assert (run_dir / f"gauge_livesum_{victim}.db").exists()
        os.kill(victim, signal.SIGKILL)
        live.wait_until(
            lambda: not (run_dir / f"gauge_livesum_{victim}.db").exists(),
            30,
            "the dead worker's file dropped",
        )
        live.wait_until(
            lambda: len([p for p in live.children(server.pid) if p != victim]) == 2,
            30,
            "a new worker",
            server,
        )
        live.wait_until(lambda: processes(scrape(base)) == 2, 30, "the new worker counted", server)
        assert received(scrape(base)) == 20  # the dead worker's counts are kept
    finally:
        status = server.stop()
        server.kill_group()
    assert status == 0, server.output()[-3000:]
    assert not run_dir.exists()  # removed when gunicorn exits
    log_lines = [line for line in server.output().splitlines() if line.startswith("{")]
    assert any(json.loads(line)["logger"].startswith("gunicorn") for line in log_lines)
