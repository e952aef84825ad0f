"""Issue ages on Postgres: the SQL reductions keep exactly the issues ``relevant_issue_ages`` keeps.

Each reduction (by record steps, by window, sorted without an index) is checked against the reduction
in Python, on random histories and on one hand-made case per kind of issue.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import insert, text

from service.db import Database
from service.domain.milestones import relevant_issue_ages
from service.domain.progress_inputs import IssueAge
from service.models import Team, Ticket
from service.progress import issue_ages as progress_issue_ages
from service.progress.issue_ages import RECORD_AGES_SQL as _RECORD_AGES_SQL
from service.progress.issue_ages import RELEVANT_AGES_SQL as _RELEVANT_AGES_SQL
from service.progress.issue_ages import load_issue_ages as _load_issue_ages
from service.progress.issue_ages import stream_issue_ages as _stream_issue_ages
from tests.progress.test_load import START


def _reduced_ages(database: Database, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[IssueAge]]:
    """Team 1's issue ages as each SQL reduction returns them (not reduced again in Python), as
    ``_load_issue_ages`` returns them on either path, and as ``relevant_issue_ages`` keeps them."""
    reduced: dict[str, list[IssueAge]] = {}
    with database.transaction() as session:
        for name, sql, params in (
            ("records", _RECORD_AGES_SQL, {"team_id": 1, "records": 1_000_000}),
            ("window", _RELEVANT_AGES_SQL, {"team_id": 1}),
        ):
            rows = session.execute(text(sql), params)
            reduced[name] = [IssueAge(key, created, done_at) for key, created, done_at in rows]
        reduced["loaded"] = _load_issue_ages(session, 1)
        with monkeypatch.context() as patch:  # any record then is one too many: the window takes over
            patch.setattr(progress_issue_ages, "_MOST_RECORD_STEPS", 0)
            reduced["loaded by window"] = _load_issue_ages(session, 1)
        reduced["python"] = relevant_issue_ages(list(_stream_issue_ages(session, 1)))
    with database.transaction() as session:  # sorted, not read in index order: ties still go by done_at
        for scan in ("indexscan", "indexonlyscan", "bitmapscan"):
            session.execute(text(f"SET LOCAL enable_{scan} = off"))
        rows = session.execute(text(_RELEVANT_AGES_SQL), {"team_id": 1})
        reduced["window, sorted"] = [IssueAge(key, created, done_at) for key, created, done_at in rows]
    return reduced


def _assert_reduced_alike(database: Database, monkeypatch: pytest.MonkeyPatch) -> list[IssueAge]:
    reduced = _reduced_ages(database, monkeypatch)
    in_python = reduced.pop("python")
    assert reduced == dict.fromkeys(reduced, in_python)
    return in_python


@pytest.mark.postgres
@pytest.mark.parametrize("history", range(12))
def test_postgres_reduces_issue_ages_as_the_store_does_in_python(
    postgres: Database, monkeypatch: pytest.MonkeyPatch, history: int
) -> None:
    """The SQL reductions keep exactly the issues ``relevant_issue_ages`` keeps (ties, open issues,
    issues done at an unknown moment or created at one)."""
    rng = random.Random(history)
    hour = timedelta(hours=1)
    tickets = []
    for n in range(1, 41):
        created = START + hour * rng.randrange(0, 12)  # plenty of created_at ties
        done = rng.random() < (0.97 if history % 2 else 0.85)
        done_at = None if rng.random() < 0.05 else created + hour * rng.randrange(0, 40)
        tickets.append(
            {
                "id": n,
                "team_id": 1,
                "issue_key": f"K-{n}",
                "project_key": "K",
                "jira_created_at": None if rng.random() < 0.05 else created,
                "done": done,
                "done_at": done_at,
            }
        )
    with postgres.transaction() as session:
        session.execute(insert(Team), [{"id": 1, "slug": "k", "name": "K", "rules": {}}])
        session.execute(insert(Ticket), tickets)
    assert _assert_reduced_alike(postgres, monkeypatch)


# Per case: team 1's tickets as (key, created hour or None, done, done_at hour or None), and the keys kept.
AgeCase = list[tuple[str, int | None, bool, int | None]]
AGE_CASES: dict[str, tuple[AgeCase, list[str]]] = {
    "no open ticket": (
        [
            ("K-A", 0, True, 5),
            ("K-B", 1, True, 3),  # closed before A: out
            ("K-C", 1, True, 5),  # as late as A: in
            ("K-D", 2, True, 9),
            ("K-E", 2, True, 6),  # before its peer D, after every older one: in
            ("K-F", 3, True, 8),  # before D: out
            ("K-G", 4, True, 9),
        ],
        ["K-A", "K-C", "K-D", "K-E", "K-G"],
    ),
    "the first open ticket is the oldest": (
        [
            ("K-A", 0, False, None),
            ("K-B", 0, True, 3),  # its peers count
            ("K-C", 0, True, 1),
            ("K-D", 1, True, 9),  # created after an open one: out
            ("K-E", 5, False, None),
        ],
        ["K-A", "K-B", "K-C"],
    ),
    "open and closed tickets created at the same instant": (
        [
            ("K-A", 0, True, 4),
            ("K-B", 1, True, 2),
            ("K-C", 2, False, None),
            ("K-D", 2, True, 3),  # before A: out, even next to open peers
            ("K-E", 2, True, 4),
            ("K-F", 2, True, 7),
            ("K-G", 2, False, None),
            ("K-H", 3, True, 9),
        ],
        ["K-A", "K-C", "K-E", "K-F", "K-G"],
    ),
    "done at an unknown moment": (
        [
            ("K-A", -1, True, None),  # neither open nor closed, even as the oldest: skipped
            ("K-B", 0, True, 2),
            ("K-C", 1, True, None),
            ("K-D", 1, True, 1),
            ("K-E", 2, False, 1),  # reopened: open, whatever done_at says
            ("K-F", 2, True, 5),
            ("K-G", 3, True, 6),
        ],
        ["K-B", "K-E", "K-F"],
    ),
    "created at an unknown moment": (
        [
            ("K-A", None, False, None),  # skipped: not the first open ticket
            ("K-B", None, True, 100),  # skipped: does not raise the bar
            ("K-C", 0, True, 3),
            ("K-D", 1, True, 2),
            ("K-E", 2, True, 3),
            ("K-F", 3, False, None),
            ("K-G", 4, True, 9),
        ],
        ["K-C", "K-E", "K-F"],
    ),
    "no ticket": ([], []),
}


@pytest.mark.postgres
@pytest.mark.parametrize("case", list(AGE_CASES))
def test_postgres_reduces_each_kind_of_issue_age_as_python_does(
    postgres: Database, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    ages, kept = AGE_CASES[case]
    hour = timedelta(hours=1)
    at = lambda h: None if h is None else START + h * hour  # noqa: E731
    # Another team's tickets, older and later, open and closed: none of them may count for team 1.
    others = [("Z-1", -5, False, None), ("Z-2", 0, True, 1000), ("Z-3", 1, False, None)]
    tickets = [
        {
            "team_id": team_id,
            "issue_key": key,
            "project_key": key[0],
            "jira_created_at": at(created),
            "done": done,
            "done_at": at(done_at),
        }
        for team_id, rows in ((1, ages), (2, others))
        for key, created, done, done_at in rows
    ]
    with postgres.transaction() as session:
        teams = [
            {"id": 1, "slug": "k", "name": "K", "rules": {}},
            {"id": 2, "slug": "z", "name": "Z", "rules": {}},
        ]
        session.execute(insert(Team), teams)
        session.execute(insert(Ticket), tickets)
    assert [age.issue_key for age in _assert_reduced_alike(postgres, monkeypatch)] == kept
