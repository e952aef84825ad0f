"""A team's recent history, sent the way production receives it: signed Jira webhooks, then the jobs.

Two sprints (one closed, one running with a goal), tickets done over the last weeks by three people,
one of whom opts out of being named, a ticket whose title is a script, and an "only me" Slack win.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from integrations.jira import signature
from service.domain.wins import WinDraft, WinKind, WinSource, WinVisibility
from service.models import Member, Team
from service.web.extensions import runtime_of
from service.wins.record import record_win
from tests.conftest import SECRET
from tests.jobs.helpers import issue_payload, run_jobs

RESOLVED = "webhook-issue-updated-resolved.json"
HOSTILE_TITLE = "<script>alert(1)</script>"
GOAL = 'Ship the <b>"search"</b> page & more'
PRIVATE_TITLE = "only-me win nobody else sees"
OPTED_OUT_NAME = "Ada Optedout"
PEOPLE = [("acc-ada", OPTED_OUT_NAME), ("acc-bob", "Bob Builder"), ("acc-cy", "Cy Named")]
CLOSED_SPRINT = 101
ACTIVE_SPRINT = 102
SLUG = "tes"

# (sender, path, body bytes, headers): the test client's post, or an HTTP post to a live server.
Poster = Callable[[str, bytes, dict[str, str]], Any]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _jira(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def sprint_event(
    action: str, sprint_id: int, start: datetime, end: datetime, at: datetime, **extra: Any
) -> dict[str, Any]:
    closed = action == "closed"
    return {
        "timestamp": _ms(at),
        "webhookEvent": f"sprint_{action}",
        "sprint": {
            "id": sprint_id,
            "self": f"https://some-instance-test.atlassian.net/rest/agile/1.0/sprint/{sprint_id}",
            "state": "closed" if closed else "active",
            "name": f"Sprint {sprint_id}",
            "startDate": _jira(start),
            "endDate": _jira(end),
            "completeDate": _jira(end) if closed else None,
            "originBoardId": 1,
            **extra,
        },
    }


def sprint_field(sprint_id: int, state: str) -> list[dict[str, Any]]:
    return [{"id": sprint_id, "name": f"Sprint {sprint_id}", "state": state, "boardId": 1, "goal": None}]


def ticket_done(
    key: str, at: datetime, who: tuple[str, str], sprint: int, state: str, title: str | None = None
) -> dict[str, Any]:
    payload = issue_payload(
        RESOLVED, key=key, timestamp=_ms(at), assignee=who, points=2, sprints=sprint_field(sprint, state)
    )
    if title is not None:
        payload["issue"]["fields"]["summary"] = title
    return payload


def deliveries(now: datetime) -> list[dict[str, Any]]:
    """The history, oldest first, relative to ``now`` so the heatmap and the running sprint cover it."""
    closed_start, closed_end = now - timedelta(days=30), now - timedelta(days=16)
    active_start, active_end = now - timedelta(days=6), now + timedelta(days=8)
    out = [sprint_event("started", CLOSED_SPRINT, closed_start, closed_end, closed_start)]
    for i in range(6):
        at = closed_start + timedelta(days=i * 2, hours=3)
        out.append(ticket_done(f"TES-{i + 1}", at, PEOPLE[i % 3], CLOSED_SPRINT, "active"))
    out.append(sprint_event("closed", CLOSED_SPRINT, closed_start, closed_end, closed_end))
    out.append(sprint_event("started", ACTIVE_SPRINT, active_start, active_end, active_start, goal=GOAL))
    for i in range(5):
        at = active_start + timedelta(days=i, hours=2)
        title = HOSTILE_TITLE if i == 2 else None
        out.append(ticket_done(f"TES-{i + 11}", at, PEOPLE[i % 3], ACTIVE_SPRINT, "active", title))
    return out


def post_signed(post: Poster, payload: dict[str, Any], delivery_id: str) -> None:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature": signature.sign(SECRET, body),
        "X-Atlassian-Webhook-Identifier": delivery_id,
    }
    response = post("/webhooks/jira", body, headers)
    status = getattr(response, "status_code", getattr(response, "status", None))
    assert status in (200, 202), status


def seed(app: Flask, now: datetime | None = None) -> None:
    """Send the history through the webhook, run the jobs, then opt Ada out and add an "only me" win."""
    now = now or datetime.now(UTC)
    client = app.test_client()

    def post(path: str, body: bytes, headers: dict[str, str]) -> Any:
        return client.post(path, data=body, headers=headers)

    for n, payload in enumerate(deliveries(now)):
        post_signed(post, payload, f"seed-{n}")
        run_jobs(app)
    with runtime_of(app).database.transaction() as session:
        ada = session.scalars(select(Member).where(Member.jira_account_id == "acc-ada")).one()
        ada.sharing_opt_out = True
        team = session.scalars(select(Team).where(Team.slug == SLUG)).one()
        bob = session.scalars(select(Member).where(Member.jira_account_id == "acc-bob")).one()
        draft = WinDraft(
            kind=WinKind.MANUAL,
            source=WinSource.SLACK,
            source_key="slack-private-1",
            title=PRIVATE_TITLE,
            occurred_at=now - timedelta(hours=1),
        )
        record_win(session, draft, team_id=team.id, member_id=bob.id, visibility=WinVisibility.PRIVATE)
