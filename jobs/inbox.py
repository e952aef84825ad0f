"""Jobs that turn inbox rows into recorded wins. They take ids, never objects (RQ's JSON serializer)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import partial

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from integrations.jira.parse import parse_event
from jobs import runtime
from jobs.digests import request_sprint_end
from jobs.progress import request_progress_update
from jobs.queue import JobQueue, QueueUnavailable, RQJobQueue
from jobs.scope import request_scope_refresh, scope_refresh_targets
from jobs.shutdown import stop_requested
from jobs.slack_inbound import request_member_matching
from jobs.throttle import TrailingThrottle
from service.db import DATABASE_UNREACHABLE
from service.domain.events import DomainEvent, IssueChanged
from service.intake import inbox
from service.intake.recorder import EventRecorder, RecordStats
from service.models import InboxState
from service.observability.metrics import count_parked

log = logging.getLogger(__name__)

GIVE_UP_AFTER = 5
DRAIN_FLAG = "inbox-drain"
DRAIN_TIME_LIMIT_S = 60.0


def request_processing(queue: JobQueue | None = None) -> None:
    """Called after a delivery is stored: make sure a drain job is on its way (one at a time)."""
    (queue or runtime.current().queue).enqueue_coalesced(drain_inbox, flag=DRAIN_FLAG)


def drain_requests(rt: runtime.Runtime) -> TrailingThrottle:
    """How a web process asks for processing after each stored delivery: call the result.

    Asking Redis for a drain job is a round trip per delivery; a busy process asks at most once
    per interval, and always once after its latest commit (see jobs/throttle.py). In-process jobs
    cost no round trip, so there every delivery asks. A call made now raises ``QueueUnavailable``
    to its caller; one made later by the timer is logged here, and the sweeper picks the rows up.
    """
    interval = rt.settings.drain_request_interval_ms / 1000 if isinstance(rt.queue, RQJobQueue) else 0.0
    return TrailingThrottle(partial(request_processing, rt.queue), interval, _drain_request_failed)


def _drain_request_failed(error: Exception) -> None:
    if not isinstance(error, QueueUnavailable):
        raise error
    log.warning("queue unavailable; stored deliveries wait for the sweeper")


def drain_inbox() -> dict[str, int]:
    """Process pending inbox rows, a batch at a time, until none are left.

    Clearing the flag first means a delivery stored from now on requests a new job, which a
    second worker may run alongside this one: SKIP LOCKED hands each of them different rows.
    """
    rt = runtime.current()
    rt.queue.clear_flag(DRAIN_FLAG)
    totals: dict[str, int] = {}
    deadline = time.monotonic() + DRAIN_TIME_LIMIT_S
    while time.monotonic() < deadline and not stop_requested():  # a stopping worker leaves between batches
        result = process_inbox([], True)
        for key, value in result.items():
            totals[key] = totals.get(key, 0) + value
        if result.get("rows", 0) == 0:
            if not result.get("deferred"):
                return totals
            time.sleep(0.05)  # only rows another worker's batch holds: let it commit
    request_processing()  # time is up (or the worker stops) with work left: hand over to a fresh job
    return totals


def process_inbox(ids: list[int], drain: bool = True) -> dict[str, int]:
    """Process the given pending rows (and, with ``drain``, other pending rows up to a batch).

    Idempotent: rows already processed are skipped, and every write is keyed. A failing
    batch is retried row by row, once, so one poisonous payload cannot hold up the rest: a row
    that fails on its own because of what it holds is parked as failed at once, with its reason;
    one that fails because the database is away is counted and retried later.
    """
    rt = runtime.current()
    extra = max(0, rt.settings.inbox_batch_size - len(ids)) if drain else 0
    follow_up = FollowUp()
    try:
        with rt.database.transaction() as session:
            claimed = inbox.claim(session, ids, extra)
            result = _process_claimed(session, claimed, rt.settings.story_points_field, follow_up)
        _follow_up(rt.queue, follow_up)
        return result
    except Exception as batch_error:
        if len(ids) <= 1 and not drain:
            if ids and not _is_transient(batch_error):
                _park(ids[0], batch_error)
                return {"rows": 1, "failed": 1}
            _count_failure(ids, batch_error)
            raise
        log.warning("batch failed (%s); retrying its rows one by one", type(batch_error).__name__)
    totals: dict[str, int] = {}
    failed: list[int] = []  # only transient failures: poison is parked on the spot
    with rt.database.sessions() as session:
        retry_ids = ids or inbox.pending_ids(session)[: rt.settings.inbox_batch_size]
    for row_id in retry_ids:
        follow_up = FollowUp()
        try:
            with rt.database.transaction() as session:
                claimed = inbox.claim(session, [row_id], 0)
                for key, value in _process_claimed(
                    session, claimed, rt.settings.story_points_field, follow_up
                ).items():
                    totals[key] = totals.get(key, 0) + value
            _follow_up(rt.queue, follow_up)
        except Exception as row_error:
            if _is_transient(row_error):
                _count_failure([row_id], row_error)
                failed.append(row_id)
            else:
                _park(row_id, row_error)
                for key in ("rows", "failed"):  # a parked row is done with, as a drain counts
                    totals[key] = totals.get(key, 0) + 1
    if failed:
        raise RuntimeError(f"inbox rows {failed} failed; they will be retried")
    return totals


@dataclass
class FollowUp:
    """Work a committed batch asks for: celebrations, scope refreshes, progress recomputes."""

    closed_sprints: set[int] = field(default_factory=set)
    # Jira sprint ids by workspace: each workspace's site numbers its own sprints.
    scope_sprints: dict[int, set[int]] = field(default_factory=dict)
    teams: set[int] = field(default_factory=set)
    deferred: bool = False

    def add(self, other: FollowUp) -> None:
        self.closed_sprints |= other.closed_sprints
        for workspace_id, sprints in other.scope_sprints.items():
            self.scope_sprints.setdefault(workspace_id, set()).update(sprints)
        self.teams |= other.teams
        self.deferred = self.deferred or other.deferred


def _follow_up(queue: JobQueue, follow_up: FollowUp) -> None:
    """Enqueue what a batch asks for, after it committed. Each is idempotent and caught up later
    by the scheduler if the queue is away, so a failure here loses nothing."""
    try:
        if follow_up.deferred:
            request_processing(queue)
        for sprint_id in sorted(follow_up.closed_sprints):
            request_sprint_end(sprint_id, queue)
        for workspace_id, sprints in sorted(follow_up.scope_sprints.items()):
            if sprints:
                request_scope_refresh(sprints, queue, workspace_id=workspace_id)
        if follow_up.teams:
            request_progress_update(follow_up.teams, queue)
            request_member_matching(follow_up.teams, queue)
    except QueueUnavailable:
        log.warning("queue unavailable; follow-up work waits for the scheduler's catch-up")


def _process_claimed(
    session: Session, rows: list[inbox.ClaimedRow], points_field: str | None, follow_up: FollowUp
) -> dict[str, int]:
    events: list[tuple[int, DomainEvent]] = []
    workspaces: dict[int, list[tuple[int, DomainEvent]]] = {}  # a batch may hold several workspaces' rows
    ignored: list[int] = []
    for row in rows:
        try:
            payload = orjson.loads(row.body)
            event = parse_event(
                payload, received_at_ms=int(row.received_at.timestamp() * 1000), points_field=points_field
            )
        except Exception as error:  # parsing is pure: whatever it raises, the payload is at fault
            inbox.mark(session, [row.id], InboxState.FAILED, _reason(error))
            count_parked("unparseable")
            continue
        if event is None:
            ignored.append(row.id)
        else:
            events.append((row.id, event))
            workspaces.setdefault(row.workspace_id, []).append((row.id, event))
    totals = RecordStats()
    deferred: list[int] = []
    # Each workspace's events are recorded by a recorder of its own: nothing one finds or makes is
    # visible to another's, even for the same issue keys and sprint ids.
    for workspace_id, recorded in sorted(workspaces.items()):
        stats = EventRecorder(session, workspace_id=workspace_id).record([event for _, event in recorded])
        deferred += [
            row_id
            for row_id, event in recorded
            if isinstance(event, IssueChanged) and event.issue_key in stats.deferred_issue_keys
        ]
        totals.add(stats)
    skip = set(deferred)
    scope_sprints = {
        workspace_id: scope_refresh_targets(event for row_id, event in recorded if row_id not in skip)
        for workspace_id, recorded in workspaces.items()
    }
    follow_up.add(
        FollowUp(
            closed_sprints=totals.closed_sprint_ids,
            scope_sprints=scope_sprints,
            teams=totals.touched_teams,
            deferred=bool(deferred),
        )
    )
    inbox.mark(session, [row_id for row_id, _ in events if row_id not in skip], InboxState.PROCESSED)
    inbox.mark(session, ignored, InboxState.IGNORED)
    return {
        "rows": len(rows) - len(deferred),
        "deferred": len(deferred),
        "completed": totals.completed,
        "retracted": totals.retracted,
        "stale": totals.stale,
        "sprint_events": totals.sprint_events,
    }


def _is_transient(error: Exception) -> bool:
    """An outage, a lock or a race another attempt can get past; anything else is the row's own.

    A unique violation counts as a race (two workers making the same row), not as poison.
    """
    return isinstance(error, (*DATABASE_UNREACHABLE, PoolTimeout, IntegrityError))


def _reason(error: BaseException) -> str:
    # A driver's message may quote the refused value: a NUL in it would be refused again.
    return f"{type(error).__name__}: {error}".replace("\x00", "\\x00")


def _park(row_id: int, error: Exception) -> None:
    rt = runtime.current()
    log.error("inbox row %s parked as failed: %s", row_id, type(error).__name__)
    count_parked("poison")
    try:
        with rt.database.transaction() as session:
            inbox.record_failed_attempt(session, row_id, _reason(error), give_up_after=1)
    except Exception:  # the database itself may be what failed; the row stays pending for a retry
        log.exception("could not park inbox row %s", row_id)


def _count_failure(ids: list[int], error: Exception) -> None:
    rt = runtime.current()
    try:
        with rt.database.transaction() as session:
            for row_id in ids:
                if inbox.record_failed_attempt(session, row_id, _reason(error), GIVE_UP_AFTER):
                    log.error("inbox row %s parked as failed after %d attempts", row_id, GIVE_UP_AFTER)
                    count_parked("attempts")
    except Exception:  # the database itself may be what failed; RQ's retry will come back
        log.exception("could not record the failed attempt for inbox rows %s", ids)


def sweep_inbox() -> dict[str, int]:
    """Enqueue every pending inbox row, in batches: run at worker start-up and periodically."""
    rt = runtime.current()
    with rt.database.sessions() as session:
        ids = inbox.pending_ids(session)
    size = rt.settings.inbox_batch_size
    batches = [ids[i : i + size] for i in range(0, len(ids), size)]
    enqueued = 0
    for batch in batches:
        try:
            rt.queue.enqueue(process_inbox, batch, False)
            enqueued += 1
        except QueueUnavailable:
            log.warning("queue unavailable; %d pending rows wait for the next sweep", len(ids))
            break
    return {"pending": len(ids), "batches": enqueued}
