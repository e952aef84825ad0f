"""Digest benchmarks: building a digest over a long history, and a burst of posts under Slack's limits.

    .venv/bin/python -m bench.digests [--wins 100000] [--runs 15]

1. Build: a team with ``--wins`` wins over two years (bulk-loaded with COPY into PostgreSQL), and
   the time to build its weekly digest from the database (read + compose), median of ``--runs``.
2. Burst: 50 digests (10 channels x 5 periods) posted by 10 threads through the real digest job
   (``jobs.digests.post_digest``: compose, store, claim, post, record) against the Slack stand-in
   limited to 1 message per second per channel. The minimum the limit allows is 4 s (5 posts per
   channel, the first at 0 s). Compared with the same messages through the poster without pacing
   (retry handler alone) and through a default ``WebClient`` (no rate-limit handler), whose losses
   are counted.

Uses its own database (``sprintwins_bench_digests``) so it never disturbs the other benchmarks.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select, text

from integrations.slack.poster import ChannelPacer, SlackPoster
from jobs import digests as digest_jobs
from jobs import runtime
from jobs.queue import InProcessJobQueue
from service import migrate
from service.db import Database
from service.digests import build as digests
from service.domain.digest import compose_digest
from service.domain.schedule import Period
from service.models import ChannelLink, Team
from service.models.digests import StoredDigest
from service.settings import Settings
from tests.standins.slack_api import SlackStandIn

POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BENCH_DB = "sprintwins_bench_digests"
RESULTS = Path(__file__).resolve().parent / "results"
CHANNELS = 10
PERIODS_PER_CHANNEL = 5
BURST_THREADS = 10
GOAL_BUILD_MS = 100.0
GOAL_BURST_RATIO = 1.1


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fresh_database() -> Database:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{BENCH_DB}"')
    database = Database(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DB}", pool_size=BURST_THREADS + 2)
    migrate.upgrade(database)
    return database


def seed(database: Database, wins: int, now: datetime) -> int:
    """One team with ``wins`` wins spread evenly over two years up to ``now``; a noisy second team."""
    rng = random.Random(7)
    with database.connection() as connection:
        team_id = connection.execute(
            text(
                "INSERT INTO teams (slug, name, timezone, rules, created_at) "
                "VALUES ('bench', 'Bench squad', 'Europe/Berlin', '{}', now()) RETURNING id"
            )
        ).scalar_one()
        other = connection.execute(
            text(
                "INSERT INTO teams (slug, name, timezone, rules, created_at) "
                "VALUES ('other', 'Other', 'UTC', '{}', now()) RETURNING id"
            )
        ).scalar_one()
        member_ids = [
            connection.execute(
                text(
                    "INSERT INTO members (display_name, slack_team_id, slack_user_id, sharing_opt_out, "
                    "created_at) "
                    "VALUES (:n, 'T0BENCH', :u, :o, now()) RETURNING id"
                ),
                {"n": f"Person {n}", "u": f"U0BENCH{n:03d}", "o": n % 10 == 0},
            ).scalar_one()
            for n in range(40)
        ]
    span = timedelta(days=730)
    kinds = ["ticket"] * 90 + ["manual"] * 4 + ["kudos"] * 4 + ["streak", "badge"]
    buffer = io.StringIO()
    for n in range(wins + wins // 5):
        team = team_id if n < wins else other
        kind = rng.choice(kinds)
        member = rng.choice(member_ids)
        occurred = now - span * (n % wins) / wins - timedelta(seconds=rng.random())
        details = "{}"
        if kind == "kudos":
            giver = rng.choice(member_ids)
            details = json.dumps({"kudos_from": {"member_id": giver, "name": f"Giver {giver}"}})
        points = "" if kind != "ticket" else str(rng.choice([1, 2, 3, 5, 8]))
        buffer.write(
            "\t".join(
                [
                    str(team),
                    kind,
                    "active",
                    f"Win number {n} <with> & markup",
                    str(member),
                    points or "\\N",
                    "jira",
                    f"BENCH-{n}",
                    f"https://bench.atlassian.net/browse/BENCH-{n}",
                    "team",
                    occurred.isoformat(),
                    details.replace("\\", "\\\\"),
                    now.isoformat(),
                    now.isoformat(),
                ]
            )
            + "\n"
        )
    raw = database.engine.raw_connection()
    try:
        with (
            raw.cursor() as cursor,
            cursor.copy(  # type: ignore[attr-defined]
                "COPY wins (team_id, kind, status, title, member_id, points, source, source_key, url, "
                "visibility, "
                "occurred_at, details, created_at, updated_at) FROM STDIN"
            ) as copy,
        ):
            copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()
    with database.connection() as connection:
        # Some cheers on recent wins, and an active sprint with 60 tickets.
        connection.execute(
            text(
                "INSERT INTO cheers (win_id, slack_team_id, user_id, reaction, created_at) "
                "SELECT id, 'T0BENCH', 'U0FAN', 'tada', now() FROM wins WHERE team_id = :t AND id % 7 = 0"
            ),
            {"t": team_id},
        )
        sprint_id = connection.execute(
            text(
                "INSERT INTO sprints (team_id, jira_id, name, state, start_at, end_at, last_event_ms, "
                "created_at) "
                "VALUES (:t, 4242, 'Sprint 42', 'active', :s, :e, 0, now()) RETURNING id"
            ),
            {"t": team_id, "s": now - timedelta(days=7), "e": now + timedelta(days=7)},
        ).scalar_one()
        for n in range(60):
            ticket_id = connection.execute(
                text(
                    "INSERT INTO tickets (team_id, issue_key, issue_id, project_key, summary, is_subtask, "
                    "labels, points, status_category, done, url, last_event_ms, extra) "
                    "VALUES (:t, :k, '', 'BENCH', '', false, '[]', 3, 'done', :d, '', 0, '{}') RETURNING id"
                ),
                {"t": team_id, "k": f"SPR-{n}", "d": n < 40},
            ).scalar_one()
            connection.execute(
                text("INSERT INTO sprint_tickets VALUES (:s, :t)"), {"s": sprint_id, "t": ticket_id}
            )
        connection.execute(text("ANALYZE"))
    return team_id


def bench_build(database: Database, team_id: int, now: datetime, runs: int) -> dict[str, Any]:
    periods = {
        "week": Period("weekly:bench", now - timedelta(days=7), now, "This week"),
        "day": Period("daily:bench", now - timedelta(days=1), now, "Since yesterday"),
        "sprint (14 days)": Period("sprint:bench", now - timedelta(days=14), now, "Sprint 42"),
    }
    results: dict[str, Any] = {}
    for name, period in periods.items():
        timings: list[float] = []
        wins_in_period = 0
        for _ in range(runs + 1):
            started = time.perf_counter()
            with database.sessions() as session:
                team = session.get(Team, team_id)
                assert team is not None
                data = digests.build_digest_input(session, team, period, now=now)
                composed = compose_digest(data)
            timings.append((time.perf_counter() - started) * 1000)
            wins_in_period = len(data.wins)
            assert composed is not None
        timings = timings[1:]  # the first run warms the connection pool and statement caches
        results[name] = {
            "wins_in_period": wins_in_period,
            "median_ms": round(statistics.median(timings), 1),
            "p95_ms": round(sorted(timings)[max(0, int(len(timings) * 0.95) - 1)], 1),
            "min_ms": round(min(timings), 1),
            "runs": runs,
        }
        log(f"build {name}: {results[name]}")
    return results


def bench_burst(database: Database, team_id: int, now: datetime) -> dict[str, Any]:
    with SlackStandIn(rate_per_channel_per_s=1.0) as standin:
        settings = Settings.from_env(
            {},
            database_url=database.url,
            slack_bot_token="xoxb-bench",
            slack_signing_secret="bench",
            slack_api_url=standin.url + "/api/",
            log_level="WARNING",
        )
        runtime.install(runtime.Runtime(settings, database, InProcessJobQueue()))
        with database.transaction() as session:
            links = []
            for n in range(CHANNELS):
                link = ChannelLink(
                    team_id=team_id,
                    slack_team_id="T0STANDIN",
                    channel_id=f"C0BURST{n:02d}",
                    linked_by_user_id="U0BENCH000",
                    schedule="daily 09:00",
                    timezone="UTC",
                )
                session.add(link)
                session.flush()
                links.append(link.id)
        # Round-robin, as the scheduler's ticks enqueue them: one period for every channel, then the next.
        jobs = [(link_id, p) for p in range(PERIODS_PER_CHANNEL) for link_id in links]
        minimum = (PERIODS_PER_CHANNEL - 1) / standin.rate_per_channel_per_s  # type: ignore[operator]

        def run_job(job: tuple[int, int]) -> str:
            link_id, p = job
            start = now - timedelta(days=PERIODS_PER_CHANNEL - p)
            return digest_jobs.post_digest(
                team_id,
                link_id,
                f"daily:burst-{p}",
                start.isoformat(),
                (start + timedelta(days=1)).isoformat(),
                "Since yesterday",
            )["state"]

        started = time.perf_counter()
        with ThreadPoolExecutor(BURST_THREADS) as pool:
            states = list(pool.map(run_job, jobs))
        elapsed = time.perf_counter() - started
        ours = {
            "delivered": standin.accepted_count(),
            "of": len(jobs),
            "posted_states": states.count("posted"),
            "rejected_429": standin.rejected_429_count(),
            "seconds": round(elapsed, 2),
            "minimum_seconds": minimum,
            "ratio_to_minimum": round(elapsed / minimum, 3),
        }
        log(f"burst, digest jobs with the poster: {ours}")
        with database.sessions() as session:
            messages = [
                (r.channel_id, r.text, r.blocks)
                for r in session.scalars(select(StoredDigest).order_by(StoredDigest.id))
            ]
        messages.sort(key=lambda m: (0, m[0]))  # keep each channel's order; ThreadPool interleaves rounds
        ordered = [messages[i::PERIODS_PER_CHANNEL] for i in range(PERIODS_PER_CHANNEL)]
        flat = [m for group in ordered for m in group]

        standin.reset()
        handler_only = SlackPoster(settings, lambda team, enterprise: "xoxb-bench", pacer=ChannelPacer(0))
        started = time.perf_counter()
        with ThreadPoolExecutor(BURST_THREADS) as pool:
            list(
                pool.map(lambda m: handler_only.post_message("T0STANDIN", m[0], text=m[1], blocks=m[2]), flat)
            )
        retry_only = {
            "delivered": standin.accepted_count(),
            "of": len(flat),
            "rejected_429": standin.rejected_429_count(),
            "seconds": round(time.perf_counter() - started, 2),
        }
        retry_only["ratio_to_minimum"] = round(retry_only["seconds"] / minimum, 3)
        log(f"burst, poster without pacing (retry handler only): {retry_only}")

        standin.reset()
        default = WebClient(token="xoxb-bench", base_url=standin.url + "/api/")

        def post_default(message: tuple[str, str, Any]) -> bool:
            try:
                default.chat_postMessage(channel=message[0], text=message[1], blocks=message[2])
                return True
            except SlackApiError:
                return False

        started = time.perf_counter()
        with ThreadPoolExecutor(BURST_THREADS) as pool:
            outcomes = list(pool.map(post_default, flat))
        baseline = {
            "delivered": outcomes.count(True),
            "lost": outcomes.count(False),
            "of": len(flat),
            "rejected_429": standin.rejected_429_count(),
            "seconds": round(time.perf_counter() - started, 2),
        }
        log(f"burst, default WebClient: {baseline}")
        runtime.reset()
    return {"digest_jobs": ours, "poster_without_pacing": retry_only, "default_webclient": baseline}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wins", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    database = fresh_database()
    try:
        log(f"seeding {args.wins} wins")
        started = time.perf_counter()
        team_id = seed(database, args.wins, now)
        log(f"seeded in {time.perf_counter() - started:.1f} s")
        result = {
            "when": now.isoformat(),
            "wins_in_history": args.wins,
            "build": bench_build(database, team_id, now, args.runs),
            "burst": bench_burst(database, team_id, now),
        }
    finally:
        database.dispose()
    week = result["build"]["week"]["median_ms"]
    burst = result["burst"]["digest_jobs"]
    result["goals"] = {
        "build_week_median_ms<=100": week <= GOAL_BUILD_MS,
        "burst_all_delivered": burst["delivered"] == burst["of"],
        "burst_ratio<=1.1": burst["ratio_to_minimum"] <= GOAL_BURST_RATIO,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = json.dumps(result, indent=2)
    (RESULTS / f"digests-{now:%Y%m%dT%H%M%S}.json").write_text(out)
    (RESULTS / "digests-latest.json").write_text(out)
    print(out)
    return 0 if all(result["goals"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
