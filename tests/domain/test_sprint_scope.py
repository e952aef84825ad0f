"""Sprint scope: the pure rules of committing, adding, removing and completing issues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain import sprint_scope as scope

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
BEFORE, AFTER, LATER = START - timedelta(days=1), START + timedelta(hours=1), START + timedelta(days=2)


def seen(
    key: str, points: float | None = 1, done: bool = False, created: datetime | None = None
) -> scope.ObservedIssue:
    return scope.ObservedIssue(key, points, done, LATER if done else None, created)


def entry(
    key: str, committed: bool, removed_at: datetime | None = None, points: float | None = 1
) -> scope.ScopeEntry:
    return scope.ScopeEntry(key, points, committed, START, removed_at, False, None, None)


# -- pure rules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "observed", "now", "expected"),
    [
        # Before the start, everything seen is the commitment being planned.
        ({}, [seen("A")], BEFORE, {"A": (True, None)}),
        # First look after the start: what is there was there, unless created after the start.
        ({}, [seen("A"), seen("B", created=AFTER)], LATER, {"A": (True, None), "B": (False, None)}),
        # A later look: a newcomer is an addition, a missing one is removed (its row stays).
        ({"A": entry("A", True)}, [seen("B")], LATER, {"A": (True, LATER), "B": (False, None)}),
        # Coming back clears the removal and keeps the commitment.
        ({"A": entry("A", True, removed_at=AFTER)}, [seen("A")], LATER, {"A": (True, None)}),
        # Removed before the start and back after it: it was not in scope when the sprint started.
        ({"A": entry("A", True, removed_at=BEFORE)}, [seen("A")], LATER, {"A": (False, None)}),
        # Already removed stays removed at its first removal time.
        (
            {"A": entry("A", True, removed_at=AFTER), "B": entry("B", True)},
            [seen("B")],
            LATER,
            {"A": (True, AFTER), "B": (True, None)},
        ),
    ],
)
def test_reconcile_scope(
    stored: dict[str, scope.ScopeEntry],
    observed: list[scope.ObservedIssue],
    now: datetime,
    expected: dict[str, tuple[bool, datetime | None]],
) -> None:
    result = scope.reconcile_scope(stored, observed, sprint_start=START, now=now)

    assert {k: (e.committed, e.removed_at) for k, e in result.items()} == expected


def test_reconcile_takes_points_and_completion_from_what_it_sees() -> None:
    [result] = scope.reconcile_scope(
        {"A": entry("A", True, points=1)}, [seen("A", 8, done=True)], sprint_start=START, now=LATER
    ).values()

    assert (result.points, result.done, result.done_at, result.committed) == (8, True, LATER, True)


@given(
    st.lists(st.sampled_from("ABCDEFG"), unique=True),
    st.lists(st.sampled_from("ABCDEFG"), unique=True),
)
def test_reconcile_twice_with_the_same_view_changes_nothing(first: list[str], second: list[str]) -> None:
    once = scope.reconcile_scope({}, [seen(k) for k in first], sprint_start=START, now=AFTER)
    twice = scope.reconcile_scope(once, [seen(k) for k in second], sprint_start=START, now=LATER)

    assert (
        scope.reconcile_scope(
            twice, [seen(k) for k in second], sprint_start=START, now=LATER + timedelta(days=1)
        )
        == twice
    )
    assert set(twice) == set(first) | set(second)
    assert {k for k, e in twice.items() if e.in_scope} == set(second)


@pytest.mark.parametrize(
    ("entries", "completed_by", "expected"),
    [
        ([], None, (0, 0.0, 0, 0.0, 0, 0, False)),
        (
            [
                scope.ScopeEntry("A", 3, True, START, None, True, AFTER, None),
                scope.ScopeEntry("B", 5, True, START, None, False, None, None),
                scope.ScopeEntry("C", 2, False, AFTER, None, True, AFTER, None),
                scope.ScopeEntry("D", 8, True, START, AFTER, True, AFTER, None),  # removed: counts nowhere
            ],
            None,
            (2, 8.0, 2, 5.0, 1, 1, True),
        ),
        # Closed sprint: finished after it closed is not done in it.
        (
            [
                scope.ScopeEntry("A", None, True, START, None, True, LATER, None),
                scope.ScopeEntry("B", None, True, START, None, True, AFTER, None),
            ],
            AFTER,
            (2, 0.0, 1, 0.0, 0, 0, False),
        ),
    ],
)
def test_summarize_scope(
    entries: list[scope.ScopeEntry], completed_by: datetime | None, expected: tuple[Any, ...]
) -> None:
    s = scope.summarize_scope(entries, completed_by=completed_by, source="jira")

    assert (
        s.committed_issues,
        s.committed_points,
        s.completed_issues,
        s.completed_points,
        s.added_issues,
        s.removed_issues,
        s.estimated,
    ) == expected
