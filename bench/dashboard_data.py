"""Seed the bench database with a dashboard-sized history: 1,000,000 wins over 50 teams and two years.

What a busy install looks like after two years: 50 teams in their own time zones, about eight people
each, two-week sprints (the last one running, the next one planned) holding most of the team's tickets,
ticket wins on working days and working hours, kudos and manual wins (a few "only me"), the engine's
streaks, badges and sprint milestones, a few reopened tickets (retracted wins), cheers on a quarter of
the wins, and each person's streak figures. Wins get ids in the order they happened, as they would.

The schema comes from the migrations (``service.migrate.upgrade``). Rows go in with COPY while the
secondary indexes of the big tables are dropped; they are then built again from their own definitions,
so the generator follows whatever indexes the migrations declare. A million wins take about a minute.

Usage: ``python -m bench.dashboard_data [--wins 1000000] [--teams 50]``. The database is ``$BENCH_DB``
(default ``sprintwins_bench_dashboard``), dropped and created again.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from bench import common
from service import migrate
from service.db import Database

DB_NAME = os.environ.get("BENCH_DB", "sprintwins_bench_dashboard")
DAYS = 730
SPRINT_DAYS = 14
SITE = "https://bench-site.atlassian.net"
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "UTC",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "Europe/Helsinki",
)
# Shares of a team's wins; the engine's wins (streaks, badges, milestones) are the rest.
TICKET_SHARE, KUDOS_SHARE, MANUAL_SHARE = 0.70, 0.14, 0.12
RETRACTED_SHARE = 0.02  # tickets reopened after they were done: the win stays, retracted
PRIVATE_SHARE = 0.05  # of manual wins: "only me"
OPTED_OUT_EVERY = 15  # one person in fifteen does not want to be named
OPEN_TICKETS = 30  # per team, in the running sprint
BADGES = ("first_win", "ten_wins", "hundred_wins", "bug_squasher", "kudos_giver", "early_bird")
BIG_TABLES = ("wins", "tickets", "sprint_tickets", "cheers")
WIN_COLUMNS = (
    "id, team_id, kind, status, title, member_id, points, source, source_key, url, visibility,"
    " occurred_at, details, created_at, updated_at"
)


@dataclass
class TeamPlan:
    number: int
    slug: str
    zone: ZoneInfo
    members: list[int]
    wins: int
    day_starts: list[datetime] = field(default_factory=list)  # UTC start of each local day
    workdays: list[int] = field(default_factory=list)  # day indexes that are Monday to Friday
    sprint_ids: list[int] = field(default_factory=list)  # our id of each sprint, by number

    @property
    def project(self) -> str:
        return f"T{self.number:02d}"

    def jira_sprint_id(self, n: int) -> int:
        return 10_000 + self.number * 100 + n


def plan_teams(rng: random.Random, teams: int, wins: int, first_day: date) -> list[TeamPlan]:
    sizes = [rng.randint(5, 11) for _ in range(teams)]
    plans: list[TeamPlan] = []
    member = 0
    left = wins
    for n, size in enumerate(sizes, start=1):
        share = left if n == teams else round(wins * size / sum(sizes))
        left -= share
        zone = ZoneInfo(ZONES[n % len(ZONES)])
        plan = TeamPlan(n, f"team-{n:02d}", zone, list(range(member + 1, member + size + 1)), share)
        member += size
        for d in range(DAYS + 1):
            day = first_day + timedelta(days=d)
            plan.day_starts.append(datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC))
            if day.weekday() < 5:
                plan.workdays.append(d)
        plans.append(plan)
    return plans


def seed(url: str, wins: int, teams: int, now: datetime, seed_value: int = 11) -> dict[str, int]:
    """Fill an empty, migrated database; return the row counts."""
    rng = random.Random(seed_value)
    first_day = (now - timedelta(days=DAYS)).date()
    first_day -= timedelta(days=first_day.weekday())  # sprints start on Mondays
    plans = plan_teams(rng, teams, wins, first_day)
    with psycopg.connect(url) as connection:
        dropped = _drop_secondary_indexes(connection)
        _copy_teams_and_people(connection, plans, now)
        _copy_sprints(connection, plans, now)
        rows = _copy_tickets_and_wins(connection, plans, rng, now)
        _add_cheers(connection)
        _copy_streaks(connection, plans, rng, now)
        for statement in dropped:
            connection.execute(statement)
        for table in ("teams", "members", "sprints", "tickets", "wins", "cheers", "streak_stats"):
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        counts = {
            table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in ("teams", "members", "sprints", "tickets", "sprint_tickets", "wins", "cheers")
        }
    rows.update(counts)
    return rows


def _drop_secondary_indexes(connection: psycopg.Connection[Any]) -> list[str]:
    """Drop the big tables' indexes that back no constraint; return the statements that rebuild them."""
    rows = connection.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        (list(BIG_TABLES),),
    ).fetchall()
    for name, _ in rows:
        connection.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in rows]


def _copy_teams_and_people(connection: psycopg.Connection[Any], plans: list[TeamPlan], now: datetime) -> None:
    created = now - timedelta(days=DAYS + 7)
    with connection.cursor().copy(
        "COPY teams (id, slug, name, timezone, slack_team_id, slack_channel, rules, created_at) FROM STDIN"
    ) as copy:
        for p in plans:
            name = f"Team {p.number:02d}"
            copy.write_row((p.number, p.slug, name, p.zone.key, "TBENCH", f"C{p.number:08d}", "{}", created))
    with connection.cursor().copy("COPY team_sources (team_id, kind, key) FROM STDIN") as copy:
        for p in plans:
            copy.write_row((p.number, "project", p.project))
    with connection.cursor().copy(
        "COPY members (id, jira_account_id, slack_team_id, slack_user_id, email, display_name,"
        " sharing_opt_out, created_at) FROM STDIN"
    ) as copy:
        for p in plans:
            for m in p.members:
                email = f"person{m}@bench.example"
                opted_out = m % OPTED_OUT_EVERY == 0
                row = (
                    m,
                    f"bench-account-{m:04d}",
                    "TBENCH",
                    f"U{m:08d}",
                    email,
                    f"Person {m:04d}",
                    opted_out,
                )
                copy.write_row((*row, created))


def _copy_sprints(connection: psycopg.Connection[Any], plans: list[TeamPlan], now: datetime) -> None:
    """Two-week sprints from the first Monday: closed ones, the running one, and one planned."""
    sprint_id = 0
    with connection.cursor().copy(
        "COPY sprints (id, team_id, jira_id, board_id, name, state, goal, start_at, end_at, completed_at,"
        " last_event_ms, created_at) FROM STDIN"
    ) as copy:
        for p in plans:
            for n in range(len(p.day_starts) // SPRINT_DAYS + 2):
                start_day = n * SPRINT_DAYS
                start = p.day_starts[0] + timedelta(days=start_day, hours=9)
                end = start + timedelta(days=SPRINT_DAYS)
                if start > now:
                    state, completed = "future", None
                elif end > now:
                    state, completed = "active", None
                else:
                    state, completed = "closed", end
                sprint_id += 1
                p.sprint_ids.append(sprint_id)
                copy.write_row(
                    (sprint_id, p.number, p.jira_sprint_id(n), p.number, f"{p.project} Sprint {n + 1}", state,
                     f"Ship increment {n + 1}", start, end, completed, 0, start - timedelta(days=3))
                )  # fmt: skip
                if state == "future":
                    break


@dataclass
class WinRow:
    team_id: int
    kind: str
    status: str
    title: str
    member_id: int | None
    points: float | None
    source: str
    source_key: str
    url: str | None
    visibility: str
    occurred_at: datetime


def _work_moment(rng: random.Random, p: TeamPlan, now: datetime, day: int | None = None) -> datetime:
    """A moment in working hours (9:00 to 18:00 local) on a working day, never after ``now``."""
    d = rng.choice(p.workdays) if day is None else day
    moment = p.day_starts[d] + timedelta(seconds=rng.randrange(9 * 3600, 18 * 3600))
    return min(moment, now - timedelta(seconds=rng.randrange(60, 3600)))


def _copy_tickets_and_wins(
    connection: psycopg.Connection[Any], plans: list[TeamPlan], rng: random.Random, now: datetime
) -> dict[str, int]:
    wins: list[WinRow] = []
    ticket_id = 0
    memberships: list[tuple[int, int]] = []  # one COPY at a time on a connection: these go after
    with connection.cursor().copy(
        "COPY tickets (id, team_id, issue_key, issue_id, project_key, summary, issue_type, is_subtask,"
        " labels, points, status_name, status_category, done, done_at, assignee_id, url,"
        " jira_created_at, last_event_ms, extra) FROM STDIN"
    ) as tickets:
        for p in plans:
            elapsed = [d for d in p.workdays if p.day_starts[d] < now]
            p.workdays = elapsed
            running = elapsed_day(p, now - timedelta(hours=9)) // SPRINT_DAYS  # sprints start at 9:00
            count = round(p.wins * TICKET_SHARE)
            for n in range(count + OPEN_TICKETS):
                ticket_id += 1
                key = f"{p.project}-{n + 1}"
                done = n < count
                done_at = _work_moment(rng, p, now) if done else None
                sprint_n = (elapsed_day(p, done_at) // SPRINT_DAYS) if done_at else running
                sprint_start = p.day_starts[0] + timedelta(days=sprint_n * SPRINT_DAYS, hours=9)
                # Most work was planned before its sprint started (committed); some came in later.
                if rng.random() < 0.85:
                    created = sprint_start - timedelta(hours=rng.randrange(1, 24 * 20))
                else:
                    created = sprint_start + timedelta(hours=rng.randrange(1, 24 * 5))
                if done_at is not None and created > done_at:
                    created = done_at - timedelta(hours=1)
                assignee = rng.choice(p.members)
                points = float(rng.choice((1, 2, 3, 5, 8)))
                summary = f"Make step {n % 97} of the {p.slug} pipeline faster"
                issue_type = "Bug" if n % 6 == 0 else "Story"
                status = ("Done", "done") if done else ("In Progress", "indeterminate")
                tickets.write_row(
                    (ticket_id, p.number, key, str(ticket_id), p.project, summary, issue_type, False, "[]",
                     points, status[0], status[1], done, done_at, assignee, f"{SITE}/browse/{key}", created,
                     0, "{}")
                )  # fmt: skip
                if not done or rng.random() < 0.85:
                    memberships.append((p.sprint_ids[sprint_n], ticket_id))
                if done_at is not None:
                    retracted = rng.random() < RETRACTED_SHARE
                    wins.append(
                        WinRow(p.number, "ticket", "retracted" if retracted else "active",
                               f"{key}: {summary}", assignee, points, "jira", key, f"{SITE}/browse/{key}",
                               "team", done_at)
                    )  # fmt: skip
            wins.extend(_people_wins(p, rng, now))
            wins.extend(_engine_wins(p, rng, now, count))
    with connection.cursor().copy("COPY sprint_tickets (sprint_id, ticket_id) FROM STDIN") as copy:
        for row in memberships:
            copy.write_row(row)
    wins.sort(key=lambda w: w.occurred_at)  # ids grow with time, as recording makes them
    with connection.cursor().copy(f"COPY wins ({WIN_COLUMNS}) FROM STDIN") as copy:
        for n, w in enumerate(wins, start=1):
            copy.write_row(
                (n, w.team_id, w.kind, w.status, w.title, w.member_id, w.points, w.source, w.source_key,
                 w.url, w.visibility, w.occurred_at, "{}", w.occurred_at, w.occurred_at)
            )  # fmt: skip
    return {"generated_wins": len(wins)}


def elapsed_day(p: TeamPlan, moment: datetime) -> int:
    return max(0, (moment - p.day_starts[0]).days)


def _people_wins(p: TeamPlan, rng: random.Random, now: datetime) -> Iterator[WinRow]:
    """Kudos (one person thanking another) and manual wins from Slack's ``/win``."""
    for n in range(round(p.wins * KUDOS_SHARE)):
        giver, receiver = rng.sample(p.members, 2)
        title = f"Thanks for the review, Person {giver:04d} says"
        key = f"kudos:{p.slug}:{n}:{receiver}"
        yield WinRow(p.number, "kudos", "active", title, receiver, None, "slack", key, None, "team",
                     _work_moment(rng, p, now))  # fmt: skip
    for n in range(round(p.wins * MANUAL_SHARE)):
        private = rng.random() < PRIVATE_SHARE
        yield WinRow(p.number, "manual", "active", f"Fixed the flaky test number {n}", rng.choice(p.members),
                     None, "slack", f"win:{p.slug}:{n}", None, "private" if private else "team",
                     _work_moment(rng, p, now))  # fmt: skip


def _engine_wins(p: TeamPlan, rng: random.Random, now: datetime, tickets: int) -> Iterator[WinRow]:
    """Milestones of each sprint, badges per person, and streaks for the rest of the team's share."""
    made = 0
    for n, _ in enumerate(p.sprint_ids):
        for name, day in (("first_win", 0), ("progress_50", 7), ("progress_100", 11)):
            d = n * SPRINT_DAYS + day
            if d >= len(p.day_starts) or p.day_starts[d] >= now:
                break
            yield WinRow(p.number, "milestone", "active", f"Sprint {n + 1}: {name.replace('_', ' ')}", None,
                         None, "engine", f"milestone:{p.jira_sprint_id(n)}:{name}", None, "team",
                         _work_moment(rng, p, now, d))  # fmt: skip
            made += 1
    for m in p.members:
        for badge in BADGES:
            yield WinRow(p.number, "badge", "active", f"Badge: {badge.replace('_', ' ')}", m, None, "engine",
                         f"badge:{badge}:{p.slug}:jira:bench-account-{m:04d}", None, "team",
                         _work_moment(rng, p, now))  # fmt: skip
            made += 1
    rest = p.wins - tickets - round(p.wins * KUDOS_SHARE) - round(p.wins * MANUAL_SHARE) - made
    for n in range(max(0, rest)):
        m = rng.choice(p.members)
        key = f"streak:{p.slug}:jira:bench-account-{m:04d}:{n}"
        yield WinRow(p.number, "streak", "active", f"{5 + n % 20}-day streak", m, None, "engine", key, None,
                     "team", _work_moment(rng, p, now))  # fmt: skip


def _add_cheers(connection: psycopg.Connection[Any]) -> None:
    """A quarter of the team's wins got one to three reactions on their Slack post."""
    connection.execute(
        "INSERT INTO cheers (win_id, slack_team_id, user_id, reaction, created_at)"
        " SELECT w.id, 'TBENCH', 'U' || lpad(((w.id * 7 + g) % 400 + 1)::text, 8, '0'),"
        " (ARRAY['tada', 'clap', 'rocket'])[1 + (w.id + g) % 3], w.occurred_at + g * interval '7 minutes'"
        " FROM wins w CROSS JOIN LATERAL generate_series(1, 1 + w.id % 3) AS g"
        " WHERE w.id % 4 = 0 AND w.visibility = 'team'"
    )


def _copy_streaks(
    connection: psycopg.Connection[Any], plans: list[TeamPlan], rng: random.Random, now: datetime
) -> None:
    today = now.date()
    with connection.cursor().copy(
        "COPY streak_stats (team_id, scope, member_id, current, best, current_start, last_day, updated_at)"
        " FROM STDIN"
    ) as copy:
        for p in plans:
            for m in [None, *p.members]:
                current = rng.choice((0, 0, 1, 2, 3, 5, 8, 13))
                best = current + rng.randrange(0, 30)
                start = today - timedelta(days=current) if current else None
                copy.write_row(
                    (p.number, "team" if m is None else "member", m, current, best, start, today, now)
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wins", type=int, default=1_000_000)
    parser.add_argument("--teams", type=int, default=50)
    args = parser.parse_args(argv)
    create(args.wins, args.teams)
    return 0


def create(wins: int, teams: int) -> dict[str, int]:
    """Drop and create the bench database, migrate it and seed it; return the row counts."""
    url = common.database_url(DB_NAME)
    with psycopg.connect(common.database_url("postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DB_NAME}"')
    database = Database(url)
    try:
        migrate.upgrade(database)
    finally:
        database.dispose()
    began = time.perf_counter()
    counts = seed(url, wins, teams, datetime.now(UTC))
    counts["seconds"] = round(time.perf_counter() - began)
    common.log(f"seeded {DB_NAME}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return counts


if __name__ == "__main__":
    raise SystemExit(main())
