"""Benchmark 1, intake: signed Jira webhooks into ``sprintwins serve`` on Postgres + Redis.

For each gunicorn setting (workers x threads), in the same server and run:

* closed loop (wrk, C connections, D seconds): 202s per second on ``/webhooks/jira`` (durable acks)
  and on ``/_bench/noop`` (the server's own floor), and their ratio. Afterwards the inbox must hold
  at least one row per 202, and no more rows than requests sent.
* open loop (bench/open_loop.py, a timetable of R requests/s): p50/p99 latency measured from each request's
  *scheduled* send time, so a slow server cannot hide its queueing (no coordinated omission).

Usage: ``python -m bench.intake [--configs 2x4,5x4] [--reps 3] [--duration 8] [--rate 1000]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import common, machine_load, profiles
from bench import open_loop as open_loop_client
from bench.common import log, median

WEBHOOK = "/webhooks/jira"
NOOP = "/_bench/noop"
POOL_SIZE = 2_000  # distinct signed bodies; every request still carries its own delivery id

WRK_SCRIPT = r"""
-- Pre-signed bodies from a file ("signature<TAB>body" per line); a unique delivery id per request.
local sigs, bodies, n, counter = {}, {}, 0, 0
local path, prefix
sent, acks, other = 0, 0, 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  path, prefix = args[1], args[3] .. "-t" .. tid
  for line in io.lines(args[2]) do
    local tab = line:find("\t", 1, true)
    n = n + 1
    sigs[n], bodies[n] = line:sub(1, tab - 1), line:sub(tab + 1)
  end
end

function request()
  counter = counter + 1
  sent = sent + 1
  local i = counter % n + 1
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["X-Hub-Signature"] = sigs[i],
    ["X-Atlassian-Webhook-Identifier"] = prefix .. "-" .. counter,
  }, bodies[i])
end

function response(status, headers, body)
  if status == 202 then acks = acks + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local s, a, o = 0, 0, 0
  for _, t in ipairs(threads) do
    s, a, o = s + t:get("sent"), a + t:get("acks"), o + t:get("other")
  end
  io.write(string.format(
    'BENCHJSON {"duration_us":%d,"responses":%d,"sent":%d,"acks":%d,"other":%d,' ..
    '"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_timeout":%d,' ..
    '"p50_ms":%.3f,"p99_ms":%.3f}\n',
    summary.duration, summary.requests, s, a, o, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def build_pool(directory: Path) -> tuple[Path, list[tuple[str, bytes]]]:
    """Distinct real payloads, signed before any timing starts."""
    planned = common.plan_deliveries(POOL_SIZE, seed=7, prefix="pool")
    pool = [(common.signed(d.body.encode()), d.body.encode()) for d in planned]
    path = directory / "bodies.tsv"
    with path.open("wb") as out:
        for sig, body in pool:
            assert b"\n" not in body and b"\t" not in body
            out.write(sig.encode() + b"\t" + body + b"\n")
    return path, pool


def run_wrk(
    base: str, path: str, bodies: Path, script: Path, prefix: str, connections: int, duration: int
) -> dict[str, Any]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "5s", "-s", str(script)]
    command += [base + path, "--", path, str(bodies), prefix]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=True)
    match = re.search(r"^BENCHJSON (.*)$", done.stdout, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(match.group(1))
    result["per_second"] = result["acks"] / (result["duration_us"] / 1e6)
    return result


def open_loop(
    url: str, pool: list[tuple[str, bytes]], prefix: str, rate: float, duration: float, connections: int
) -> dict[str, Any]:
    """``rate`` signed deliveries a second on a fixed timetable, each with its own delivery id."""
    where = open_loop_client.target(url)
    heads = [
        (
            open_loop_client.build_request(
                where, [("Content-Type", "application/json"), ("X-Hub-Signature", sig)], body
            ),
            len(body),
        )
        for sig, body in pool
    ]

    def request(i: int) -> bytes:
        # The delivery id goes in as one more header, just before the blank line and the body.
        built, size = heads[i % len(heads)]
        split = len(built) - size - 2
        return built[:split] + f"X-Atlassian-Webhook-Identifier: {prefix}-{i}\r\n".encode() + built[split:]

    return asyncio.run(open_loop_client.run(url, request, rate, duration, connections))


def verify_inbox(prefix: str, acks: int, sent: int) -> dict[str, Any]:
    """Durability: every 202 has its row. Rows beyond the 202s are requests cut off when wrk stopped."""
    time.sleep(1.0)  # requests still in flight when the client stopped finish on the server
    rows = int(common.scalar("SELECT count(*) FROM inbound_events WHERE delivery_id LIKE %s", prefix + "-%"))
    ok = acks <= rows <= sent
    if not ok:
        log(f"DURABILITY CHECK FAILED: {acks} acks, {rows} rows, {sent} sent")
    return {"rows": rows, "acks": acks, "sent": sent, "durable_ok": ok}


def reset_state() -> None:
    common.empty_tables()
    common.flush_redis()


def measured(run: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run one measurement on a quiet machine, recording the CPU others used meanwhile."""
    machine_load.wait_for_quiet()
    foreign = machine_load.ForeignCpu()
    foreign.start()
    result = run(*args)
    result["foreign_cores"] = round(foreign.stop(), 3)
    return result


def bench_config(
    workers: int, threads: int, args: argparse.Namespace, bodies: Path, script: Path, pool: list[Any]
) -> dict[str, Any]:
    label = f"{workers}x{threads}"
    runs: list[dict[str, Any]] = []
    open_runs: list[dict[str, Any]] = []
    with common.running_server(workers, threads) as server:
        log(f"[{label}] warm-up")
        run_wrk(server.base_url, NOOP, bodies, script, f"warm-noop-{label}", args.connections, 2)
        run_wrk(server.base_url, WEBHOOK, bodies, script, f"warm-hook-{label}", args.connections, 2)
        for rep in range(args.reps):
            reset_state()
            noop = measured(
                run_wrk,
                server.base_url,
                NOOP,
                bodies,
                script,
                f"noop-{label}-{rep}",
                args.connections,
                args.duration,
            )
            prefix = f"hook-{label}-{rep}"
            hook = measured(
                run_wrk, server.base_url, WEBHOOK, bodies, script, prefix, args.connections, args.duration
            )
            check = verify_inbox(prefix, hook["acks"], hook["sent"])
            run = {
                "rep": rep,
                "noop": noop,
                "webhook": hook,
                "verify": check,
                "ratio": hook["per_second"] / noop["per_second"],
            }
            runs.append(run)
            log(
                f"[{label}] rep {rep}: acks/s {hook['per_second']:.0f}, noop req/s {noop['per_second']:.0f}, "
                f"ratio {run['ratio']:.2f}, rows {check['rows']} for {hook['acks']} acks, "
                f"others used {hook['foreign_cores']:.2f} cores"
            )
        for rep in range(args.reps):
            reset_state()
            noop = measured(
                open_loop,
                server.base_url + NOOP,
                pool,
                f"onoop-{label}-{rep}",
                args.rate,
                args.open_duration,
                args.open_connections,
            )
            prefix = f"ohook-{label}-{rep}"
            hook = measured(
                open_loop,
                server.base_url + WEBHOOK,
                pool,
                prefix,
                args.rate,
                args.open_duration,
                args.open_connections,
            )
            check = verify_inbox(prefix, hook["statuses"].get(202, 0), hook["requests"])
            check["exact"] = check["rows"] == hook["statuses"].get(202, 0)
            open_runs.append({"rep": rep, "noop": noop, "webhook": hook, "verify": check})
            log(
                f"[{label}] open rep {rep}: webhook p50 {hook['p50_ms']:.1f} ms p99 {hook['p99_ms']:.1f} ms "
                f"(noop p99 {noop['p99_ms']:.1f} ms), statuses {hook['statuses']}, rows {check['rows']}"
            )
    return {
        "config": label,
        "workers": workers,
        "threads": threads,
        "closed_loop": runs,
        "open_loop": open_runs,
        "median_acks_per_s": median([r["webhook"]["per_second"] for r in runs]),
        "median_noop_per_s": median([r["noop"]["per_second"] for r in runs]),
        "median_ratio": median([r["ratio"] for r in runs]),
        "median_p50_ms": median([r["webhook"]["p50_ms"] for r in open_runs]),
        "median_p99_ms": median([r["webhook"]["p99_ms"] for r in open_runs]),
        "median_noop_p99_ms": median([r["noop"]["p99_ms"] for r in open_runs]),
        "max_foreign_cores": max(
            r[k]["foreign_cores"] for r in runs + open_runs for k in ("noop", "webhook")
        ),
        "all_durable": all(r["verify"]["durable_ok"] for r in runs + open_runs),
        "open_loop_all_202": all(
            r["webhook"]["statuses"] == {202: r["webhook"]["requests"]} for r in open_runs
        ),
    }


def profile_config(workers: int, threads: int, args: argparse.Namespace) -> dict[str, Any]:
    """py-spy on every gunicorn worker during one closed-loop webhook run."""
    with tempfile.TemporaryDirectory(prefix="sprintwins-bench-") as tmp:
        bodies, _ = build_pool(Path(tmp))
        script = Path(tmp) / "signed.lua"
        script.write_text(WRK_SCRIPT)
        with common.running_server(workers, threads) as server:
            reset_state()
            machine_load.wait_for_quiet()
            started = profiles.start_profiles(common.child_pids(server.process.pid), args.duration, "intake")
            time.sleep(0.5)  # py-spy attaches
            run = run_wrk(
                server.base_url, WEBHOOK, bodies, script, "profiled", args.connections, args.duration
            )
            profile = profiles.finish_profiles(started)
    profile["acks_per_s_while_profiled"] = run["per_second"]
    return profile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--configs", default="4x6,3x8,5x4", help="gunicorn workers x threads, comma-separated"
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="seconds per closed-loop measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--open-duration", type=float, default=10.0)
    parser.add_argument("--open-connections", type=int, default=128)
    parser.add_argument("--skip-db-reset", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="one more closed-loop run of the best, under py-spy"
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",")]
    if not args.skip_db_reset:
        common.recreate_database()
    with tempfile.TemporaryDirectory(prefix="sprintwins-bench-") as tmp:
        bodies, pool = build_pool(Path(tmp))
        script = Path(tmp) / "signed.lua"
        script.write_text(WRK_SCRIPT)
        results = [bench_config(w, t, args, bodies, script, pool) for w, t in configs]
    best = max(results, key=lambda r: r["median_acks_per_s"])
    profile = profile_config(best["workers"], best["threads"], args) if args.profile else None
    summary = {
        "benchmark": "intake",
        "date": time.strftime("%Y-%m-%d"),
        "machine": common.machine(),
        "params": vars(args),
        "configs": results,
        "best": best["config"],
        "profile_of_best": profile,
        "goals": {
            "acks_per_s>=1500": best["median_acks_per_s"] >= 1500,
            f"p99_ms<=50@{args.rate:g}": best["median_p99_ms"] <= 50,
            "ratio>=0.35": best["median_ratio"] >= 0.35,
        },
    }
    path = common.write_results("intake", summary)
    print(f"\nintake results -> {path}")
    print(
        f"{'config':<8} {'acks/s':>8} {'noop/s':>8} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'noop p99':>8} durable"
    )
    for r in results:
        print(
            f"{r['config']:<8} {r['median_acks_per_s']:>8.0f} {r['median_noop_per_s']:>8.0f} "
            f"{r['median_ratio']:>6.2f} {r['median_p50_ms']:>8.1f} {r['median_p99_ms']:>8.1f} "
            f"{r['median_noop_p99_ms']:>8.1f} {r['all_durable']}"
        )
    print(f"best: {best['config']}; goals: {summary['goals']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
