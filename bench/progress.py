"""Benchmark 3, the progress engine: a full recompute of a team with 1,000,000 wins, and the
incremental update for one new event.

* recompute: ``service.domain.progress.recompute`` over 1,000,000 counted wins (25 people, four
  years, two-week sprints with their committed scope, three challenges, the issue ages the store
  hands over), run the way ``jobs.progress.update_progress`` runs it (collector paused). The
  wins arrive in (occurred_at, id) order, as the store's query returns them. Goal: median ≤ 2 s.
* incremental: ``ProgressState.apply`` for one new win on a state that already holds the million.
  Goal: median ≤ 1 ms. Both exclude I/O: loading rows is the database's part of the job.

Usage: ``python -m bench.progress [--wins 1000000] [--reps 3] [--events 2000]``
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.common import log, median, write_results
from jobs.progress import collector_paused
from service.domain.calendar import TeamCalendar
from service.domain.challenges import Challenge
from service.domain.milestones import relevant_issue_ages
from service.domain.progress import ProgressState, recompute
from service.domain.progress_inputs import IssueAge, RecordedWin
from service.domain.sprint_scope import SprintScope
from service.domain.team_rules import TeamRules
from service.domain.wins import WinKind, WinStatus

TEAM = "1"
PEOPLE = 25
START = datetime(2022, 1, 3, 8, 0, tzinfo=UTC)  # a Monday
DAYS = 4 * 365
SPRINT_DAYS = 14
GOALS = {"recompute_s": 2.0, "incremental_ms": 1.0}


def build_history(count: int, seed: int) -> tuple[list[RecordedWin], list[SprintScope], list[IssueAge]]:
    rng = random.Random(seed)
    seconds = DAYS * 86400
    instants = sorted(START + timedelta(seconds=rng.randrange(seconds)) for _ in range(count))
    kinds = (WinKind.TICKET,) * 8 + (WinKind.MANUAL, WinKind.KUDOS)
    types = ("Story", "Story", "Task", "Bug", "Sub-task")
    wins: list[RecordedWin] = []
    sprints: dict[int, dict[str, Any]] = {}
    ages: list[IssueAge] = []
    for i, at in enumerate(instants, start=1):
        kind = rng.choice(kinds)
        member = f"{TEAM}:{rng.randrange(PEOPLE)}"
        if kind is WinKind.TICKET:
            issue_type = rng.choice(types)
            sprint = (at - START).days // SPRINT_DAYS
            key = f"WEB-{i}"
            points = rng.choice((None, 1.0, 2.0, 3.0, 5.0))
            wins.append(
                RecordedWin(
                    i,
                    kind,
                    WinStatus.ACTIVE,
                    member,
                    at,
                    points,
                    key,
                    issue_type,
                    str(sprint),
                    issue_type == "Bug",
                    None,
                    ("web",),
                    "WEB",
                    issue_type == "Sub-task",
                )
            )
            scope = sprints.setdefault(sprint, {"done": {}, "assignees": {}})
            scope["done"][key] = (at, points)
            scope["assignees"][key] = member
            ages.append(IssueAge(key, at - timedelta(days=rng.randrange(1, 30)), at))
        else:
            giver = f"{TEAM}:{rng.randrange(PEOPLE)}" if kind is WinKind.KUDOS else None
            wins.append(RecordedWin(i, kind, WinStatus.ACTIVE, member, at, None, f"w{i}", kudos_from=giver))
    scopes = []
    for n, scope in sorted(sprints.items()):
        begin = START + timedelta(days=n * SPRINT_DAYS)
        end = begin + timedelta(days=SPRINT_DAYS)
        scopes.append(
            SprintScope(
                str(n),
                f"Sprint {n}",
                begin,
                end,
                end,
                frozenset(scope["done"]),
                sum(p for _, p in scope["done"].values() if p is not None),
                scope["done"],
                scope["assignees"],
            )
        )
    ages.sort(key=lambda a: (a.created_at, a.issue_key))  # the store's ORDER BY
    return wins, scopes, relevant_issue_ages(ages)


def challenges(today: date) -> list[Challenge]:
    start = today - timedelta(days=6)
    return [
        Challenge(1, "team", "close 50 bugs this week", "bugs_closed", 50, start, today),
        Challenge(2, f"{TEAM}:3", "one small win a day for 5 days", "daily_wins", 5, start, today),
        Challenge(3, "team", "every finished story has points", "estimated_stories", 100, start, today),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wins", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--events", type=int, default=2000, help="single-event updates to time")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)

    log(f"building a history of {args.wins:,} wins")
    wins, sprints, ages = build_history(args.wins, args.seed)
    calendar = TeamCalendar("Europe/Berlin", frozenset({date(2023, 12, 25), date(2024, 12, 25)}))
    rules = TeamRules(count_subtasks=False)  # a filter, so the rule check runs as in a real team
    today = calendar.local_date(wins[-1].occurred_at)
    team_challenges = challenges(today)

    recompute_s: list[float] = []
    drafts = 0
    for rep in range(args.reps):
        with collector_paused():
            started = time.perf_counter()
            result = recompute(
                wins,
                sprints,
                calendar,
                rules,
                [],
                today,
                challenges=team_challenges,
                issue_ages=ages,
                team_ref=TEAM,
            )
            recompute_s.append(time.perf_counter() - started)
        drafts = len(result.drafts)
        log(f"recompute {rep + 1}/{args.reps}: {recompute_s[-1]:.3f} s, {drafts:,} drafts")

    # The same history without sprint scopes: separates the per-win rules (streaks, badges,
    # challenges) from the per-sprint ones (milestones over ~800,000 committed issues).
    wins_only_s: list[float] = []
    for _ in range(args.reps):
        with collector_paused():
            started = time.perf_counter()
            recompute(wins, [], calendar, rules, [], today, challenges=team_challenges, team_ref=TEAM)
            wins_only_s.append(time.perf_counter() - started)
    log(f"recompute without sprint scopes: median {median(wins_only_s):.3f} s")

    log("loading the live state with the same history")
    state = ProgressState(
        calendar, rules, sprints=sprints, challenges=team_challenges, issue_ages=ages, team_ref=TEAM
    )
    with collector_paused():
        state.sync_sprints()
        state.apply_many(wins)
    rng = random.Random(args.seed + 1)
    last = wins[-1].occurred_at
    incremental_ms: list[float] = []
    for n in range(args.events):
        last += timedelta(seconds=rng.randrange(60, 3600))
        win = RecordedWin(
            args.wins + n + 1,
            WinKind.TICKET,
            WinStatus.ACTIVE,
            f"{TEAM}:{rng.randrange(PEOPLE)}",
            last,
            2.0,
            f"NEW-{n}",
            "Story",
            None,
            False,
            None,
            ("web",),
            "WEB",
            False,
        )
        started = time.perf_counter()
        state.apply(win)
        incremental_ms.append((time.perf_counter() - started) * 1000)

    figures = {
        "recompute_s": {"median": median(recompute_s), "runs": recompute_s, "goal": GOALS["recompute_s"]},
        "recompute_without_sprints_s": {"median": median(wins_only_s), "runs": wins_only_s},
        "incremental_ms": {
            "median": median(incremental_ms),
            "p99": sorted(incremental_ms)[int(len(incremental_ms) * 0.99) - 1],
            "events": len(incremental_ms),
            "goal": GOALS["incremental_ms"],
        },
    }
    data = {
        "benchmark": "progress",
        "wins": args.wins,
        "people": PEOPLE,
        "sprints": len(sprints),
        "issue_ages_after_reduction": len(ages),
        "drafts": drafts,
        "figures": figures,
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
    }
    path = write_results("progress", data)
    ok = figures["recompute_s"]["median"] <= GOALS["recompute_s"] and (
        figures["incremental_ms"]["median"] <= GOALS["incremental_ms"]
    )
    print(
        f"recompute of {args.wins:,} wins: median {figures['recompute_s']['median']:.3f} s "
        f"(goal ≤ {GOALS['recompute_s']} s); one new event: median "
        f"{figures['incremental_ms']['median'] * 1000:.1f} µs (goal ≤ {GOALS['incremental_ms']} ms) -> {path}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
