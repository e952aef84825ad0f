"""Live celebrations: post a team's new wins to its live channels, gathered, paced, exactly once.

``request_live_celebrations`` is called once per recorded batch (after the progress recompute, which
is what records milestones); it coalesces to one waiting job per team. ``post_live_celebrations``
first sends the team's live rows a failed or crashed attempt left unsent, then gathers each live
channel's waiting wins into one stored row (``service.slack.celebrations.gather``) and sends it
through ``jobs.digest_delivery.deliver``: the one poster paces the channel and waits out 429s, the
claim and the message metadata make each row (so each win) appear once, across retries and crashes.
``live_celebrations_tick`` runs every minute: it posts what waited for the gathering window, and
whatever a lost job left behind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from integrations.slack import installation
from jobs import runtime
from jobs.digest_delivery import deliver
from jobs.queue import JobQueue, QueueUnavailable
from service.models import utcnow
from service.slack import celebrations

log = logging.getLogger(__name__)

COALESCE_TTL_S = 60


def live_flag(team_id: int) -> str:
    return f"live-celebrations:{team_id}"


def request_live_celebrations(team_ids: Iterable[int], queue: JobQueue | None = None) -> int:
    """Make sure a live-celebration job is on its way for each team (one waiting job per team)."""
    q = queue or runtime.current().queue
    enqueued = 0
    for team_id in sorted(set(team_ids)):
        enqueued += q.enqueue_coalesced(
            post_live_celebrations, team_id, flag=live_flag(team_id), ttl_seconds=COALESCE_TTL_S
        )
    return enqueued


def post_live_celebrations(team_id: int) -> dict[str, Any]:
    """Send the team's unsent live rows, then one new message per live channel with waiting wins.

    Raises ``DigestInProgress`` (RQ retries the job) when a row's outcome is uncertain or another
    worker holds it; a retry sends that same row, never a second one for the same wins.
    """
    rt = runtime.current()
    rt.queue.clear_flag(live_flag(team_id))  # a batch recorded from now on asks for a job of its own
    if not installation.slack_enabled(rt.settings):
        return {"state": "no_slack", "deliveries": []}
    with rt.database.sessions() as session:
        unsent = celebrations.unsent_live_posts(session, team_id)
        link_ids = celebrations.live_link_ids(session, team_id)
    deliveries = [deliver(rt, digest_id).as_dict() for digest_id in unsent]
    now = utcnow()
    for link_id in link_ids:
        with rt.database.transaction() as session:
            gathered = celebrations.gather(session, link_id, now=now)
        if gathered is not None:
            deliveries.append(
                {**deliver(rt, gathered.digest_id).as_dict(), "win_ids": list(gathered.win_ids)}
            )
    return {"state": "done", "deliveries": deliveries}


def live_celebrations_tick() -> dict[str, Any]:
    """Every minute: ask for a job for each team with recent wins a live channel may not have seen."""
    rt = runtime.current()
    with rt.database.sessions() as session:
        team_ids = celebrations.teams_with_news(session, now=utcnow())
    try:
        return {"teams": team_ids, "enqueued": request_live_celebrations(team_ids, rt.queue)}
    except QueueUnavailable:
        log.warning("queue unavailable; live celebrations wait for the next tick")
        return {"teams": team_ids, "enqueued": 0}
