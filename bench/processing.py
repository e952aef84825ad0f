"""Benchmark 2, processing: pending inbox rows turned into wins by 2 workers.

* ours: N deliveries stored in the inbox, then a sweep (``jobs.inbox.sweep_inbox``: batch jobs of
  ``inbox_batch_size`` ids) worked by 2 RQ ``SimpleWorker`` processes running ``process_inbox``.
* naive (baseline, same run): one RQ job per delivery on 2 forking ``rq.Worker`` processes; each job
  parses the payload and upserts one ``Win`` through the ORM, with one commit per event.

Both are timed from the first enqueue to the moment the inbox has no pending row. The worker
processes are started (imports, settings) before the clock starts and wait for a "go" line, as
long-running workers would be when deliveries arrive.

Usage: ``python -m bench.processing [--events 20000] [--naive-events 2000] [--reps 3]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from typing import Any

from sqlalchemy import insert

from bench import common, machine_load, profiles
from bench.common import log, median
from bench.naive_processing import naive_record_event

NAIVE_QUEUE = "bench-naive"
POLL_S = 0.1
TIMEOUT_S = 600.0


# -- worker processes ------------------------------------------------------------------------------------


def worker_main(kind: str) -> int:
    """A worker that is fully started, then waits for "go" on stdin before working its queue in burst."""
    from rq import SimpleWorker, Worker
    from rq.serializers import JSONSerializer

    from jobs import runtime
    from jobs.queue import RQJobQueue
    from service.settings import Settings

    if kind == "naive":
        # Loaded before the fork, so each forked job starts with the code in memory (not sabotaged).
        import service.models
        import service.teams.registry  # noqa: F401

    settings = Settings.from_env()
    rt = runtime.install(runtime.Runtime.from_settings(settings))
    assert isinstance(rt.queue, RQJobQueue)
    rt.database.ping()
    if kind == "ours":
        from jobs.inbox import process_inbox  # noqa: F401 (loaded at start-up, as `sprintwins worker` does)
        from service.gc_tuning import freeze_startup_objects

        worker: Worker = SimpleWorker([rt.queue.rq], connection=rt.queue.redis, serializer=JSONSerializer)
        freeze_startup_objects()  # as `sprintwins worker` does
    else:
        from rq import Queue

        queue = Queue(NAIVE_QUEUE, connection=rt.queue.redis, serializer=JSONSerializer)
        worker = Worker([queue], connection=rt.queue.redis, serializer=JSONSerializer)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    worker.work(burst=True, logging_level="WARNING")
    return 0


def start_workers(kind: str, count: int = 2) -> list[subprocess.Popen[str]]:
    workers = [
        subprocess.Popen(
            [common.PYTHON, "-m", "bench.processing", "--worker", kind],
            env=common.bench_env(),
            cwd=common.REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for _ in range(count)
    ]
    for worker in workers:
        assert worker.stdout is not None
        if worker.stdout.readline().strip() != "ready":
            raise RuntimeError("a worker did not start")
    return workers


def release(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()


def wait_until_drained(workers: list[subprocess.Popen[str]], started: float) -> float:
    """Seconds from ``started`` until no inbox row is pending: every delivery has become wins.

    Follow-up jobs the batches ask for (progress recomputes, scope refreshes) may still be
    running then; they are the engine's work, not processing, and finish before the next run.
    The probe is an indexed EXISTS every 100 ms, so it takes next to nothing from the workers.
    """
    while True:
        pending = common.scalar("SELECT EXISTS (SELECT 1 FROM inbound_events WHERE state = 'pending')")
        now = time.perf_counter()
        if not pending:
            return now - started
        if now - started > TIMEOUT_S:
            raise RuntimeError(f"rows still pending after {TIMEOUT_S:.0f} s")
        if all(w.poll() is not None for w in workers):
            raise RuntimeError("the workers exited with rows still pending")
        time.sleep(POLL_S)


def stop_workers(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            common.stop_process_group(worker)  # type: ignore[arg-type]


# -- the runs --------------------------------------------------------------------------------------------


def store_planned(planned: list[common.PlannedDelivery]) -> None:
    """Bulk-insert the deliveries as the webhook would have stored them: pending rows in the inbox."""
    from service.db import Database
    from service.models import InboundEvent, InboxState, utcnow

    database = Database(common.database_url())
    try:
        with database.transaction() as session:
            rows = [
                {
                    "source": "jira",
                    "delivery_id": d.delivery_id,
                    "event_type": d.event_type,
                    "state": InboxState.PENDING,
                    "body": d.body,
                    "payload_ts_ms": d.timestamp_ms,
                    "received_at": utcnow(),
                    "attempts": 0,
                }
                for d in planned
            ]
            for i in range(0, len(rows), 2_000):
                session.execute(insert(InboundEvent.__table__), rows[i : i + 2_000])
    finally:
        database.dispose()
    with_analyze()


def with_analyze() -> None:
    """Give the planner statistics for the inbox we just bulk-loaded, and only for it.

    Analysing every table here would record tickets, wins and members as empty; those tables
    grow during the run faster than autovacuum re-analyses them, and the planner would keep
    choosing sequential scans for them. A running deployment has current statistics.
    """
    import psycopg

    with psycopg.connect(common.database_url(), autocommit=True) as connection:
        connection.execute("ANALYZE inbound_events")


def counts() -> dict[str, int]:
    import psycopg

    with psycopg.connect(common.database_url(), autocommit=True) as connection:
        states = dict(
            connection.execute("SELECT state, count(*) FROM inbound_events GROUP BY state").fetchall()
        )
        active = connection.execute(
            "SELECT count(*) FROM wins WHERE kind = 'ticket' AND status = 'active'"
        ).fetchone()
        retracted = connection.execute(
            "SELECT count(*) FROM wins WHERE kind = 'ticket' AND status = 'retracted'"
        ).fetchone()
        tickets = connection.execute("SELECT count(*) FROM tickets").fetchone()
    return {
        **{f"inbox_{k}": int(v) for k, v in states.items()},
        "active_ticket_wins": int(active[0]) if active else 0,
        "retracted_ticket_wins": int(retracted[0]) if retracted else 0,
        "tickets": int(tickets[0]) if tickets else 0,
    }


def run_ours(events: int, seed: int, profile: bool = False) -> dict[str, Any]:
    common.empty_tables()
    common.flush_redis()
    planned = common.plan_deliveries(events, seed=seed, prefix=f"ours-{seed}")
    expected = common.expected_active_wins(planned)
    store_planned(planned)
    workers = start_workers("ours")
    machine_load.wait_for_quiet()
    foreign = machine_load.ForeignCpu()
    try:
        from jobs import runtime
        from jobs.inbox import sweep_inbox
        from service.settings import Settings

        rt = runtime.install(runtime.Runtime.from_settings(Settings.from_env(common.bench_env())))
        sampling = profiles.start_profiles([w.pid for w in workers], 30, "processing") if profile else []
        foreign.start()
        started = time.perf_counter()
        swept = sweep_inbox()  # the first enqueue
        release(workers)
        seconds = wait_until_drained(workers, started)
        foreign_cores = foreign.stop()
        rt.database.dispose()
    finally:
        stop_workers(workers)
    result = counts()
    if profile:
        result["profile"] = profiles.finish_profiles(sampling)
    result.update(
        events=events,
        seconds=seconds,
        events_per_s=events / seconds,
        batches=swept["batches"],
        expected_active_wins=expected,
        distinct_issues=len({d.issue_key for d in planned}),
        foreign_cores=round(foreign_cores, 3),
    )
    result["correct"] = (
        result["active_ticket_wins"] == expected
        and result.get("inbox_pending", 0) == 0
        and result.get("inbox_failed", 0) == 0
        and result.get("inbox_processed", 0) == events
    )
    log(
        f"ours: {events} events in {seconds:.2f} s = {result['events_per_s']:.0f}/s; "
        f"active wins {result['active_ticket_wins']} (expected {expected}); correct={result['correct']}; "
        f"others used {foreign_cores:.2f} cores"
    )
    return result


def run_naive(events: int, seed: int) -> dict[str, Any]:
    from redis import Redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    common.empty_tables()
    common.flush_redis()
    planned = common.plan_deliveries(events, seed=seed, prefix=f"naive-{seed}")
    expected = common.expected_active_wins(planned)
    store_planned(planned)
    ids = [int(i) for i in _pending_ids()]
    workers = start_workers("naive")
    machine_load.wait_for_quiet()
    foreign = machine_load.ForeignCpu()
    redis = Redis.from_url(common.BENCH_REDIS_URL)
    try:
        queue = Queue(NAIVE_QUEUE, connection=redis, serializer=JSONSerializer)
        foreign.start()
        started = time.perf_counter()
        with queue.connection.pipeline() as pipe:
            queue.enqueue_many(
                [Queue.prepare_data(naive_record_event, (row_id,)) for row_id in ids], pipeline=pipe
            )
            pipe.execute()
        release(workers)
        seconds = wait_until_drained(workers, started)
        foreign_cores = foreign.stop()
    finally:
        stop_workers(workers)
        redis.close()
    result = counts()
    result.update(
        events=events,
        seconds=seconds,
        events_per_s=events / seconds,
        expected_active_wins=expected,
        foreign_cores=round(foreign_cores, 3),
    )
    log(
        f"naive: {events} events in {seconds:.2f} s = {result['events_per_s']:.0f}/s; "
        f"active wins {result['active_ticket_wins']} (expected {expected}); "
        f"others used {foreign_cores:.2f} cores"
    )
    return result


def _pending_ids() -> list[int]:
    import psycopg

    with psycopg.connect(common.database_url(), autocommit=True) as connection:
        return [r[0] for r in connection.execute("SELECT id FROM inbound_events ORDER BY id").fetchall()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--naive-events", type=int, default=1_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--skip-db-reset", action="store_true")
    parser.add_argument("--profile", action="store_true", help="one more run of ours under py-spy")
    parser.add_argument("--worker", choices=("ours", "naive"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker)
    if not args.skip_db_reset:
        common.recreate_database()
    ours: list[dict[str, Any]] = []
    naive: list[dict[str, Any]] = []
    for rep in range(args.reps):  # interleaved, so a noisy minute hurts both sides alike
        ours.append(run_ours(args.events, seed=100 + rep))
        naive.append(run_naive(args.naive_events, seed=200 + rep))
    profile = run_ours(args.events, seed=999, profile=True)["profile"] if args.profile else None
    ours_rate = median([r["events_per_s"] for r in ours])
    naive_rate = median([r["events_per_s"] for r in naive])
    summary = {
        "benchmark": "processing",
        "date": time.strftime("%Y-%m-%d"),
        "machine": common.machine(),
        "params": vars(args),
        "ours": ours,
        "naive": naive,
        "median_ours_events_per_s": ours_rate,
        "median_naive_events_per_s": naive_rate,
        "ratio": ours_rate / naive_rate,
        "all_correct": all(r["correct"] for r in ours),
        "profile_of_ours": profile,
        "goals": {"events_per_s>=3000": ours_rate >= 3000, "ratio>=15": ours_rate / naive_rate >= 15},
    }
    path = common.write_results("processing", summary)
    print(f"\nprocessing results -> {path}")
    print(
        f"ours  {ours_rate:8.0f} events/s (median of {len(ours)}, {args.events} events each), "
        f"correct: {summary['all_correct']}"
    )
    print(f"naive {naive_rate:8.0f} events/s (median of {len(naive)}, {args.naive_events} events each)")
    print(f"ratio {summary['ratio']:.1f}x; goals: {summary['goals']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
