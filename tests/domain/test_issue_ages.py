"""The store hands the engine only the issue ages that can matter: same milestones, far less work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from service.domain.milestones import oldest_open_closings, relevant_issue_ages
from service.domain.progress_inputs import IssueAge

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def ages(draw: st.DrawFn) -> list[IssueAge]:
    n = draw(st.integers(0, 30))
    out = []
    for i in range(n):
        created = T0 + timedelta(hours=draw(st.integers(0, 10)))  # plenty of created_at ties
        done = draw(st.none() | st.integers(0, 40))
        out.append(IssueAge(f"K-{i}", created, None if done is None else created + timedelta(hours=done)))
    return out


@given(ages(), st.randoms())
def test_reduced_ages_give_the_same_closings(issues: list[IssueAge], rnd) -> None:  # type: ignore[no-untyped-def]
    # The database sorts by created_at; ties may come back in any order.
    in_created_order = sorted(issues, key=lambda a: (a.created_at, rnd.random()))
    assert oldest_open_closings(relevant_issue_ages(in_created_order)) == oldest_open_closings(issues)


def test_a_long_closed_history_shrinks_to_its_record_setters() -> None:
    # Closed in creation order, so every issue was the oldest open one when closed: all are kept...
    in_order = [
        IssueAge(f"K-{i}", T0 + timedelta(minutes=i), T0 + timedelta(days=1, minutes=i)) for i in range(1000)
    ]
    assert len(relevant_issue_ages(in_order)) == 1000
    # ...but behind an issue still open, nothing newer can qualify: reading stops there.
    with_open = [IssueAge("K-OPEN", T0 - timedelta(days=1), None), *in_order]
    assert relevant_issue_ages(with_open) == [with_open[0]]
    # Closed newest-first: only the oldest (closed last) is a record-setter.
    backwards = [
        IssueAge(f"K-{i}", T0 + timedelta(minutes=i), T0 + timedelta(days=9, minutes=-i)) for i in range(1000)
    ]
    assert relevant_issue_ages(backwards) == [backwards[0]]
