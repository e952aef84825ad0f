"""Benchmark: a team's full progress recompute end to end on Postgres (load, domain, store).

``bench/progress.py`` times the pure domain. This one seeds a database with N ticket wins (and their
tickets) for one team, 50 people over two years, then times ``recompute_team`` (what the job runs):
the first run stores the engine's wins, the later ones find nothing to change.

Usage: ``python -m bench.progress_db [--wins 1000000] [--reps 3]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import psycopg

from bench import common
from service import migrate
from service.db import Database
from service.progress_store import load_team_inputs, recompute_team

DB_NAME = "sprintwins_bench_progress_db"


def seed(url: str, wins: int) -> float:
    rng = random.Random(7)
    start = datetime(2024, 11, 25, tzinfo=UTC)
    began = time.perf_counter()
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO teams (id, slug, name, timezone, rules, created_at)"
            " VALUES (1, 'big', 'Big', 'Europe/Berlin', '{}', now())"
        )
        with connection.cursor().copy(
            "COPY members (id, jira_account_id, display_name, sharing_opt_out, created_at) FROM STDIN"
        ) as copy:
            for member in range(1, 51):
                copy.write_row((member, f"acc-{member}", f"Person {member}", False, start))
        columns = (
            "id, team_id, issue_key, issue_id, project_key, summary, issue_type, is_subtask, labels, points,"
            " status_category, done, done_at, url, last_event_ms, extra"
        )
        with connection.cursor().copy(f"COPY tickets ({columns}) FROM STDIN") as copy:
            for n in range(1, wins + 1):
                done_at = start + timedelta(minutes=rng.randrange(0, 730 * 24 * 60))
                issue_type = "Bug" if n % 7 == 0 else "Story"
                copy.write_row(
                    (
                        n,
                        1,
                        f"BIG-{n}",
                        str(n),
                        "BIG",
                        "s",
                        issue_type,
                        False,
                        "[]",
                        float(n % 5 + 1),
                        "done",
                        True,
                        done_at,
                        "",
                        0,
                        "{}",
                    )
                )
        connection.execute(
            "INSERT INTO wins (team_id, kind, status, title, member_id, points, source, source_key,"
            " visibility, occurred_at, details, created_at, updated_at)"
            " SELECT 1, 'ticket', 'active', issue_key, 1 + (id % 50), points, 'jira', issue_key, 'team',"
            " done_at, '{}'::jsonb, now(), now() FROM tickets"
        )
        connection.execute("SELECT setval('members_id_seq', 50)")
        connection.execute("SELECT setval('tickets_id_seq', %s)", (wins,))
        connection.execute("SELECT setval('teams_id_seq', 1)")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wins", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    admin = common.database_url("postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DB_NAME}"')
    url = common.database_url(DB_NAME)
    database = Database(url)
    try:
        migrate.upgrade(database)
        common.log(f"seeded {args.wins:,} wins in {seed(url, args.wins):.1f} s")
        full: list[float] = []
        loading: list[float] = []
        for rep in range(args.reps + 1):
            with database.transaction() as session:
                began = time.perf_counter()
                recompute_team(session, 1)
                full.append(time.perf_counter() - began)
            with database.transaction() as session:
                began = time.perf_counter()
                load_team_inputs(session, 1)
                loading.append(time.perf_counter() - began)
            common.log(f"run {rep}: recompute {full[-1]:.2f} s, loading alone {loading[-1]:.2f} s")
        result = {
            "wins": args.wins,
            "first_recompute_s": full[0],  # stores the engine's wins
            "median_recompute_s": statistics.median(full[1:]),
            "median_loading_s": statistics.median(loading[1:]),
            "goal_recompute_s": 2.0,
        }
        path = common.write_results("progress_db", result)
        print(
            f"end-to-end recompute of {args.wins:,} wins: median {result['median_recompute_s']:.2f} s"
            f" (loading {result['median_loading_s']:.2f} s; goal 2 s) -> {path}"
        )
    finally:
        database.dispose()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
