"""Group commit of webhook deliveries: every delivery durable before its 202, several per commit."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import psycopg
import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from service.intake import inbox
from service.intake.inbox import Delivery
from service.intake.writer import Stored
from service.models import DEFAULT_WORKSPACE_ID, InboundEvent, InboxState
from service.web.extensions import runtime_of
from service.workspaces.registry import create_workspace
from tests.conftest import AppFactory, load_jira, post_jira


def delivery(delivery_id: str, body: str = '{"webhookEvent": "jira:issue_updated"}') -> Delivery:
    return Delivery("jira", delivery_id, "jira:issue_updated", body, 1_700_000_000_000)


def stored_rows(app: Flask) -> dict[str, tuple[int, str]]:
    with runtime_of(app).database.sessions() as session:
        rows = session.execute(select(InboundEvent.delivery_id, InboundEvent.id, InboundEvent.state))
        return {delivery_id: (row_id, state) for delivery_id, row_id, state in rows}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_deliveries_each_stored_once_and_acknowledged_after_commit(
    make_app: AppFactory, backend: str
) -> None:
    app = make_app(backend)
    payload = load_jira("webhook-issue-updated-resolved.json")
    ids = [f"d-{n}" for n in range(120)]
    work = ids + ids  # every delivery arrives twice, from different threads

    def post(delivery_id: str) -> tuple[str, int, str, int]:
        response = post_jira(app.test_client(), payload, delivery_id=delivery_id)
        return delivery_id, response.status_code, response.json["status"], response.json["id"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(post, work))

    rows = stored_rows(app)
    assert sorted(rows) == sorted(ids)
    assert {status for _, status, _, _ in answers} == {202}
    statuses = Counter((delivery_id, answer) for delivery_id, _, answer, _ in answers)
    for delivery_id in ids:
        assert statuses[(delivery_id, "accepted")] == 1
        assert statuses[(delivery_id, "duplicate")] == 1
    # Both answers name the row that holds the delivery.
    assert all(row_id == rows[delivery_id][0] for delivery_id, _, _, row_id in answers)


def _hold_row_lock(url: str, delivery_id: str) -> psycopg.Connection:
    """An open transaction that has inserted ``delivery_id``: a writer inserting it waits for us."""
    connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    connection.execute(
        "INSERT INTO inbound_events (source, delivery_id, event_type, state, body, received_at, attempts)"
        " VALUES ('jira', %s, 'jira:issue_updated', 'pending', '{}', now(), 0)",
        (delivery_id,),
    )
    return connection


def _wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_deliveries_arriving_during_a_commit_share_the_next_one(make_app: AppFactory) -> None:
    app = make_app("postgres")
    writer = runtime_of(app).inbox_writer
    blocker = _hold_row_lock(runtime_of(app).database.url, "first")
    results: dict[str, Stored] = {}

    def store(delivery_id: str) -> None:
        results[delivery_id] = writer.store(delivery(delivery_id))

    first = threading.Thread(target=store, args=("first",))
    first.start()
    _wait_for(lambda: writer.groups_written == 0 and writer.waiting == 0 and writer.busy)
    followers = [threading.Thread(target=store, args=(f"later-{n}",)) for n in range(10)]
    for thread in followers:
        thread.start()
    _wait_for(lambda: writer.waiting == 10)
    assert results == {}  # nobody is answered before their row is committed
    blocker.rollback()  # the blocked insert now goes ahead
    blocker.close()
    for thread in [first, *followers]:
        thread.join(10)
    assert writer.groups_written == 2  # "first" alone, then the ten that queued behind it together
    assert writer.rows_written == 11
    assert all(stored.new and stored.state == InboxState.PENDING for stored in results.values())
    assert sorted(stored_rows(app)) == sorted(results)


def test_a_bad_row_fails_alone_not_its_group(make_app: AppFactory) -> None:
    app = make_app("postgres")
    writer = runtime_of(app).inbox_writer
    blocker = _hold_row_lock(runtime_of(app).database.url, "first")
    outcomes: dict[str, Stored | Exception] = {}

    def store(item: Delivery) -> None:
        try:
            outcomes[item.delivery_id] = writer.store(item)
        except DBAPIError as error:
            outcomes[item.delivery_id] = error

    threads = [threading.Thread(target=store, args=(delivery("first"),))]
    threads[0].start()
    _wait_for(lambda: writer.busy and writer.waiting == 0)
    queued = [delivery("good-1"), delivery("bad", body="nul \x00 byte"), delivery("good-2")]
    for item in queued:
        threads.append(threading.Thread(target=store, args=(item,)))
        threads[-1].start()
    _wait_for(lambda: writer.waiting == 3)
    blocker.commit()  # "first" was stored by someone else meanwhile: a duplicate
    blocker.close()
    for thread in threads:
        thread.join(10)
    assert isinstance(outcomes["first"], Stored) and not outcomes["first"].new
    assert isinstance(outcomes["bad"], DBAPIError)
    assert isinstance(outcomes["good-1"], Stored) and outcomes["good-1"].new
    assert isinstance(outcomes["good-2"], Stored) and outcomes["good-2"].new
    assert sorted(stored_rows(app)) == ["first", "good-1", "good-2"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_same_delivery_twice_in_one_group(make_app: AppFactory, backend: str) -> None:
    app = make_app(backend)
    writer = runtime_of(app).inbox_writer
    # Called directly, a group is whatever queued: write one with a repeated delivery.
    answers = writer.store_group([delivery("twice"), delivery("other"), delivery("twice")])
    assert [(a.new, a.state) for a in answers] == [
        (True, InboxState.PENDING),
        (True, InboxState.PENDING),
        (False, InboxState.PENDING),
    ]
    assert answers[0].id == answers[2].id != answers[1].id
    again = writer.store(delivery("twice"))
    assert (again.id, again.new) == (answers[0].id, False)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_same_delivery_id_from_two_workspaces_is_two_deliveries(
    make_app: AppFactory, backend: str
) -> None:
    """Each workspace's Jira site numbers its own deliveries: an id repeats only within one workspace."""
    app = make_app(backend)
    with runtime_of(app).database.transaction() as session:
        other = create_workspace(session, "other").id
    writer = runtime_of(app).inbox_writer
    here, there = delivery("same"), replace(delivery("same"), workspace_id=other)
    answers = writer.store_group([here, there, there])
    assert [a.new for a in answers] == [True, True, False]
    assert answers[0].id != answers[1].id == answers[2].id
    assert (writer.store(here).id, writer.store(here).new) == (answers[0].id, False)
    with runtime_of(app).database.sessions() as session:
        rows = session.execute(select(InboundEvent.id, InboundEvent.workspace_id).order_by(InboundEvent.id))
        assert [tuple(row) for row in rows] == [(answers[0].id, DEFAULT_WORKSPACE_ID), (answers[1].id, other)]
        claimed = inbox.claim(session, [], 10)
        assert [(row.id, row.workspace_id) for row in claimed] == [
            (answers[0].id, DEFAULT_WORKSPACE_ID),
            (answers[1].id, other),
        ]


def test_a_stored_timestamp_reads_back_as_utc_on_sqlite(make_app: AppFactory) -> None:
    app = make_app("sqlite")
    before = time.time()
    runtime_of(app).inbox_writer.store(delivery("when"))
    with runtime_of(app).database.sessions() as session:
        received = session.scalar(select(InboundEvent.received_at))
    assert received is not None and received.utcoffset() is not None
    assert abs(received.timestamp() - before) < 5


@pytest.mark.parametrize(
    ("backend", "bad"),
    [
        # SQLite's binding raises a bare OverflowError, not a driver error, past 64 bits.
        ("sqlite", Delivery("jira", "bad", "jira:issue_updated", "{}", 2**63)),
        ("postgres", Delivery("jira", "bad", "jira:issue_updated", "{}", 2**63)),
        ("postgres", delivery("bad", body="nul \x00 byte")),
    ],
)
def test_a_value_the_database_refuses_fails_alone_not_its_group(
    make_app: AppFactory, backend: str, bad: Delivery
) -> None:
    """Whatever the database or its driver raises for one row, its group's other rows are stored."""
    app = make_app(backend)
    writer = runtime_of(app).inbox_writer
    with pytest.raises(Exception) as raised:
        writer.store_group([delivery("good-1"), bad, delivery("good-2")])
    assert not isinstance(raised.value, AssertionError)
    assert sorted(stored_rows(app)) == ["good-1", "good-2"]
    assert writer.store(delivery("good-3")).new  # and the writer goes on
