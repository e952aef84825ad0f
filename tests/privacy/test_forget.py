"""Forgetting a person leaves no trace of them in any table, on SQLite and Postgres.

The person's data gets everywhere through the real pipeline: Jira webhooks (wins, tickets, the
inbox), a Slack win and a cheer, a kudos, a rendered digest, a free-text title naming them. After
``member forget`` every string and JSON column of every table is read back and searched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import JSON, String, select, update

from service.domain.wins import WinDraft, WinKind, WinSource, WinVisibility
from service.intake.inbox import Delivery, store_delivery
from service.models import InboundEvent, InboxState, Member, StoredDigest, Win
from service.models.base import Base
from service.models.slack import Cheer, SlackPost
from service.web.extensions import runtime_of
from service.wins.cheers import record_cheer
from service.wins.record import record_win
from tests.jobs.helpers import run_jobs
from tests.progress.conftest import (
    cli,
    day,
    deliver,
    member_id,
    resolved,
    sprint_started,
    team_id,
)

NAME = "Zelda Quixote"
ACCOUNT = "acc-zelda-7f3"
EMAIL = "zelda.quixote@example.org"
SLACK_USER = "UZELDA42"
WORKSPACE = "T0PRIV"
TRACES = (NAME, ACCOUNT, EMAIL, SLACK_USER)


def stored_text(app: Flask) -> Iterator[tuple[str, str, str]]:
    """(table, column, text) for every string and JSON value in the database, JSON as text, inbox
    bodies decoded (the database hands them back decompressed) and read as JSON too."""
    with runtime_of(app).database.sessions() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | JSON)]
            if not columns:
                continue
            for row in session.execute(select(*columns)):
                for column in columns:
                    value: Any = row._mapping[column.name]
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    yield table.name, column.name, text
                    if table.name == "inbound_events" and column.name == "body" and value:
                        decoded = json.dumps(json.loads(value), ensure_ascii=False)
                        yield table.name, "body (decoded)", decoded


def traces_left(app: Flask) -> list[tuple[str, str, str]]:
    return [
        (table, column, trace)
        for table, column, text in stored_text(app)
        for trace in TRACES
        if trace.lower() in text.lower()
    ]


def _spread_the_person(app: Flask) -> None:
    deliver(
        app,
        [
            sprint_started(),
            resolved("TES-1", day(0), (ACCOUNT, NAME), points=3),
            resolved("TES-2", day(1), (ACCOUNT, NAME), points=2),
            resolved("TES-3", day(1), ("acc-bob", "Bob"), points=5),
        ],
    )
    zelda, bob = member_id(app, ACCOUNT), member_id(app, "acc-bob")
    team = team_id(app)
    with runtime_of(app).database.transaction() as session:
        # Linked to Slack, as ``/sprintwins link`` does: now she has an email and a Slack user too.
        session.execute(
            update(Member)
            .where(Member.id == zelda)
            .values(email=EMAIL, slack_team_id=WORKSPACE, slack_user_id=SLACK_USER)
        )
        at = datetime(2026, 11, 11, 12, tzinfo=UTC)
        record_win(
            session,
            WinDraft(WinKind.MANUAL, WinSource.SLACK, "trig-1", f"Paired with {NAME} on the outage", at),
            team_id=team,
            member_id=bob,
        )
        record_win(
            session,
            WinDraft(WinKind.MANUAL, WinSource.SLACK, "trig-2", "Finally slept 8 hours", at),
            team_id=team,
            member_id=zelda,
            visibility=WinVisibility.PRIVATE,
        )
        kudos_id, _ = record_win(
            session,
            WinDraft(
                WinKind.KUDOS,
                WinSource.SLACK,
                "trig-3",
                f"<@{SLACK_USER}> says thanks for the review",
                at,
                details={"kudos_from": {"member_id": zelda, "slack_user_id": SLACK_USER, "name": NAME}},
            ),
            team_id=team,
            member_id=bob,
        )
        session.add(SlackPost(slack_team_id=WORKSPACE, channel_id="C1", ts="1.1", win_id=kudos_id))
        session.flush()
        assert record_cheer(session, WORKSPACE, "C1", "1.1", SLACK_USER, "tada", True) is not None
        # A delivery not yet processed and one that failed: their bodies name her too.
        for delivery_id, state in (("pending-1", InboxState.PENDING), ("failed-1", InboxState.FAILED)):
            body = json.dumps(resolved("TES-4", day(2), (ACCOUNT, NAME)) | {"user": {"emailAddress": EMAIL}})
            store_delivery(
                session, Delivery("jira", delivery_id, "jira:issue_updated", body, None, state=state)
            )
    cli(app, "digest", "run", "tes", "--period", "sprint")


def test_forget_leaves_no_trace_in_any_table(progress_app: Flask) -> None:
    _spread_the_person(progress_app)
    zelda = member_id(progress_app, ACCOUNT)
    before = traces_left(progress_app)
    # The setup reached every place the person can be: otherwise the search below proves nothing.
    assert {t for t, _, _ in before} >= {"members", "wins", "inbound_events", "cheers", "digests"}
    with runtime_of(progress_app).database.sessions() as session:
        assert any(NAME in d.text for d in session.scalars(select(StoredDigest)))
        processed = session.scalar(
            select(InboundEvent.id).where(
                InboundEvent.state == InboxState.PROCESSED, InboundEvent.body.contains(ACCOUNT)
            )
        )
        assert processed is not None

    out = cli(progress_app, "member", "forget", str(zelda), "--yes", "--today", "2026-11-16").output
    assert "forgotten" in out

    assert traces_left(progress_app) == []
    with runtime_of(progress_app).database.sessions() as session:
        assert session.get(Member, zelda) is None
        # The processed delivery's row stays, without its body: a redelivery is still recognised.
        row = session.get(InboundEvent, processed)
        assert row is not None and row.body == "" and row.state == InboxState.PROCESSED
        # Pending and failed deliveries keep a readable body, without her in it.
        for delivery_id in ("pending-1", "failed-1"):
            body = session.scalar(select(InboundEvent.body).where(InboundEvent.delivery_id == delivery_id))
            assert body is not None
            parsed = json.loads(body)
            assert parsed["issue"]["fields"]["assignee"] is None
            assert parsed["user"] is None
        # Her wins keep counting for the team, anonymously; her private one no longer says anything.
        titles = {w.title for w in session.scalars(select(Win).where(Win.member_id.is_(None)))}
        assert "A private win" in titles
        assert "Paired with a teammate on the outage" in {w.title for w in session.scalars(select(Win))}
        # Her cheer still counts, under an id of its own.
        cheers = list(session.scalars(select(Cheer)))
        assert len(cheers) == 1 and cheers[0].user_id.startswith("forgotten:")


def test_pending_delivery_scrubbed_by_forget_is_recorded_without_the_person(progress_app: Flask) -> None:
    _spread_the_person(progress_app)
    zelda = member_id(progress_app, ACCOUNT)
    cli(progress_app, "member", "forget", str(zelda), "--yes", "--today", "2026-11-16")
    # The scrubbed pending delivery is drained like any other: the issue is done, nobody is assigned,
    # and the forgotten person is not made again from it.
    cli(progress_app, "inbox", "retry", "--all")
    run_jobs(progress_app)
    with runtime_of(progress_app).database.sessions() as session:
        states = {d: s for d, s in session.execute(select(InboundEvent.delivery_id, InboundEvent.state))}
        assert states["pending-1"] == InboxState.PROCESSED
        assert session.scalar(select(Member).where(Member.jira_account_id == ACCOUNT)) is None
    assert traces_left(progress_app) == []
