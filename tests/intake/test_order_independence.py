"""The same deliveries in any order end in the same active wins, with the same keys.

Every delivery goes through the real edge (a signed ``POST /webhooks/jira``) and is processed as a
batch of its own before the next arrives, so a reversed or shuffled history reaches the recorder
and the progress engine in that order. What is compared names things as the outside world does
(teams by slug, people by Jira account, a trigger by its win's key): row ids differ between two
orders by construction, and nothing compared may depend on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from jobs.progress import update_progress
from service.models import Team, Win
from service.web.extensions import runtime_of
from tests.conftest import AppFactory, _empty_tables, post_jira
from tests.jobs.helpers import issue_payload, run_jobs, sprint_object, sprint_payload
from tests.progress.conftest import TODAY, day, ms, resolved, team_ids

SPRINT = 7
PEOPLE = [("acc-ada", "Ada"), ("acc-bob", "Bob")]

Snapshot = set[tuple[Any, ...]]


def deliver_one_by_one(app: Flask, payloads: Sequence[dict[str, Any]]) -> None:
    """Each payload its own signed delivery, processed (with its follow-up jobs) before the next."""
    client = app.test_client()
    for i, payload in enumerate(payloads):
        assert post_jira(client, payload, delivery_id=f"order-{i}-{payload['timestamp']}").status_code == 202
        run_jobs(app)
    update_progress(team_ids(app), TODAY)


def snapshot(app: Flask) -> Snapshot:
    """Every active win as the outside world would name it."""
    with runtime_of(app).database.sessions() as session:
        slugs = {team_id: slug for team_id, slug in session.execute(select(Team.id, Team.slug))}
        every = list(session.scalars(select(Win)))
        keys = {w.id: (w.kind, w.source_key) for w in every}
        out: Snapshot = set()
        for win in every:
            if win.status != "active":
                continue
            details = dict(win.details or {})
            if details.get("trigger_win_id") is not None:
                details["trigger_win_id"] = keys[details["trigger_win_id"]]
            out.add(
                (
                    slugs[win.team_id],
                    win.kind,
                    win.source,
                    win.source_key,
                    win.title,
                    win.occurred_at.isoformat(),
                    win.member.jira_account_id if win.member else None,
                    win.points,
                    repr(sorted(details.items())),
                )
            )
        return out


def same_in_both_orders(
    app: Flask, first: Sequence[dict[str, Any]], second: Sequence[dict[str, Any]]
) -> None:
    database = runtime_of(app).database
    _empty_tables(database)
    deliver_one_by_one(app, first)
    expected = snapshot(app)
    _empty_tables(database)
    deliver_one_by_one(app, second)
    assert snapshot(app) == expected


# -- the measured case ------------------------------------------------------------------------------------


def started_done_closed() -> list[dict[str, Any]]:
    """A sprint started, four stories completed before its end, the sprint closed."""
    return [
        sprint_payload("started", SPRINT, ms(day(0)) - 3_600_000),
        *(resolved(f"TES-{n}", day(n)) for n in range(1, 5)),
        sprint_payload("closed", SPRINT, ms(day(11, 16)), state="closed"),
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_sprint_delivered_backwards_earns_what_it_earns_delivered_forwards(
    make_app: AppFactory, backend: str
) -> None:
    app = make_app(backend)
    history = started_done_closed()
    same_in_both_orders(app, history, list(reversed(history)))
    milestones = {key for (_, kind, _, key, *_) in snapshot(app) if kind == "milestone"}
    assert f"milestone:{SPRINT}:scope_done_early" in milestones  # Jira's sprint id, not our row's
    badges = {key for (_, kind, _, key, *_) in snapshot(app) if kind == "badge"}
    assert "badge:first_win:tes:jira:acc-ada" in badges  # the team's slug and the person's account


# -- random histories ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One thing that happened in Jira, at ``minute`` minutes after the sprint's first morning."""

    minute: int
    what: str  # "created", "done", "reopened", "started" or "closed"
    issue: int = 0
    who: int = 0
    in_sprint: bool = True
    sprint_field: bool = True  # False: the payload carries no sprint field (the ticket keeps its sprints)

    def payload(self) -> dict[str, Any]:
        at = day(0) + timedelta(minutes=self.minute)
        if self.what in {"started", "closed"}:
            state = "active" if self.what == "started" else "closed"
            return sprint_payload(self.what, SPRINT, ms(at), state=state)
        key = f"TES-{self.issue}"
        sprints = ([sprint_object(SPRINT)] if self.in_sprint else []) if self.sprint_field else None
        if self.what == "done":
            payload = resolved(key, at, PEOPLE[self.who], points=self.issue % 3 + 1)
            payload["issue"]["fields"]["customfield_10021"] = sprints
            return payload
        base = (
            "webhook-issue-created.json" if self.what == "created" else "webhook-issue-updated-reopened.json"
        )
        return issue_payload(base, key=key, timestamp=ms(at), assignee=PEOPLE[self.who], sprints=sprints)


@st.composite
def histories(draw: st.DrawFn) -> list[Step]:
    """Issues created, completed and reopened, inside or outside one sprint that starts and may close;
    a payload may carry no sprint field at all.

    Every moment is distinct: two events at the same millisecond have no order in Jira either.
    """
    minutes = iter(draw(st.lists(st.integers(1, 11 * 24 * 60), min_size=20, max_size=20, unique=True)))
    steps = [Step(0, "started")]
    for issue in range(1, draw(st.integers(1, 4)) + 1):
        who = draw(st.integers(0, 1))
        in_sprint = draw(st.booleans())
        changes = draw(st.lists(st.sampled_from(["done", "reopened"]), min_size=1, max_size=3))
        for what in ["created", *changes]:
            steps.append(Step(next(minutes), what, issue, who, in_sprint, draw(st.booleans())))
    if draw(st.booleans()):
        steps.append(Step(11 * 24 * 60 + 60, "closed"))
    return steps


def _check_random_orders(app: Flask, data: st.DataObject) -> None:
    history = data.draw(histories(), label="history")
    payloads = [step.payload() for step in history]
    first = data.draw(st.permutations(payloads), label="first order")
    second = data.draw(st.permutations(payloads), label="second order")
    same_in_both_orders(app, first, second)


@pytest.fixture
def sqlite_app(make_app: AppFactory) -> Flask:
    return make_app("sqlite")


@pytest.fixture
def postgres_app(make_app: AppFactory) -> Flask:
    return make_app("postgres")


# One app per test, reused by every example (each example empties its tables first).
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_two_orders_of_a_history_end_alike_on_sqlite(sqlite_app: Flask, data: st.DataObject) -> None:
    _check_random_orders(sqlite_app, data)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_two_orders_of_a_history_end_alike_on_postgres(postgres_app: Flask, data: st.DataObject) -> None:
    _check_random_orders(postgres_app, data)
