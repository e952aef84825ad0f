"""Benchmark: the dashboard and the JSON calls behind a team page, over 1,000,000 wins.

Seeds the bench database with ``bench.dashboard_data`` (50 teams, two years), starts ``sprintwins serve``
(gunicorn, production settings: Postgres, Redis, an API token), then times repeated sequential requests
over one kept-alive connection, in rounds: each round asks every URL once, so a slow moment on this
shared machine touches every URL alike. The no-op endpoint (``POST /_bench/noop``) is timed in the
same rounds: it is the floor (HTTP, gunicorn, Flask) that every other figure stands on. Each URL's
median and p95 are compared with its goal:

* each JSON call behind a team page (wins, sprints, a sprint's scope, streaks, challenges, rules, the
  live fragment, a sprint's export): p95 <= 50 ms;
* the whole team page rendered on the server: p95 <= 200 ms;
* the overview of every team: p95 <= 200 ms.

The full export (every win of a team, thousands) is timed too, as information: it has no goal.
``--wrk SECONDS`` adds a short concurrent run of the pages with wrk.

Usage: ``python -m bench.dashboard [--wins 1000000] [--teams 50] [--rounds 200] [--keep] [--wrk 10]``.
The database is ``$BENCH_DB`` (default ``sprintwins_bench_dashboard``); ``--keep`` reuses it when it
already holds the same number of wins, and leaves it in place.
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import requests

from bench import common, dashboard_data, machine_load

TOKEN = "bench-api-token-not-for-production"
PORT = 8766
JSON_GOAL_MS = 50.0
PAGE_GOAL_MS = 200.0


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    goal_ms: float | None  # None: timed for information
    method: str = "GET"
    holds: str = ""  # text a right answer contains: an empty list is fast but is not the figure wanted


def targets(url: str, slug: str) -> list[Target]:
    """The URLs to time for ``slug``: the floor, the team page's calls, the pages, the full export."""
    with psycopg.connect(url) as connection:
        team_id, newest = connection.execute(
            "SELECT t.id, max(w.id) FROM teams t JOIN wins w ON w.team_id = t.id WHERE t.slug = %s"
            " GROUP BY t.id",
            (slug,),
        ).fetchone() or (0, 0)
        sprint = connection.execute(
            "SELECT jira_id FROM sprints WHERE team_id = %s AND state = 'active'", (team_id,)
        ).fetchone()
        closed = connection.execute(
            "SELECT jira_id FROM sprints WHERE team_id = %s AND state = 'closed'"
            " ORDER BY start_at DESC LIMIT 1",
            (team_id,),
        ).fetchone()
        person = connection.execute(
            "SELECT member_id FROM wins WHERE team_id = %s AND member_id IS NOT NULL LIMIT 1", (team_id,)
        ).fetchone()
    current = sprint[0] if sprint else 0
    api = f"/api/v1/teams/{slug}"
    page_two = _second_page_cursor(url, team_id)
    return [
        Target("no-op (baseline)", "/_bench/noop", None, "POST"),
        Target("api: teams", "/api/v1/teams", JSON_GOAL_MS),
        Target("api: wins", f"{api}/wins?limit=25", JSON_GOAL_MS, holds='"kind"'),
        Target("api: wins, page 2", f"{api}/wins?limit=25&cursor={page_two}", JSON_GOAL_MS),
        Target("api: wins of a kind", f"{api}/wins?limit=25&kind=kudos", JSON_GOAL_MS),
        Target("api: sprints", f"{api}/sprints", JSON_GOAL_MS),
        Target("api: sprint scope", f"{api}/sprints/{current}/scope", JSON_GOAL_MS),
        Target("api: streaks", f"{api}/streaks", JSON_GOAL_MS),
        Target("api: challenges", f"{api}/challenges", JSON_GOAL_MS),
        Target("api: rules", f"{api}/rules", JSON_GOAL_MS),
        Target("live fragment", f"/teams/{slug}/live?after={newest}", JSON_GOAL_MS),
        Target(
            "export, running sprint",
            f"{api}/export?format=json&sprint={current}",
            JSON_GOAL_MS,
            holds='"kind"',
        ),
        Target("team page", f"/teams/{slug}", PAGE_GOAL_MS),
        Target("team page, one person", f"/teams/{slug}?person={person[0] if person else 1}", PAGE_GOAL_MS),
        Target(
            "team page, a past sprint", f"/teams/{slug}?sprint={closed[0] if closed else 0}", PAGE_GOAL_MS
        ),
        Target("overview (all teams)", "/", PAGE_GOAL_MS),
    ]


def _second_page_cursor(url: str, team_id: int) -> str:
    """The cursor the API hands out after the first 25 wins (the same encoding as ``encode_cursor``)."""
    import base64
    import json

    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT occurred_at, id FROM wins WHERE team_id = %s AND visibility <> 'private'"
            " ORDER BY occurred_at DESC, id DESC OFFSET 24 LIMIT 1",
            (team_id,),
        ).fetchone()
    if row is None:
        return ""
    raw = json.dumps([row[0].isoformat(), row[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def busiest_team(url: str) -> str:
    """The team with the most wins: the page with the most to read."""
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT t.slug FROM teams t JOIN wins w ON w.team_id = t.id GROUP BY t.slug"
            " ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    if row is None:
        raise RuntimeError("the bench database holds no wins")
    return str(row[0])


@contextmanager
def dashboard_server(url: str, workers: int, threads: int) -> Iterator[str]:
    """``sprintwins serve`` on the dashboard's database with an API token; stopped on the way out."""
    env = common.bench_env(SPRINTWINS_DATABASE_URL=url, SPRINTWINS_API_TOKEN=TOKEN)
    with common.running_server(workers, threads, port=PORT, env=env) as server:
        yield server.base_url


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``share`` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")


def time_rounds(base: str, chosen: list[Target], rounds: int, warmup: int) -> dict[str, list[float]]:
    """Milliseconds per request, ``rounds`` times over every target in turn, after ``warmup`` rounds."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {TOKEN}"
    timings: dict[str, list[float]] = {t.name: [] for t in chosen}
    deadline = time.monotonic() + 1800
    for n in range(warmup + rounds):
        for target in chosen:
            began = time.perf_counter()
            response = http.request(target.method, base + target.path, data=b"{}", timeout=30)
            elapsed = (time.perf_counter() - began) * 1000
            if response.status_code >= 300:
                raise RuntimeError(f"{target.name}: {target.path} answered {response.status_code}")
            if n == 0 and target.holds not in response.text:
                raise RuntimeError(f"{target.name}: {target.path} answered without {target.holds!r}")
            if n >= warmup:
                timings[target.name].append(elapsed)
        if time.monotonic() > deadline:
            common.log(f"stopped after {n + 1} rounds: the run's deadline passed")
            break
    http.close()
    return timings


def wrk_run(base: str, target: Target, seconds: int, connections: int) -> dict[str, Any]:
    """wrk's throughput and latency percentiles for one page, ``connections`` at once."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["-H", f"Authorization: Bearer {TOKEN}", base + target.path]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    found: dict[str, Any] = {"connections": connections}
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    found["requests_per_s"] = float(rate.group(1)) if rate else None
    for label in ("50%", "90%", "99%"):
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if match:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
            found[f"p{label[:-1]}_ms"] = round(float(match.group(1)) * scale, 1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    found["non_2xx"] = int(errors.group(1)) if errors else 0
    return found


def summarize(chosen: list[Target], timings: dict[str, list[float]]) -> list[dict[str, Any]]:
    floor = common.median(timings[chosen[0].name])
    rows = []
    for target in chosen:
        values = timings[target.name]
        p95 = percentile(values, 0.95)
        rows.append(
            {
                "name": target.name,
                "path": target.path,
                "n": len(values),
                "median_ms": round(common.median(values), 2),
                "p95_ms": round(p95, 2),
                "max_ms": round(max(values), 2),
                "median_over_floor_ms": round(common.median(values) - floor, 2),
                "goal_p95_ms": target.goal_ms,
                "meets_goal": None if target.goal_ms is None else p95 <= target.goal_ms,
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'URL':<28} {'n':>4} {'median':>8} {'p95':>8} {'max':>8} {'-floor':>8} {'goal':>6}  ok")
    for r in rows:
        goal = "" if r["goal_p95_ms"] is None else f"{r['goal_p95_ms']:.0f}"
        ok = "" if r["meets_goal"] is None else ("yes" if r["meets_goal"] else "NO")
        print(
            f"{r['name']:<28} {r['n']:>4} {r['median_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['max_ms']:>8.1f}"
            f" {r['median_over_floor_ms']:>8.1f} {goal:>6}  {ok}"
        )
    print("(milliseconds; -floor: median minus the no-op's median, measured in the same rounds)")


def seeded_wins(url: str) -> int | None:
    try:
        with psycopg.connect(url) as connection:
            row = connection.execute("SELECT count(*) FROM wins").fetchone()
    except psycopg.Error:
        return None
    return None if row is None else int(row[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wins", type=int, default=1_000_000)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="reuse a seeded database and keep it")
    parser.add_argument(
        "--wrk", type=int, default=0, metavar="SECONDS", help="also a concurrent run per page"
    )
    parser.add_argument("--export-rounds", type=int, default=5, help="rounds of the full export (slow)")
    args = parser.parse_args(argv)
    name = dashboard_data.DB_NAME
    url = common.database_url(name)
    machine_load.OUR_DATABASES.add(name)
    seeded = None
    if args.keep and seeded_wins(url) == args.wins:
        common.log(f"reusing {name} with {args.wins:,} wins")
    else:
        seeded = dashboard_data.create(args.wins, args.teams)
    try:
        slug = busiest_team(url)
        chosen = targets(url, slug)
        full_export = [
            chosen[0],
            Target("export, every win", f"/api/v1/teams/{slug}/export?format=csv", None, holds="ticket"),
        ]
        with dashboard_server(url, args.workers, args.threads) as base:
            machine_load.wait_for_quiet(max_wait_s=60)  # the machine is shared
            foreign = machine_load.ForeignCpu()
            foreign.start()
            timings = time_rounds(base, chosen, args.rounds, args.warmup)
            rows = summarize(chosen, timings)
            rows += summarize(full_export, time_rounds(base, full_export, args.export_rounds, 1))[1:]
            foreign_cores = round(foreign.stop(), 3)
            concurrent = {}
            if args.wrk and shutil.which("wrk"):
                for target in chosen[-4:]:
                    concurrent[target.name] = wrk_run(base, target, args.wrk, 4)
        print(f"\n{args.wins:,} wins, {args.teams} teams; team page of {slug}; {args.rounds} rounds")
        print_table(rows)
        for page, figures in concurrent.items():
            print(f"wrk, {page}: {figures}")
        result = {
            "wins": args.wins,
            "teams": args.teams,
            "team": slug,
            "rounds": args.rounds,
            "server": {"workers": args.workers, "threads": args.threads},
            "seeded": seeded,
            "urls": rows,
            "wrk": concurrent,
            "foreign_cores": foreign_cores,
            "machine": common.machine(),
        }
        print(f"-> {common.write_results('dashboard', result)}")
    finally:
        if not args.keep:
            with psycopg.connect(common.database_url("postgres"), autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0 if all(r["meets_goal"] is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
