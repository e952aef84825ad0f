"""Benchmark: a team's full progress recompute end to end on Postgres (load, domain, store).

``bench/progress.py`` times the pure domain. This one seeds a database with N ticket wins (and their
tickets) for one team, 50 people over two years, then times what ``jobs.progress.update_progress`` runs
for the team, phase by phase: loading the inputs and the domain's recompute (collector paused, as the
job does), then storing the result. The first run stores the engine's wins (and keeps every sprint's
tally); each later one follows one more finished ticket, as the job follows a recorded batch, and the
figures are their medians.

``--sprints`` also puts the tickets in two-week sprints (about 80% of them, as committed scope) and
gives them a creation time, so the sprint milestones and the oldest-open-ticket milestone have their
full inputs to load, as a Jira team's history would.

Usage: ``python -m bench.progress_db [--wins 1000000] [--reps 3] [--sprints] [--keep]``. The database is
``$BENCH_DB`` (default ``sprintwins_bench_progress_db``); ``--keep`` leaves it in place and reuses it when it
already holds the same history, to measure again without seeding.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bench import common, machine_load
from jobs.progress import collector_paused
from service import migrate
from service.db import Database
from service.progress.load import load_team_inputs
from service.progress.recompute import lock_team, run_recompute
from service.progress.save import store_result

SPRINT_DAYS = 14

DB_NAME = os.environ.get("BENCH_DB", "sprintwins_bench_progress_db")


def seed(url: str, wins: int, sprints: bool) -> float:
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
            " status_category, done, done_at, url, last_event_ms, extra, assignee_id, jira_created_at"
        )
        with connection.cursor().copy(f"COPY tickets ({columns}) FROM STDIN") as copy:
            for n in range(1, wins + 1):
                done_at = start + timedelta(minutes=rng.randrange(0, 730 * 24 * 60))
                created_at = done_at - timedelta(hours=rng.randrange(1, 30 * 24)) if sprints else None
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
                        1 + (n % 50),
                        created_at,
                    )
                )
        connection.execute(
            "INSERT INTO wins (team_id, kind, status, title, member_id, points, source, source_key,"
            " visibility, occurred_at, details, created_at, updated_at)"
            " SELECT 1, 'ticket', 'active', issue_key, 1 + (id % 50), points, 'jira', issue_key, 'team',"
            " done_at, '{}'::jsonb, now(), now() FROM tickets"
        )
        if sprints:
            _seed_sprints(connection, start, rng)
        connection.execute("SELECT setval('members_id_seq', 50)")
        connection.execute("SELECT setval('tickets_id_seq', %s)", (wins,))
        connection.execute("SELECT setval('teams_id_seq', 1)")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return time.perf_counter() - began


def _seed_sprints(connection: psycopg.Connection[Any], start: datetime, rng: random.Random) -> None:
    """Two-week sprints over the two years; 80% of tickets sit in the sprint they were finished in."""
    count = 730 // SPRINT_DAYS + 1
    with connection.cursor().copy(
        "COPY sprints (id, team_id, name, state, start_at, end_at, completed_at, last_event_ms, created_at)"
        " FROM STDIN"
    ) as copy:
        for n in range(count):
            begin = start + timedelta(days=n * SPRINT_DAYS)
            end = begin + timedelta(days=SPRINT_DAYS)
            copy.write_row((n + 1, 1, f"Sprint {n + 1}", "closed", begin, end, end, 0, start))
    connection.execute(
        "INSERT INTO sprint_tickets (sprint_id, ticket_id)"
        " SELECT 1 + floor(extract(epoch FROM done_at - %s) / %s)::int, id FROM tickets WHERE id %% 5 <> 0",
        (start, SPRINT_DAYS * 86400),
    )
    connection.execute("SELECT setval('sprints_id_seq', %s)", (count,))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wins", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sprints", action="store_true", help="also seed sprint scopes and ticket ages")
    parser.add_argument("--keep", action="store_true", help="keep the database, and reuse it if seeded")
    args = parser.parse_args(argv)
    admin = common.database_url("postgres")
    url = common.database_url(DB_NAME)
    machine_load.OUR_DATABASES.add(DB_NAME)
    reuse = args.keep and _seeded(admin, url) == (args.wins, args.sprints)
    if not reuse:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{DB_NAME}"')
    database = Database(url)
    try:
        if reuse:
            common.log(f"reusing {DB_NAME} with {args.wins:,} wins")
        else:
            migrate.upgrade(database)
            common.log(f"seeded {args.wins:,} wins in {seed(url, args.wins, args.sprints):.1f} s")
        runs: list[dict[str, float]] = []
        foreign = machine_load.ForeignCpu()
        for rep in range(args.reps + 1):
            if rep:
                _one_more_win(url)
            machine_load.wait_for_quiet(max_wait_s=120)  # the machine is shared
            foreign.start()
            runs.append(_timed_recompute(database))
            runs[-1]["foreign_cores"] = round(foreign.stop(), 3)
            phases = ", ".join(f"{k} {v:.2f}" for k, v in runs[-1].items())
            common.log(f"run {rep}: {phases} (s; foreign_cores: CPU of others' processes)")
        later = runs[1:]
        medians = {k: statistics.median(r[k] for r in later) for k in later[0] if k != "foreign_cores"}
        result = {
            "wins": args.wins,
            "sprints": args.sprints,
            # Stores the engine's wins and (with sprints) derives and keeps every sprint's tally.
            "first_recompute_s": runs[0]["total"],
            "first_recompute_phases_s": runs[0],
            "median_recompute_s": medians["total"],
            "median_phases_s": medians,
            "runs": later,
            "max_foreign_cores": max(r["foreign_cores"] for r in later),
            "goal_recompute_s": 2.0,
            "machine": common.machine(),
        }
        path = common.write_results("progress_db", result)
        print(
            f"end-to-end recompute of {args.wins:,} wins: median {medians['total']:.2f} s (load"
            f" {medians['load']:.2f} s, domain {medians['domain']:.2f} s, store {medians['store']:.2f} s;"
            f" goal 2 s) -> {path}"
        )
    finally:
        database.dispose()
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    return 0


def _one_more_win(url: str) -> None:
    """What a recompute follows in production: one more ticket done, in the latest sprint if there are any.

    Its sprint's issues changed, so that sprint is read and tallied again; the others are not.
    """
    with psycopg.connect(url) as connection:
        last = connection.execute("SELECT max(occurred_at) FROM wins WHERE kind = 'ticket'").fetchone()
        done_at = (last[0] if last and last[0] else datetime.now(UTC)) + timedelta(minutes=1)
        ticket = connection.execute(
            "INSERT INTO tickets (team_id, issue_key, issue_id, project_key, summary, issue_type, is_subtask,"
            " labels, points, status_category, done, done_at, url, last_event_ms, extra, assignee_id,"
            " jira_created_at) SELECT 1, 'NEW-' || n, n::text, 'NEW', 's', 'Story', false, '[]', 3.0, 'done',"
            " true, %s, '', 0, '{}', 1, %s FROM nextval('tickets_id_seq') AS n RETURNING id, issue_key",
            (done_at, done_at - timedelta(days=2)),
        ).fetchone()
        assert ticket is not None
        connection.execute(
            "INSERT INTO wins (team_id, kind, status, title, member_id, points, source, source_key,"
            " visibility, occurred_at, details, created_at, updated_at)"
            " VALUES (1, 'ticket', 'active', %s, 1, 3.0, 'jira', %s, 'team', %s, '{}', now(), now())",
            (ticket[1], ticket[1], done_at),
        )
        connection.execute(
            "INSERT INTO sprint_tickets (sprint_id, ticket_id)"
            " SELECT max(id), %s FROM sprints HAVING count(*) > 0",
            (ticket[0],),
        )


def _timed_recompute(database: Database) -> dict[str, float]:
    """One recompute as ``update_progress`` runs it (one transaction), timed phase by phase."""
    with database.transaction() as session:
        began = time.perf_counter()
        lock_team(session, 1)
        with collector_paused():
            inputs = load_team_inputs(session, 1)
            loaded = time.perf_counter()
            result = run_recompute(inputs, inputs.local_today())
            computed = time.perf_counter()
        store_result(session, inputs, result)
    committed = time.perf_counter()
    return {
        "total": committed - began,
        "load": loaded - began,
        "domain": computed - loaded,
        "store": committed - computed,  # the commit included
    }


def _seeded(admin: str, url: str) -> tuple[int, bool] | None:
    """(ticket wins, with sprints) in the bench database, or None when it does not exist yet."""
    with psycopg.connect(admin, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None:
            return None
    with psycopg.connect(url) as connection:
        wins = connection.execute("SELECT count(*) FROM wins WHERE source_key LIKE 'BIG-%'").fetchone()
        sprints = connection.execute("SELECT EXISTS (SELECT 1 FROM sprints)").fetchone()
    return None if wins is None or sprints is None else (int(wins[0]), bool(sprints[0]))


if __name__ == "__main__":
    raise SystemExit(main())
