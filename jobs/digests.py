"""Digest jobs: the scheduler tick, posting one digest exactly once, and the sprint-end celebration.

These are RQ entry points (their dotted paths are what queued jobs name): they read and write
through ``service.digests`` and send through ``jobs.digest_delivery``, which explains how a digest
is posted exactly once.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.slack import installation
from jobs import runtime
from jobs.digest_delivery import CLAIM_LEASE, DigestInProgress, PostOutcome, deliver
from jobs.queue import JobQueue, QueueUnavailable
from service.digests import build, posting, sprint_end, stored, targets
from service.domain.digest_blocks import Digest
from service.domain.digest_periods import RunPeriod, run_now_period_key, sprint_end_period_key
from service.domain.schedule import Period
from service.models import Team, utcnow
from service.models.digests import DigestKind
from service.models.slack import ChannelLink
from service.slack import workspaces

__all__ = [
    "DigestInProgress",
    "PostOutcome",
    "celebrate_sprint_end",
    "deliver_digest",
    "digest_job_id",
    "post_digest",
    "request_sprint_end",
    "run_digest_now",
    "schedule_tick",
    "sprint_end_job_id",
]

log = logging.getLogger(__name__)

# How far back the tick looks for stranded rows and for closed sprints not yet celebrated.
RECOVERY_HORIZON = timedelta(days=1)
_JOB_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def digest_job_id(team_id: int, channel_id: str, period_key: str) -> str:
    """One job id per (team, channel, period); RQ ids allow letters, digits, ``_`` and ``-``."""
    return _JOB_ID_UNSAFE.sub("_", f"digest-{team_id}-{channel_id}-{period_key}")


def sprint_end_job_id(sprint_id: int) -> str:
    return f"sprint-end-{sprint_id}"


def deliver_job_id(digest_id: int) -> str:
    return f"deliver-digest-{digest_id}"


# -- the jobs --------------------------------------------------------------------------------------------


def post_digest(
    team_id: int,
    link_id: int,
    period_key: str,
    start_iso: str,
    end_iso: str,
    label: str,
    post_when_empty: bool = False,
) -> dict[str, Any]:
    """Compose (once) and post the team's digest for one period to one linked channel."""
    rt = runtime.current()
    period = Period(
        key=period_key,
        start=datetime.fromisoformat(start_iso),
        end=datetime.fromisoformat(end_iso),
        label=label,
    )
    now = utcnow()
    with rt.database.transaction() as session:
        link = session.get(ChannelLink, link_id)
        team = session.get(Team, team_id)
        if (
            link is None
            or team is None
            or link.team_id != team_id
            or not workspaces.link_row_in_team_workspace(session, link)
        ):
            return {"state": "unlinked"}
        row = stored.ensure_digest(
            session,
            team_id=team_id,
            slack_team_id=link.slack_team_id,
            channel_id=link.channel_id,
            period_key=period.key,
            compose=lambda: build.compose_for_period(
                session, team, period, now=now, post_when_empty=post_when_empty
            ),
        )
        digest_id = row.id
    return deliver_digest(digest_id)


def deliver_digest(digest_id: int) -> dict[str, Any]:
    """Send a stored digest row to Slack exactly once (see ``jobs.digest_delivery``)."""
    return deliver(runtime.current(), digest_id).as_dict()


def celebrate_sprint_end(sprint_id: int) -> dict[str, Any]:
    """Post the sprint-end celebration to the team's linked channels, once per sprint and channel.

    Without Slack it is rendered to the log and stored. Keyed ``sprint-end:<sprint id>``, so the
    hook, the scheduler's catch-up and a retried job all end in one post per channel.
    """
    rt = runtime.current()
    now = utcnow()
    with rt.database.transaction() as session:
        sprint = sprint_end.closed_sprint(session, sprint_id)
        if sprint is None:
            return {"state": "not_closed", "deliveries": []}
        win_id = sprint_end.sprint_closed_win_id(session, sprint)

        def compose() -> Digest:
            return build.compose_sprint_celebration(session, sprint, now=now)

        celebration = stored.ComposeOnce(compose)
        row_ids = stored.ensure_for_targets(
            session,
            targets.targets(session, sprint.team_id, slack_enabled=_slack_enabled(rt), for_sprint_end=True),
            team_id=sprint.team_id,
            period_key=sprint_end_period_key(sprint_id),
            compose=celebration,
            kind=DigestKind.SPRINT_END,
            win_id=win_id,
        )
    outcomes = [deliver(rt, row_id, composed=celebration.composed) for row_id in row_ids]
    return {"state": "done", "deliveries": [outcome.as_dict() for outcome in outcomes]}


def request_sprint_end(sprint_id: int, queue: JobQueue | None = None) -> bool:
    """The hook after a sprint closes: enqueue its celebration once. False if already requested.

    A queue outage loses nothing: the scheduler's tick catches up closed sprints not yet celebrated.
    """
    try:
        return (queue or runtime.current().queue).enqueue_unique(
            celebrate_sprint_end, sprint_id, job_id=sprint_end_job_id(sprint_id)
        )
    except QueueUnavailable:
        log.warning(
            "queue unavailable; the sprint-end celebration of sprint %s waits for the tick", sprint_id
        )
        return False


def schedule_tick(now_iso: str | None = None) -> dict[str, Any]:
    """Enqueue a digest job for every non-paused link whose schedule has a period due now.

    Run every minute by ``sprintwins scheduler``. ``last_run_at`` moves to the period's end only
    after its job is enqueued (or was already there), so nothing due is skipped and, with
    ``due_period``'s grace, nothing missed while paused or down is replayed. Also catches up
    closed sprints not yet celebrated and digests whose sender died.
    """
    rt = runtime.current()
    now = datetime.fromisoformat(now_iso) if now_iso else datetime.now(UTC)
    with rt.database.sessions() as session:
        due = targets.due_periods(session, now)
        sprints = sprint_end.uncelebrated_sprints(session, now=now, horizon=RECOVERY_HORIZON)
        stranded = posting.stranded(session, now=now, lease=CLAIM_LEASE, horizon=RECOVERY_HORIZON)

    enqueued: list[str] = []
    done_links: dict[int, datetime] = {}
    for item in due:
        period = item.period
        job_id = digest_job_id(item.team_id, item.channel_id, period.key)
        try:
            if rt.queue.enqueue_unique(
                post_digest,
                item.team_id,
                item.link_id,
                period.key,
                period.start.isoformat(),
                period.end.isoformat(),
                period.label,
                item.post_when_empty,
                job_id=job_id,
            ):
                enqueued.append(job_id)
        except QueueUnavailable:
            log.warning("queue unavailable; %s is tried again on the next tick", job_id)
            continue
        done_links[item.link_id] = period.end
    if done_links:
        with rt.database.transaction() as session:
            targets.mark_runs(session, done_links)

    for sprint_id in sprints:
        if request_sprint_end(sprint_id, rt.queue):
            enqueued.append(sprint_end_job_id(sprint_id))
    for digest_id in stranded:
        try:
            if rt.queue.enqueue_unique(deliver_digest, digest_id, job_id=deliver_job_id(digest_id)):
                enqueued.append(deliver_job_id(digest_id))
        except QueueUnavailable:
            break
    return {"enqueued": enqueued}


# -- digest now (the CLI) --------------------------------------------------------------------------------


def run_digest_now(
    team_id: int, which: RunPeriod = RunPeriod.WEEK, *, now: datetime | None = None
) -> list[PostOutcome]:
    """Post the team's digest for this week/day/sprint now: to its linked channels when Slack is set up,
    otherwise rendered (returned in ``PostOutcome.rendered``) and stored. Once per period and channel."""
    rt = runtime.current()
    now = now or utcnow()
    with rt.database.transaction() as session:
        team = session.get(Team, team_id)
        if team is None:
            raise LookupError(f"no team with id {team_id}")
        period = build.period_for_run(session, team, which, now)

        def compose() -> Digest | None:
            return build.compose_for_period(session, team, period, now=now, post_when_empty=True)

        digest = stored.ComposeOnce(compose)
        row_ids = stored.ensure_for_targets(
            session,
            targets.targets(session, team_id, slack_enabled=_slack_enabled(rt), for_sprint_end=False),
            team_id=team_id,
            period_key=run_now_period_key(period.key),
            compose=digest,
        )
    return [deliver(rt, row_id, composed=digest.composed) for row_id in row_ids]


def _slack_enabled(rt: runtime.Runtime) -> bool:
    return installation.slack_enabled(rt.settings)
