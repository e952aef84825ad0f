"""Shared pieces of the benchmarks: the bench database and Redis, payloads, servers, results.

Everything here is for ``bench/`` only: it targets 127.0.0.1, and every loop has a count and a deadline.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import requests
from redis import Redis

from integrations.jira import signature

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
# Real Jira Cloud payloads: the payload corpus beside the checkout, as the tests read it.
PAYLOADS = Path(os.environ.get("SPRINTWINS_CORPUS", REPO.parent / "shared" / "corpus")) / "jira"
PYTHON = sys.executable

POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BENCH_DB = os.environ.get("BENCH_DB", "sprintwins_bench")
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
BENCH_SECRET = "bench-secret-not-for-production"
SITE = "https://bench-site.atlassian.net"
PROJECTS = (("ALPHA", "Alpha squad"), ("BRAVO", "Bravo squad"), ("CHAR", "Charlie squad"), ("DELTA", "Delta"))
SPRINTS_PER_PROJECT = 3


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- services --------------------------------------------------------------------------------------------


def database_url(name: str = BENCH_DB) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def bench_env(**extra: str) -> dict[str, str]:
    """The environment every process of a run gets: the bench database, Redis db and secret."""
    env = dict(os.environ)
    env.update(
        SPRINTWINS_ENV="production",
        SPRINTWINS_DATABASE_URL=database_url(),
        SPRINTWINS_REDIS_URL=BENCH_REDIS_URL,
        SPRINTWINS_JIRA_WEBHOOK_SECRET=BENCH_SECRET,
        SPRINTWINS_BENCH_ENDPOINTS="1",
        SPRINTWINS_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def recreate_database() -> None:
    """Drop and create the bench database, then apply the migrations with ``sprintwins db upgrade``."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{BENCH_DB}"')
    subprocess.run(
        [PYTHON, "-m", "service.cli.main", "db", "upgrade"],
        env=bench_env(),
        check=True,
        cwd=REPO,
        timeout=120,
    )


def empty_tables() -> None:
    """Every table but the schema version and the implicit workspace, so each repetition starts alike."""
    with psycopg.connect(database_url(), autocommit=True) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename NOT IN ('alembic_version', 'workspaces')"
            )
        ]
        connection.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        # The migration's row, which every install has (later ones are the bench's own, if any).
        if connection.execute("SELECT to_regclass('public.workspaces')").fetchone() != (None,):
            connection.execute("DELETE FROM workspaces WHERE id <> 1")
        connection.execute("VACUUM ANALYZE")


def flush_redis() -> None:
    client = Redis.from_url(BENCH_REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def scalar(sql: str, *params: Any) -> Any:
    with psycopg.connect(database_url(), autocommit=True) as connection:
        row = connection.execute(sql, params).fetchone()
        return None if row is None else row[0]


def postgres_settings() -> dict[str, str]:
    names = ("fsync", "synchronous_commit", "shared_buffers", "max_connections", "server_version")
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        return {name: str(connection.execute(f"SHOW {name}").fetchone()[0]) for name in names}  # type: ignore[index]


# -- servers ---------------------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    workers: int
    threads: int


@contextmanager
def running_server(
    workers: int,
    threads: int,
    port: int = 8765,
    ready_timeout: float = 60.0,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """``sprintwins serve`` in its own process group (``env``: ``bench_env()`` unless given), stopped
    (group and all) on the way out."""
    base = f"http://127.0.0.1:{port}"
    command = [PYTHON, "-m", "service.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--threads", str(threads)]
    process = subprocess.Popen(command, env=env or bench_env(), cwd=REPO, start_new_session=True)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with status {process.returncode}")
            try:
                if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server was not ready within {ready_timeout:.0f} s")
            time.sleep(0.2)
        yield Server(process, base, workers, threads)
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM the group we started (gunicorn's master and its workers), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def child_pids(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


# -- payloads --------------------------------------------------------------------------------------------


def template(name: str) -> dict[str, Any]:
    path = PAYLOADS / f"webhook-issue-updated-{name}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"the payload corpus is expected at {PAYLOADS.parent} (set SPRINTWINS_CORPUS)"
        )
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


@dataclass(frozen=True)
class Issue:
    number: int
    project: str
    project_name: str

    @property
    def key(self) -> str:
        return f"{self.project}-{self.number}"

    @property
    def issue_id(self) -> str:
        return str(100_000 + self.number)


def sprint_ref(project_index: int, n: int) -> dict[str, Any]:
    sprint_id = 1000 + project_index * 10 + n
    return {
        "id": sprint_id,
        "self": f"{SITE}/rest/agile/1.0/sprint/{sprint_id}",
        "state": "active",
        "name": f"{PROJECTS[project_index][0]} Sprint {n}",
        "startDate": "2026-11-09T09:00:00.000Z",
        "endDate": "2026-11-23T09:00:00.000Z",
        "boardId": 10 + project_index,
        "goal": "Ship it",
    }


def issue_payload(
    base: dict[str, Any],
    issue: Issue,
    timestamp_ms: int,
    *,
    assignee: int,
    points: float,
    sprint: dict[str, Any] | None,
) -> dict[str, Any]:
    """A real payload (resolved, reopened, started-working or sprint) re-addressed to another issue.

    Key, id, self, summary, assignee, points and timestamp vary.
    """
    payload = copy.deepcopy(base)
    payload["timestamp"] = timestamp_ms
    payload_issue = payload["issue"]
    payload_issue["key"] = issue.key
    payload_issue["id"] = issue.issue_id
    payload_issue["self"] = f"{SITE}/rest/api/2/issue/{issue.issue_id}"
    fields = payload_issue["fields"]
    fields["summary"] = f"Benchmark work item {issue.key}: make step {issue.number % 97} faster"
    fields["customfield_10016"] = points
    fields["customfield_10020"] = [sprint] if sprint else None
    fields["assignee"] = {
        "accountId": f"bench-account-{assignee:03d}",
        "displayName": f"Bench Person {assignee}",
        "active": True,
    }
    project = fields.setdefault("project", {})
    project["key"] = issue.project
    project["name"] = issue.project_name
    return payload


def signed(body: bytes) -> str:
    return signature.sign(BENCH_SECRET, body)


@dataclass(frozen=True)
class PlannedDelivery:
    delivery_id: str
    event_type: str
    body: str
    timestamp_ms: int
    issue_key: str
    complete: bool


# Issue histories and their share of issues. Each step is (payload template, completes the issue?).
STORIES: tuple[tuple[float, tuple[str, ...]], ...] = (
    (0.55, ("resolved",)),
    (0.13, ("started-working", "resolved")),
    (0.08, ("resolved", "resolved")),  # the same completion delivered again later (e.g. Done -> Closed)
    (0.08, ("sprint", "resolved")),  # moved to the next sprint, then done
    (0.07, ("resolved", "reopened")),
    (0.04, ("resolved", "reopened", "resolved")),
    (0.05, ("started-working",)),
)
COMPLETES = {"resolved": True, "reopened": False, "started-working": False, "sprint": False}


def plan_deliveries(count: int, seed: int, prefix: str) -> list[PlannedDelivery]:
    """``count`` deliveries about distinct issues, in a realistic mix, in (nearly) timestamp order.

    A few neighbours are swapped, because Jira delivers late and out of order.
    """
    rng = random.Random(seed)
    templates = {name: template(name) for name in COMPLETES}
    weights = [w for w, _ in STORIES]
    start_ms = int(datetime(2026, 11, 16, 9, tzinfo=UTC).timestamp() * 1000)
    planned: list[PlannedDelivery] = []
    number = 0
    while len(planned) < count:
        number += 1
        project_index = rng.randrange(len(PROJECTS))
        issue = Issue(number, *PROJECTS[project_index])
        sprint_n = rng.randrange(1, SPRINTS_PER_PROJECT + 1)
        in_sprint = rng.random() < 0.6
        steps = rng.choices(STORIES, weights)[0][1][: count - len(planned)]
        when = start_ms + number * 250
        for step_index, step in enumerate(steps):
            when += rng.randrange(60_000, 3_600_000)  # minutes to an hour between a ticket's events
            base = templates[step]
            sprint = sprint_ref(project_index, sprint_n) if in_sprint or step == "sprint" else None
            if step == "sprint":
                sprint_n = sprint_n % SPRINTS_PER_PROJECT + 1
                sprint = sprint_ref(project_index, sprint_n)
                base = copy.deepcopy(base)
                item = base["changelog"]["items"][0]
                item["fromString"] = sprint_ref(project_index, (sprint_n - 2) % SPRINTS_PER_PROJECT + 1)[
                    "name"
                ]
                item["toString"] = sprint["name"]
            payload = issue_payload(
                base,
                issue,
                when,
                assignee=rng.randrange(24),
                points=float(rng.choice((1, 2, 3, 5, 8))),
                sprint=sprint,
            )
            planned.append(
                PlannedDelivery(
                    delivery_id=f"{prefix}-{issue.key}-{step_index}",
                    event_type=payload["webhookEvent"],
                    body=json.dumps(payload, separators=(",", ":")),
                    timestamp_ms=when,
                    issue_key=issue.key,
                    complete=COMPLETES[step],
                )
            )
    planned.sort(key=lambda d: d.timestamp_ms)
    for i in range(0, len(planned) - 1, 50):  # one swapped pair in fifty: late deliveries
        planned[i], planned[i + 1] = planned[i + 1], planned[i]
    return planned


def expected_active_wins(planned: Sequence[PlannedDelivery]) -> int:
    """An issue ends as an active win when its latest event (by timestamp) says it is done."""
    latest: dict[str, PlannedDelivery] = {}
    for delivery in planned:
        seen = latest.get(delivery.issue_key)
        if seen is None or delivery.timestamp_ms > seen.timestamp_ms:
            latest[delivery.issue_key] = delivery
    return sum(1 for d in latest.values() if d.complete)


# -- results ---------------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    (RESULTS / f"{name}-latest.json").write_text(path.read_text())
    return path


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text().split("\n")[0].split()
    return {
        "cpus": os.cpu_count(),
        "mem_gib": round(int(meminfo[1]) / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "postgres": postgres_settings(),
    }
