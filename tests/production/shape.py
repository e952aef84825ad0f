"""The production shape on one machine: ``sprintwins serve`` (gunicorn), job workers and the scheduler.

Every process is the real command against the real Postgres and Redis, with Slack played by the
local stand-in. ``restart`` sends SIGTERM to one process alone, as Kubernetes does in a rollout,
checks that it exits 0, and starts its successor.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from integrations.jira import signature
from tests import live
from tests.conftest import SECRET
from tests.jobs.helpers import issue_payload
from tests.standins.slack_api import SlackStandIn
from tests.web.slack.conftest import BOT_TOKEN, SIGNING_SECRET, command_fields, signed_headers

METRICS_TOKEN = "production-shape-metrics-token"
API_TOKEN = "production-shape-api-token"  # production's /api/v1 wants a token, even from this machine
PROJECT = "PROD"
TEAM = "prod"


@dataclass
class Shape:
    """The processes of one deployment, by name (web, worker-1, worker-2, scheduler)."""

    env: dict[str, str]
    log_dir: Path
    port: int
    web_workers: int = 2
    processes: dict[str, live.LiveProcess] = field(default_factory=dict)
    generations: dict[str, int] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, name: str, *, wait: bool = True) -> live.LiveProcess:
        generation = self.generations.get(name, 0) + 1
        self.generations[name] = generation
        label = f"{name}.{generation}"
        if name == "web":
            args = ["serve", "--port", str(self.port), "--workers", str(self.web_workers), "--threads", "4"]
        else:
            args = [name.split("-")[0]]
        self.processes[name] = live.start(label, args, self.env, self.log_dir)
        if wait:
            self.wait_started(name)
        return self.processes[name]

    def wait_started(self, name: str) -> None:
        """Started means working: gunicorn answers /readyz, RQ listens on its queue, the scheduler loops."""
        process = self.processes[name]
        if name == "web":
            live.wait_until(lambda: live.ready(self.port), 60, f"{process.name} did not start", process)
            return
        marker = "Listening on" if name.startswith("worker") else "scheduler started"
        live.wait_until(lambda: marker in process.output(), 60, f"{process.name} did not start", process)

    def restart(self, name: str) -> float:
        """SIGTERM ``name``, which must exit 0, and start its successor without waiting for it to be up.

        Returns the seconds the stopped process took to exit.
        """
        self.wait_started(name)  # a process stopped before it started has nothing to show
        asked = time.monotonic()
        status = self.processes[name].stop(signal.SIGTERM, timeout=60)
        took = time.monotonic() - asked
        assert status == 0, f"{name} exited with {status}\n{self.processes[name].output()[-3000:]}"
        self.start(name, wait=False)
        return took

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.kill_group()

    def logs(self) -> list[dict[str, Any]]:
        """Every JSON log line every process of the run wrote, in file order."""
        lines = []
        for path in sorted(self.log_dir.glob("*.log")):
            for text in path.read_text(errors="replace").splitlines():
                if text.startswith("{"):
                    try:
                        lines.append({**json.loads(text), "_file": path.name})
                    except json.JSONDecodeError:
                        continue
        return lines


def shape_env(postgres_url: str, redis_url: str, standin: SlackStandIn, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SPRINTWINS_ENV": "production",
        "SPRINTWINS_DATABASE_URL": postgres_url,
        "SPRINTWINS_REDIS_URL": redis_url,
        "SPRINTWINS_JIRA_WEBHOOK_SECRET": SECRET,
        "SPRINTWINS_SLACK_BOT_TOKEN": BOT_TOKEN,
        "SPRINTWINS_SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SPRINTWINS_SLACK_API_URL": standin.url + "/api/",
        "SPRINTWINS_METRICS_TOKEN": METRICS_TOKEN,
        "SPRINTWINS_API_TOKEN": API_TOKEN,
        "SPRINTWINS_LOG_FORMAT": "json",
        "SPRINTWINS_LOG_LEVEL": "INFO",
        "SPRINTWINS_LOG_REQUESTS": "true",
        # Rows a stopped process left behind are found within seconds, not the production minute.
        "SPRINTWINS_SWEEP_INTERVAL_SECONDS": "5",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }


# -- Jira ------------------------------------------------------------------------------------------------


def resolved_delivery(n: int, timestamp_ms: int) -> tuple[str, bytes]:
    payload = issue_payload(
        "webhook-issue-updated-resolved.json", key=f"{PROJECT}-{n}", timestamp=timestamp_ms
    )
    return f"prod-{n}", json.dumps(payload).encode()


def post_delivery(
    session: requests.Session, base: str, delivery_id: str, body: bytes, request_id: str | None = None
) -> requests.Response:
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature": signature.sign(SECRET, body),
        "X-Atlassian-Webhook-Identifier": delivery_id,
    }
    if request_id:
        headers["X-Request-Id"] = request_id
    return session.post(f"{base}/webhooks/jira", data=body, headers=headers, timeout=10)


class JiraLoad(threading.Thread):
    """Jira's side: each delivery is sent until it is acknowledged (202), as Jira retries.

    A refused connection or a 5xx (a web process stopping or starting) is retried with the same
    delivery id, so a delivery stored before its answer was lost becomes a duplicate, not a double.
    """

    def __init__(self, base: str, first: int, count: int, per_second: float, senders: int = 4) -> None:
        super().__init__(name="jira-load", daemon=True)
        self.base = base
        self.numbers = list(range(first, first + count))
        self.per_second = per_second
        self.senders = senders
        self.acknowledged: dict[str, str] = {}  # delivery id -> issue key
        self.retries = 0
        self.sent = 0
        self.failure: BaseException | None = None
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            threads = [threading.Thread(target=self._send, args=(i,)) for i in range(self.senders)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        except BaseException as error:  # reported to the test, which asserts on it
            self.failure = error

    def _send(self, index: int) -> None:
        session = requests.Session()
        start = time.monotonic()
        mine = self.numbers[index :: self.senders]
        for position, n in enumerate(mine):
            due = start + (position * self.senders + index) / self.per_second
            time.sleep(max(0.0, due - time.monotonic()))
            delivery_id, body = resolved_delivery(n, int(time.time() * 1000))
            deadline = time.monotonic() + 60
            while True:
                try:
                    response = post_delivery(session, self.base, delivery_id, body)
                    if response.status_code == 202:
                        break
                    assert response.status_code >= 500, (
                        f"{delivery_id}: {response.status_code} {response.text}"
                    )
                except requests.ConnectionError:
                    session = requests.Session()  # the web process went away: a new connection
                with self._lock:
                    self.retries += 1
                assert time.monotonic() < deadline, f"{delivery_id} was never acknowledged"
                time.sleep(0.2)
            with self._lock:
                self.acknowledged[delivery_id] = f"{PROJECT}-{n}"
                self.sent += 1


# -- Slack -----------------------------------------------------------------------------------------------


def slack_command(
    base: str, standin: SlackStandIn, command: str, text: str, request_id: str | None = None
) -> str:
    """POST a signed slash command; returns the name of its response_url at the stand-in."""
    name = f"{command.strip('/')}-{uuid.uuid4().hex[:8]}"
    fields = command_fields(command, text, response_url=standin.response_url(name), trigger_id=f"1.{name}")
    body = urlencode(fields)
    headers = signed_headers(body, "application/x-www-form-urlencoded")
    if request_id:
        headers["X-Request-Id"] = request_id
    response = requests.post(f"{base}/slack/events", data=body.encode(), headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return name


# -- the API ---------------------------------------------------------------------------------------------


def api_wins(base: str, kind: str) -> Iterator[dict[str, Any]]:
    """Every win of ``kind`` the API lists for the team, page by page."""
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"kind": kind, "limit": 500}
        if cursor:
            params["cursor"] = cursor
        response = requests.get(
            f"{base}/api/v1/teams/{TEAM}/wins",
            params=params,
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            timeout=10,
        )
        if response.status_code == 404:
            return  # the team is made by its first event
        assert response.status_code == 200, response.text
        page = response.json()
        yield from page["wins"]
        cursor = page.get("next_cursor")
        if not cursor:
            return
