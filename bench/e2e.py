"""Benchmark 6, end to end: from each webhook's 202 to its win in the API, on the production shape.

``sprintwins serve`` (gunicorn), two ``sprintwins worker`` processes and ``sprintwins scheduler`` on the
bench Postgres and Redis, as in production. Signed Jira deliveries arrive on a fixed timetable (the
open-loop client of ``bench.open_loop``), each resolving an issue of its own, so each becomes exactly
one win. A poller asks the JSON API for the teams' new wins every ``--poll-ms``; a win's latency is
the time from its delivery's ``received_at`` (the server stores it as it acknowledges, on the same
clock) to the first poll that saw the win, so it is overstated by up to one poll interval.

Each rate gets fresh processes, tables and Redis.

Usage: ``python -m bench.e2e [--rates 50,200,400] [--duration 60] [--poll-ms 100]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import requests

from bench import common, machine_load
from bench import open_loop as open_loop_client
from bench.common import log

WEBHOOK = "/webhooks/jira"


# -- the production shape ----------------------------------------------------------------------------------


@contextmanager
def production_shape(web_workers: int, threads: int, job_workers: int) -> Iterator[str]:
    """The web server, the job workers and the scheduler; every process group stopped on the way out."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        with common.running_server(web_workers, threads, port=_free_port()) as server:
            for _ in range(job_workers):
                started.append(_start(["worker"]))
            started.append(_start(["scheduler"]))
            time.sleep(2.0)  # the workers' start-up sweep and RQ's registration
            for process in started:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args} exited with status {process.returncode}")
            yield server.base_url
    finally:
        for process in started:
            common.stop_process_group(process)


def _free_port() -> int:
    """A port nobody listens on: a fixed one may be taken by another run on a shared machine."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [common.PYTHON, "-m", "service.cli.main", *args],
        env=common.bench_env(),
        cwd=common.REPO,
        start_new_session=True,
    )


# -- deliveries ------------------------------------------------------------------------------------------


def delivery_requests(url: str, count: int, start_ms: int, prefix: str) -> list[bytes]:
    """``count`` signed deliveries, each resolving an issue of its own (one win each), pre-built.

    The payload timestamps grow with the index, so the API's newest-first order is the sending order.
    """
    where = open_loop_client.target(url)
    base = _resolved_template()
    built = []
    for i in range(count):
        project_index = i % len(common.PROJECTS)
        issue = common.Issue(i + 1, *common.PROJECTS[project_index])
        payload = common.issue_payload(base, issue, start_ms + i, assignee=i % 24, points=3.0, sprint=None)
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("X-Hub-Signature", common.signed(body)),
            ("X-Atlassian-Webhook-Identifier", f"{prefix}-{i}"),
        ]
        built.append(open_loop_client.build_request(where, headers, body))
    return built


def _resolved_template() -> dict[str, Any]:
    """The real "issue resolved" payload, from the payload corpus."""
    return common.template("resolved")


# -- watching the API ------------------------------------------------------------------------------------


class WinWatcher(threading.Thread):
    """Polls the API for each team's wins from the oldest one not seen yet; records when each appears."""

    def __init__(self, base: str, start_ms: int, poll_s: float) -> None:
        super().__init__(name="win-watcher", daemon=True)
        self.base = base
        self.start_ms = start_ms
        self.poll_s = poll_s
        self.seen: dict[str, float] = {}  # issue key -> wall-clock time of the first poll that saw it
        self.polls = 0
        self._expected: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._session = requests.Session()

    def expect(self, keys: set[str]) -> None:
        with self._lock:
            self._expected = set(keys)

    def missing(self) -> int:
        with self._lock:
            return len(self._expected - self.seen.keys())

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        slugs: list[str] = []
        while not self._stopping.is_set():
            polled_at = time.time()
            try:
                if len(slugs) < len(common.PROJECTS):
                    teams = self._session.get(f"{self.base}/api/v1/teams", timeout=10).json()["teams"]
                    slugs = [team["slug"] for team in teams]
                since = self._oldest_unseen_ms()
                for slug in slugs:
                    for win in self._wins_since(slug, since):
                        self.seen.setdefault(win["source_key"], polled_at)
            except (requests.RequestException, KeyError, ValueError) as error:
                log(f"poll failed: {error!r}")
            self.polls += 1
            self._stopping.wait(max(0.0, polled_at + self.poll_s - time.time()))

    def _oldest_unseen_ms(self) -> int:
        """Wins are timestamped start_ms + index: ask only from the oldest expected one not seen."""
        with self._lock:
            unseen = self._expected - self.seen.keys()
        if not unseen:
            return int(time.time() * 1000)  # nothing awaited: a cheap, empty page
        return self.start_ms + min(int(key.rsplit("-", 1)[1]) for key in unseen) - 1

    def _wins_since(self, slug: str, since_ms: int) -> Iterator[dict[str, Any]]:
        since = datetime.fromtimestamp(since_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
        cursor: str | None = None
        while True:
            params = {"kind": "ticket", "limit": "500", "since": since}
            if cursor:
                params["cursor"] = cursor
            page = self._session.get(
                f"{self.base}/api/v1/teams/{slug}/wins", params=params, timeout=10
            ).json()
            yield from page["wins"]
            cursor = page.get("next_cursor")
            if not cursor:
                return


# -- one rate --------------------------------------------------------------------------------------------


def bench_rate(rate: float, args: argparse.Namespace) -> dict[str, Any]:
    prefix = f"e2e-{int(rate)}"
    count = int(rate * args.duration)
    common.empty_tables()
    common.flush_redis()
    with production_shape(args.web_workers, args.threads, args.job_workers) as base:
        start_ms = int(time.time() * 1000)
        built = delivery_requests(base + WEBHOOK, count, start_ms, prefix)
        keys = {f"{common.PROJECTS[i % len(common.PROJECTS)][0]}-{i + 1}" for i in range(count)}
        watcher = WinWatcher(base, start_ms, args.poll_ms / 1000)
        watcher.expect(keys)
        machine_load.wait_for_quiet()
        foreign = machine_load.ForeignCpu()
        foreign.start()
        watcher.start()
        log(f"[{rate:g}/s] {count} deliveries over {args.duration:g} s")
        load = asyncio.run(
            open_loop_client.run(base + WEBHOOK, lambda i: built[i], rate, args.duration, args.connections)
        )
        deadline = time.monotonic() + args.drain_timeout
        while watcher.missing() and time.monotonic() < deadline:
            time.sleep(0.2)
        watcher.stop()
        watcher.join(timeout=30)
        foreign_cores = foreign.stop()
    received = _received_at(prefix)
    latencies = sorted(
        watcher.seen[key] - received[key] for key in keys if key in watcher.seen and key in received
    )
    acked = load["statuses"].get(202, 0)
    result = {
        "rate": rate,
        "deliveries": count,
        "acks": acked,
        "statuses": load["statuses"],
        "ack_p50_ms": load["p50_ms"],
        "ack_p99_ms": load["p99_ms"],
        "wins_seen": len(latencies),
        "missing": len(keys) - len(latencies),
        "polls": watcher.polls,
        "poll_ms": args.poll_ms,
        "median_s": _pct(latencies, 0.50),
        "p95_s": _pct(latencies, 0.95),
        "p99_s": _pct(latencies, 0.99),
        "max_s": latencies[-1] if latencies else float("nan"),
        "foreign_cores": round(foreign_cores, 3),
    }
    log(
        f"[{rate:g}/s] 202s {acked}/{count}, wins seen {len(latencies)}; 202 -> API: median "
        f"{result['median_s']:.3f} s, p95 {result['p95_s']:.3f} s, max {result['max_s']:.3f} s; "
        f"others used {foreign_cores:.2f} cores"
    )
    return result


def _received_at(prefix: str) -> dict[str, float]:
    """Issue key -> epoch seconds the server stored the delivery (its 202 follows the commit)."""
    with psycopg.connect(common.database_url(), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT delivery_id, received_at FROM inbound_events WHERE delivery_id LIKE %s", (prefix + "-%",)
        ).fetchall()
    out = {}
    for delivery_id, received_at in rows:
        i = int(delivery_id.rsplit("-", 1)[1])
        stamp = received_at if received_at.tzinfo else received_at.replace(tzinfo=UTC)
        out[f"{common.PROJECTS[i % len(common.PROJECTS)][0]}-{i + 1}"] = stamp.timestamp()
    return out


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="50,200,400", help="deliveries per second, comma-separated")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per rate")
    parser.add_argument("--poll-ms", type=float, default=100.0, help="how often the API is asked")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="wait for the last wins")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=6, help="threads per gunicorn process")
    parser.add_argument("--job-workers", type=int, default=2, help="sprintwins worker processes")
    parser.add_argument("--connections", type=int, default=64, help="client keep-alive connections")
    parser.add_argument("--skip-db-reset", action="store_true")
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]
    if not args.skip_db_reset:
        common.recreate_database()
    results = [bench_rate(rate, args) for rate in rates]
    summary = {
        "benchmark": "e2e",
        "date": time.strftime("%Y-%m-%d"),
        "machine": common.machine(),
        "params": vars(args),
        "rates": results,
        "goals": {f"p95<=1s@{r['rate']:g}": r["p95_s"] <= 1.0 for r in results},
    }
    path = common.write_results("e2e", summary)
    print(f"\ne2e results -> {path}")
    columns = ("rate/s", "202s", "wins", "median s", "p95 s", "p99 s", "max s", "others")
    print(" ".join(f"{name:>9}" for name in columns))
    for r in results:
        print(
            f"{r['rate']:>9g} {r['acks']:>9} {r['wins_seen']:>9} {r['median_s']:>9.3f} {r['p95_s']:>9.3f} "
            f"{r['p99_s']:>9.3f} {r['max_s']:>9.3f} {r['foreign_cores']:>9.2f}"
        )
    print(f"goals: {summary['goals']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
