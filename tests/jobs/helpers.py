"""Build deliveries from the real corpus payloads and run the queue to completion."""

from __future__ import annotations

import copy
from typing import Any

from flask import Flask
from rq import SimpleWorker
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import select

from jobs.queue import InProcessJobQueue, RQJobQueue
from service.models import InboundEvent, Sprint, Team, Ticket, Win
from service.web.extensions import runtime_of
from service.web.jira_webhook import DRAIN_REQUESTS
from tests.conftest import load_jira

BACKENDS = ["sqlite", "postgres"]


def issue_payload(
    base: str,
    *,
    key: str = "TES-41",
    timestamp: int,
    assignee: tuple[str, str] | None = None,
    points: float | None = None,
    sprints: list[dict[str, Any]] | None = None,
    status: tuple[str, str] | None = None,
    resolution: str | bool | None = False,
) -> dict[str, Any]:
    """A corpus payload re-keyed and re-timed, as Jira would send it for another issue or moment."""
    payload = copy.deepcopy(load_jira(base))
    payload["timestamp"] = timestamp
    issue = payload["issue"]
    issue["key"] = key
    issue["fields"]["project"]["key"] = key.rsplit("-", 1)[0]
    if assignee:
        issue["fields"]["assignee"] = {"accountId": assignee[0], "displayName": assignee[1]}
    if points is not None:
        issue["fields"]["customfield_10016"] = points
    if sprints is not None:
        issue["fields"]["customfield_10021"] = sprints
    if status:
        issue["fields"]["status"] = {"name": status[0], "statusCategory": {"key": status[1]}}
    if resolution is not False:
        issue["fields"]["resolution"] = {"name": resolution} if resolution else None
    return payload


def sprint_payload(
    action: str,
    sprint_id: int,
    timestamp: int,
    *,
    board: int = 1,
    goal: str | None = None,
    name: str | None = None,
    state: str = "active",
) -> dict[str, Any]:
    return {
        "timestamp": timestamp,
        "webhookEvent": f"sprint_{action}",
        "sprint": {
            "id": sprint_id,
            "self": f"https://some-instance-test.atlassian.net/rest/agile/1.0/sprint/{sprint_id}",
            "state": state,
            "name": name or f"Sprint {sprint_id}",
            "startDate": "2026-11-09T09:00:00.000Z",
            "endDate": "2026-11-20T17:00:00.000Z",
            "completeDate": "2026-11-20T16:00:00.000Z" if action == "closed" else None,
            "originBoardId": board,
            "goal": goal,
        },
    }


def sprint_object(sprint_id: int, *, board: int = 1, state: str = "active") -> dict[str, Any]:
    return {"id": sprint_id, "name": f"Sprint {sprint_id}", "state": state, "boardId": board, "goal": None}


def run_jobs(app: Flask) -> None:
    """Run everything queued: the in-process thread, or RQ's SimpleWorker in burst mode."""
    rt = runtime_of(app)
    if isinstance(rt.queue, InProcessJobQueue):
        assert rt.queue.wait_idle(60), "in-process jobs did not finish"
        assert rt.queue.failures == 0
        return
    assert isinstance(rt.queue, RQJobQueue)
    # A burst worker stops when the queue is empty: ask now for a drain that the web process's
    # throttle would ask for a few milliseconds from now.
    app.extensions[DRAIN_REQUESTS].flush()
    SimpleWorker([rt.queue.rq], connection=rt.queue.redis, serializer=JSONSerializer).work(burst=True)
    failed = FailedJobRegistry(queue=rt.queue.rq)
    assert failed.count == 0, [rt.queue.rq.fetch_job(j).exc_info for j in failed.get_job_ids()]  # type: ignore[union-attr]


def wins(app: Flask, kind: str | None = None, *, engine: bool = False) -> list[Win]:
    """Wins recorded from Jira (and Slack); the progress engine's own only when ``engine``."""
    with runtime_of(app).database.sessions() as session:
        query = select(Win).order_by(Win.id)
        if kind:
            query = query.where(Win.kind == kind)
        if not engine:
            query = query.where(Win.source != "engine")
        return list(session.scalars(query))


def inbox_states(app: Flask) -> list[str]:
    with runtime_of(app).database.sessions() as session:
        return list(session.scalars(select(InboundEvent.state).order_by(InboundEvent.id)))


def ticket(app: Flask, key: str) -> Ticket:
    with runtime_of(app).database.sessions() as session:
        return session.scalars(select(Ticket).where(Ticket.issue_key == key)).one()


def teams(app: Flask) -> dict[str, Team]:
    with runtime_of(app).database.sessions() as session:
        return {t.slug: t for t in session.scalars(select(Team))}


def sprints(app: Flask) -> dict[int | None, Sprint]:
    with runtime_of(app).database.sessions() as session:
        return {s.jira_id: s for s in session.scalars(select(Sprint))}
