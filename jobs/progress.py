"""Jobs that keep streaks, badges, milestones and challenges in step with the recorded wins.

A full recompute per team is the one code path (the CLI's ``recompute`` runs it too): it is
exact whatever order events came in, and its cost is bounded (for a million wins, seconds: mostly
Postgres reading the history, see docs/benchmarks.md). Bursts are coalesced per team, so a team
that records a hundred batches in a second is recomputed a few times, not a hundred.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date

from jobs import runtime
from jobs.celebrations import request_live_celebrations
from jobs.queue import JobQueue, QueueUnavailable
from service.observability.metrics import timed_recompute
from service.progress.load import TeamNotFound, load_team_inputs
from service.progress.recompute import lock_team, run_recompute
from service.progress.save import store_result

log = logging.getLogger(__name__)

COALESCE_TTL_S = 60


def progress_flag(team_id: int) -> str:
    return f"progress:{team_id}"


def request_progress_update(team_ids: Iterable[int], queue: JobQueue | None = None) -> int:
    """Make sure a recompute is on its way for each team (one waiting job per team at most).

    Returns how many jobs were enqueued. Call it after a batch of wins is recorded.
    """
    q = queue or runtime.current().queue
    enqueued = 0
    for team_id in sorted(set(team_ids)):
        enqueued += q.enqueue_coalesced(
            update_progress, [team_id], flag=progress_flag(team_id), ttl_seconds=COALESCE_TTL_S
        )
    return enqueued


@contextmanager
def collector_paused() -> Iterator[None]:
    """The engine builds a million small immutable objects and no cycles: generational GC passes
    over them would cost a third of the recompute for nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def update_progress(team_ids: list[int], today: str | None = None) -> dict[str, dict[str, int]]:
    """Recompute and store the progress of each team, one transaction per team.

    ``today`` (ISO date) pins the teams' local date, for replays; by default each team's own.
    Idempotent: a second run with nothing new changes no row.
    """
    rt = runtime.current()
    pinned = date.fromisoformat(today) if today else None
    results: dict[str, dict[str, int]] = {}
    for team_id in sorted(set(team_ids)):
        # Cleared before reading: a batch recorded from now on asks for a job of its own.
        rt.queue.clear_flag(progress_flag(team_id))
        with rt.database.transaction() as session:
            if not lock_team(session, team_id):
                continue  # the team was merged away or deleted since the batch
            try:
                with collector_paused(), timed_recompute():
                    inputs = load_team_inputs(session, team_id)
                    result = run_recompute(inputs, pinned or inputs.local_today())
            except TeamNotFound:
                continue
            changes = store_result(session, inputs, result)
        results[str(team_id)] = changes.summary()
        if not changes.nothing:
            log.info("progress of team %s: %s", team_id, changes.summary())
    try:  # after the recompute, which records milestones: the new wins are celebrated live
        request_live_celebrations([int(team_id) for team_id in results], rt.queue)
    except QueueUnavailable:
        log.warning("queue unavailable; live celebrations wait for the scheduler's minute tick")
    return results
