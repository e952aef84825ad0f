"""Fixtures and builders for the progress engine's tests: wins go through the real pipeline."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import select, update

from jobs.progress import update_progress
from service.cli.main import main
from service.db import Database
from service.models import Member, Team, Win
from service.web.extensions import runtime_of
from tests.conftest import AppFactory, _empty_tables, post_jira
from tests.jobs.helpers import BACKENDS, issue_payload, run_jobs, sprint_object, sprint_payload
from tests.standins.jira_board import standin as standin

RESOLVED = "webhook-issue-updated-resolved.json"
MONDAY = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)  # sprint 7 of the helpers runs 9 to 20 November
TODAY = "2026-11-20"
SPRINT = 7


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Database]:
    """An empty Postgres database with the schema, for loading and recompute tests on explicit rows."""
    database = Database(postgres_url)
    _empty_tables(database)
    yield database
    database.dispose()


def win_row(
    rng: random.Random,
    win_id: int,
    kind: str,
    source: str,
    key: str,
    *,
    at: datetime | Callable[[], datetime],
    now: datetime,
    retracted: float,
    members: Sequence[int | None],
) -> dict[str, Any]:
    """A ``wins`` row with a random status, person and points, drawn from ``rng`` in that order.

    ``at`` may be a callable: it is then drawn after the points, from the same generator.
    """
    status = "retracted" if rng.random() < retracted else "active"
    member_id = rng.choice(members)
    points = rng.choice([None, 1.0, 2.0])
    return {
        "id": win_id,
        "team_id": 1,
        "kind": kind,
        "status": status,
        "title": key,
        "member_id": member_id,
        "points": points,
        "source": source,
        "source_key": key,
        "occurred_at": at() if callable(at) else at,
        "details": {},
        "created_at": now,
        "updated_at": now,
    }


@pytest.fixture(params=BACKENDS)
def progress_app(request: pytest.FixtureRequest, make_app: AppFactory) -> Flask:
    if request.param == "postgres":
        return make_app("postgres", redis=request.getfixturevalue("redis_url"))
    return make_app("sqlite")


def ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def day(n: int, hour: int = 10) -> datetime:
    """The n-th calendar day after the sprint's first Monday, at ``hour`` UTC."""
    return MONDAY.replace(hour=hour) + timedelta(days=n)


def resolved(
    key: str,
    at: datetime,
    who: tuple[str, str] | None = ("acc-ada", "Ada"),
    *,
    points: float | None = 3,
    issue_type: str = "Story",
    labels: list[str] | None = None,
    sprint: int | None = SPRINT,
) -> dict[str, Any]:
    payload = issue_payload(
        RESOLVED,
        key=key,
        timestamp=ms(at),
        assignee=who,
        points=points,
        sprints=[sprint_object(sprint)] if sprint is not None else None,
    )
    payload["issue"]["fields"]["issuetype"]["name"] = issue_type
    if labels is not None:
        payload["issue"]["fields"]["labels"] = labels
    return payload


def sprint_started(at: datetime = MONDAY) -> dict[str, Any]:
    return sprint_payload("started", SPRINT, ms(at) - 3_600_000)


def deliver(app: Flask, payloads: Iterable[dict[str, Any]], *, recompute_each: bool = False) -> None:
    """Post payloads (each its own delivery) and run the jobs; optionally recompute after each batch."""
    client = app.test_client()
    for i, payload in enumerate(payloads):
        delivery = f"d-{payload['timestamp']}-{payload.get('issue', {}).get('key', 'sprint')}-{i}"
        assert post_jira(client, payload, delivery_id=delivery).status_code == 202
        if recompute_each:
            run_jobs(app)
            update_progress(team_ids(app), TODAY)
    run_jobs(app)


def team_ids(app: Flask) -> list[int]:
    with runtime_of(app).database.sessions() as session:
        return list(session.scalars(select(Team.id).order_by(Team.id)))


def team_id(app: Flask, slug: str = "tes") -> int:
    with runtime_of(app).database.sessions() as session:
        found = session.scalar(select(Team.id).where(Team.slug == slug))
        assert found is not None
        return found


def member_id(app: Flask, account: str) -> int:
    with runtime_of(app).database.sessions() as session:
        found = session.scalar(select(Member.id).where(Member.jira_account_id == account))
        assert found is not None
        return found


def opt_out(app: Flask, account: str) -> None:
    with runtime_of(app).database.transaction() as session:
        session.execute(update(Member).where(Member.jira_account_id == account).values(sharing_opt_out=True))


def engine_wins(app: Flask, status: str | None = "active") -> list[Win]:
    with runtime_of(app).database.sessions() as session:
        query = select(Win).where(Win.source == "engine").order_by(Win.kind, Win.source_key)
        if status:
            query = query.where(Win.status == status)
        return list(session.scalars(query))


def engine_keys(app: Flask) -> set[tuple[str, str]]:
    """(kind, what) of active engine wins, naming people and sprints by name rather than by id."""
    out = set()
    for win in engine_wins(app):
        detail = win.details.get("badge") or win.details.get("milestone") or win.details.get("threshold")
        who = win.member.display_name if win.member else "-"
        out.add((win.kind, f"{detail}|{who}|{win.title}|{win.occurred_at.isoformat()}"))
    return out


def count_rows(app: Flask, model: Any) -> int:
    from sqlalchemy import func

    with runtime_of(app).database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def cli(app: Flask, *args: str, ok: bool = True) -> Result:
    env = {"SPRINTWINS_DATABASE_URL": runtime_of(app).database.url, "SPRINTWINS_REDIS_URL": ""}
    result = CliRunner().invoke(main, list(args), env=env)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def local(d: str) -> date:
    return date.fromisoformat(d)
