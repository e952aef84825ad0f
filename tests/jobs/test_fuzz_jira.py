"""Fuzzing the Jira intake end to end: real corpus payloads, one field mutated at a time.

Each example is signed and sent through ``POST /webhooks/jira`` next to a good delivery, then a
real worker runs. Whatever the mutation, the edge answers 202 or a 4xx (never a 5xx), no job
fails, every row ends processed, ignored or failed after a single attempt, and the good
neighbour's win is recorded.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from service.models import InboundEvent, Win
from service.web.extensions import runtime_of
from tests.conftest import CORPUS, AppFactory, post_jira
from tests.jobs.helpers import issue_payload, run_jobs

CORPUS_FILES = sorted(path.name for path in (CORPUS / "jira").glob("*.json"))
MISSING = object()  # the field is removed


class Raw:
    """A JSON fragment written as is: nesting deeper than ``json.dumps`` (or any parser) goes."""

    def __init__(self, text: str) -> None:
        self.text = text


def nested(depth: int) -> Raw:
    return Raw("[" * depth + "1" + "]" * depth)


def field_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every field of a payload, containers included, as a path of keys and list indices."""
    children = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, child in children:
        yield (*prefix, key)
        yield from field_paths(child, (*prefix, key))


PAYLOADS = {name: json.loads((CORPUS / "jira" / name).read_text()) for name in CORPUS_FILES}
PATHS = [(name, path) for name, payload in PAYLOADS.items() for path in field_paths(payload)]
# The fields that reach a column, a rule or a date: half the examples go to them.
STORED_NAMES = {"timestamp", "webhookEvent", "key", "id", "self", "summary", "name", "displayName"}
STORED_NAMES |= {"emailAddress", "accountId", "timeZone", "created", "labels", "status", "statusCategory"}
STORED_NAMES |= {"issuetype", "subtask", "project", "assignee", "user", "resolution", "changelog", "items"}
STORED_NAMES |= {"field", "fieldId", "from", "to", "fromString", "toString", "customfield_10016"}
STORED_NAMES |= {"customfield_10020", "customfield_10021", "state", "goal", "boardId", "startDate", "endDate"}
STORED = [(name, path) for name, path in PATHS if path[-1] in STORED_NAMES or isinstance(path[-1], int)]
RESOLVED = "webhook-issue-updated-resolved.json"
SPRINT = "webhook-issue-updated-sprint.json"

wrong_types = st.sampled_from([None, True, False, [], {}, [None], {"": None}, "", 1.5])
HUGE_AND_TINY = [0, -1, 2**31, 2**63 - 1, 2**63, 2**64 - 1, -(2**63), -(2**63) - 1, 10**17, 10**30]
HUGE_AND_TINY += [1e308, -1e308, 5e-324, float("inf"), float("nan")]
numbers = st.sampled_from(HUGE_AND_TINY) | st.integers() | st.floats()
NASTY_STRINGS = ["\x00", "a\x00b", "²", "١٢٣", "🎉", "\u202e", "\x1b[2J", "x" * 5000, "²" * 300, "Ǆ" * 129]
NASTY_STRINGS += ["2019-02-15T19:01:52.971-0800", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
strings = st.sampled_from(NASTY_STRINGS) | st.text(max_size=40)
deep = st.integers(min_value=2, max_value=3000).map(nested)
SPRINT_OBJECT = {"id": 7, "name": "Sprint 7", "state": "active", "boardId": 1, "goal": "Ship"}
SPRINT_OBJECT |= {"startDate": "2026-11-09T09:00:00.000Z", "endDate": "2026-11-20T17:00:00.000Z"}


def sprint_with(field: str, value: Any) -> dict[str, Any]:
    return {**SPRINT_OBJECT, field: value}


# A sprint field holding one sprint with one bad value: the corpus issues name their sprints by name only.
sprint_fields = st.builds(
    lambda field, value: [sprint_with(field, value)],
    st.sampled_from([*SPRINT_OBJECT, "completeDate", "originBoardId"]),
    wrong_types | numbers | strings,
)
MUTATIONS = wrong_types | numbers | strings | deep | sprint_fields | st.just(MISSING)


def mutated_body(name: str, path: tuple[Any, ...], value: Any) -> bytes:
    payload = copy.deepcopy(PAYLOADS[name])
    parent = payload
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if value is MISSING:
        del parent[last]
        return json.dumps(payload).encode()
    placeholder = "\ue000raw\ue000"
    parent[last] = placeholder if isinstance(value, Raw) else value
    body = json.dumps(payload)
    if isinstance(value, Raw):
        body = body.replace(json.dumps(placeholder), value.text)
    return body.encode()


def check_one(app: Flask, counter: Iterator[int], name: str, path: tuple[Any, ...], value: Any) -> None:
    n = next(counter)
    client = app.test_client()
    body = mutated_body(name, path, value)
    answer = post_jira(client, body, delivery_id=f"fuzz-{n}")
    assert answer.status_code in {202, 400}, (path, answer.status_code, answer.json)
    good = issue_payload("webhook-issue-updated-resolved.json", key=f"GOOD-{n}", timestamp=1_763_900_000_000)
    assert post_jira(client, good, delivery_id=f"good-{n}").status_code == 202
    run_jobs(app)  # no job may fail: a failed job would be retried, and the row with it

    with runtime_of(app).database.sessions() as session:
        rows = {
            row.delivery_id: row
            for row in session.scalars(
                select(InboundEvent).where(InboundEvent.delivery_id.in_([f"fuzz-{n}", f"good-{n}"]))
            )
        }
        win = session.scalars(select(Win).where(Win.source_key == f"GOOD-{n}")).one_or_none()
    assert rows[f"good-{n}"].state == "processed"
    assert win is not None and win.status == "active"
    if answer.status_code == 202:
        row = rows[f"fuzz-{n}"]
        assert row.state in {"processed", "ignored", "failed"}, (path, row.state, row.error)
        assert row.attempts <= 1, (path, row.attempts, row.error)
    else:
        assert f"fuzz-{n}" not in rows


def run_fuzz(app: Flask, examples: int) -> None:
    counter = itertools.count()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,  # every run explores afresh; the shrunk example is printed on failure
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(target=st.sampled_from(STORED) | st.sampled_from(PATHS), value=MUTATIONS)
    # Each value that once gave a 5xx or crashed the worker, always tried.
    @example(target=(RESOLVED, ("timestamp",)), value="²")
    @example(target=(RESOLVED, ("timestamp",)), value=2**63)
    @example(target=(RESOLVED, ("webhookEvent",)), value="jira:issue_updated\x00")
    @example(target=(RESOLVED, ("issue", "key")), value="K" * 65)
    @example(target=(RESOLVED, ("issue", "id")), value=2**63)
    @example(target=(RESOLVED, ("issue", "fields", "summary")), value="a\x00b")
    @example(target=(RESOLVED, ("issue", "fields", "created")), value=10**17)
    @example(target=(RESOLVED, ("issue", "fields", "created")), value="0001-01-01T00:00:00+14:00")
    @example(target=(RESOLVED, ("issue", "fields", "project", "name")), value="x" * 5000)
    @example(target=(RESOLVED, ("user", "displayName")), value="x" * 5000)
    @example(target=(RESOLVED, ("user", "emailAddress")), value="x" * 5000)
    @example(target=(RESOLVED, ("user", "accountId")), value="x" * 5000)
    @example(target=(SPRINT, ("changelog", "items", 0, "toString")), value="x" * 5000)
    @example(target=(SPRINT, ("changelog", "items", 0, "to")), value=f"1, {2**63}, ²")
    @example(
        target=(SPRINT, ("issue", "fields", "customfield_10020")), value=[sprint_with("name", "x" * 5000)]
    )
    @example(target=(SPRINT, ("issue", "fields", "customfield_10020")), value=[sprint_with("id", 2**63)])
    @example(
        target=(SPRINT, ("issue", "fields", "customfield_10020")), value=[sprint_with("endDate", 10**17)]
    )
    def one_mutation(target: tuple[str, tuple[Any, ...]], value: Any) -> None:
        check_one(app, counter, target[0], target[1], value)

    one_mutation()


def test_fuzzed_corpus_payloads_on_sqlite(make_app: AppFactory) -> None:
    run_fuzz(make_app("sqlite"), examples=400)


@pytest.mark.usefixtures("redis_url")
def test_fuzzed_corpus_payloads_on_postgres_with_rq(make_app: AppFactory, redis_url: str) -> None:
    run_fuzz(make_app("postgres", redis=redis_url), examples=80)
