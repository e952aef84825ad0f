"""Kept sprint tallies (Postgres): after any change, a recompute gives what reading every sprint gives."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, insert, text
from sqlalchemy.orm import Session

from service.db import Database
from service.domain.sprint_tally import Crossing, MemberFinish, SprintTally
from service.models import Member, Sprint, Team, Ticket, Win, sprint_tickets
from service.models.progress import SprintTallyRow
from service.progress.admin import forget_member
from service.progress.load import TeamInputs, load_team_inputs
from service.progress.recompute import recompute_team, run_recompute
from service.progress.tallies import tally_from_json, tally_to_json
from tests.progress.test_load import RULES, START, TODAY, seed

pytestmark = pytest.mark.postgres


def _one(session: Session, sql: str) -> int:
    return int(session.execute(text(sql)).scalar_one())


def _reopen(session: Session) -> None:
    """A finished ticket of a closed sprint is reopened: the recorder clears it and retracts its win."""
    ticket = _one(
        session,
        "SELECT t.id FROM tickets t JOIN sprint_tickets st ON st.ticket_id = t.id"
        " JOIN wins w ON w.source_key = t.issue_key WHERE st.sprint_id = 1 AND t.done AND w.status = 'active'"
        " ORDER BY t.id LIMIT 1",
    )
    session.execute(text("UPDATE tickets SET done = false, done_at = NULL WHERE id = :t"), {"t": ticket})
    session.execute(
        text(
            "UPDATE wins SET status = 'retracted'"
            " WHERE source_key = (SELECT issue_key FROM tickets WHERE id = :t)"
        ),
        {"t": ticket},
    )


def _complete_early(session: Session) -> None:
    """An open ticket of sprint 1 is completed before every other win: the sprint's first win moves."""
    ticket = _one(
        session,
        "SELECT t.id FROM tickets t JOIN sprint_tickets st ON st.ticket_id = t.id"
        " WHERE st.sprint_id = 1 AND NOT t.done ORDER BY t.id LIMIT 1",
    )
    early = START - timedelta(days=3)
    session.execute(
        text("UPDATE tickets SET done = true, done_at = :at WHERE id = :t"), {"t": ticket, "at": early}
    )
    session.execute(
        text(
            "UPDATE wins SET status = 'active', occurred_at = :at"
            " WHERE source_key = (SELECT issue_key FROM tickets WHERE id = :t)"
        ),
        {"t": ticket, "at": early},
    )


def _points(session: Session) -> set[int]:
    ticket = _one(
        session, "SELECT ticket_id FROM sprint_tickets WHERE sprint_id = 4 ORDER BY ticket_id LIMIT 1"
    )
    session.execute(text("UPDATE tickets SET points = coalesce(points, 0) + 8 WHERE id = :t"), {"t": ticket})
    found = session.execute(text("SELECT sprint_id FROM sprint_tickets WHERE ticket_id = :t"), {"t": ticket})
    return set(found.scalars()) - {5}  # the ticket's sprints, but the deleted one


def _assignee(session: Session) -> None:
    session.execute(
        text(
            "UPDATE tickets SET assignee_id = CASE WHEN assignee_id = 1 THEN 2 ELSE 1 END WHERE id IN "
            "(SELECT ticket_id FROM sprint_tickets WHERE sprint_id = 1)"
        )
    )


def _join_sprint(session: Session) -> None:
    """Tickets of sprint 1 are carried into sprint 4 too: their wins may now go to sprint 4."""
    session.execute(
        text(
            "INSERT INTO sprint_tickets (sprint_id, ticket_id) SELECT 4, ticket_id FROM sprint_tickets"
            " WHERE sprint_id = 1 ON CONFLICT DO NOTHING"
        )
    )


def _leave_sprint(session: Session) -> None:
    """Every ticket leaves sprint 4: those that sat in another sprint too now sit in that one only."""
    session.execute(text("DELETE FROM sprint_tickets WHERE sprint_id = 4"))


def _completion(session: Session) -> set[int]:
    session.execute(text("UPDATE sprints SET completed_at = completed_at - interval '5 days' WHERE id = 1"))
    return {1}


def _jira_scope(session: Session) -> set[int]:
    session.execute(
        text("UPDATE sprint_scope SET done = true, done_at = :at WHERE sprint_id = 2 AND committed"),
        {"at": START + timedelta(days=13)},
    )
    return {2}


def _earliest_win_gone(session: Session) -> None:
    """Each sprint's earliest win is deleted, its ticket untouched: the kept instant no longer holds it."""
    session.execute(
        text(
            "DELETE FROM wins WHERE id IN (SELECT DISTINCT ON (st.sprint_id) w.id FROM sprint_tickets st"
            " JOIN tickets t ON t.id = st.ticket_id JOIN wins w ON w.source_key = t.issue_key"
            " WHERE w.status = 'active' AND w.kind = 'ticket' ORDER BY st.sprint_id, w.occurred_at, w.id)"
        )
    )


def _member_forgotten(session: Session) -> None:
    """``sprintwins member forget``: their tickets lose their assignee, their wins their name."""
    forget_member(session, 3, TODAY)


def _nothing(session: Session) -> set[int]:
    return set()


# Each changes the database as the app would; those that return a set say which sprints must be read again.
MUTATIONS: dict[str, Callable[[Session], set[int] | None]] = {
    "reopen": _reopen,
    "complete early": _complete_early,
    "points": _points,
    "assignee": _assignee,
    "join a sprint": _join_sprint,
    "leave a sprint": _leave_sprint,
    "sprint completion": _completion,
    "jira scope": _jira_scope,
    "earliest win gone": _earliest_win_gone,
    "member forgotten": _member_forgotten,
    "nothing": _nothing,
}


def _load(database: Database) -> TeamInputs:
    with database.transaction() as session:
        return load_team_inputs(session, 1)


def _cold(database: Database) -> TeamInputs:
    """As if nothing had been kept: every sprint read and tallied again."""
    with database.transaction() as session:
        session.execute(delete(SprintTallyRow))
        inputs = load_team_inputs(session, 1)
        session.rollback()
    return inputs


@pytest.mark.parametrize("rules", ["default", "labels"])
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_after_a_change_kept_tallies_give_the_same_recompute(
    postgres: Database,
    mutation: str,
    rules: str,
) -> None:
    seed(postgres, 6, RULES[rules])
    with postgres.transaction() as session:
        recompute_team(session, 1, TODAY)
        kept = {row.sprint_id for row in session.query(SprintTallyRow)}
    assert kept == {1, 2, 3, 4}  # every sprint but the deleted one
    with postgres.transaction() as session:
        changed = MUTATIONS[mutation](session)
    warm, cold = _load(postgres), _cold(postgres)
    assert [s.tally for s in warm.sprints] == [s.tally for s in cold.sprints]
    assert run_recompute(warm, TODAY) == run_recompute(cold, TODAY)
    if changed is not None:
        assert set(warm.fresh_tallies) == changed  # only the changed sprints are read again
        unchanged = [s for s in warm.sprints if int(s.sprint_ref) not in changed]
        assert unchanged and all(s.tally is not None and not s.committed_issues for s in unchanged)


@pytest.mark.parametrize("history", range(4))
def test_changes_over_several_recomputes(postgres: Database, history: int) -> None:
    """Random changes, each followed by a stored recompute: the kept tallies never drift."""
    seed(postgres, 10 + history, RULES["default"])
    rng = random.Random(history)
    for _ in range(4):
        with postgres.transaction() as session:
            for name in rng.sample(sorted(set(MUTATIONS) - {"nothing"}), 2):
                try:
                    with session.begin_nested():
                        MUTATIONS[name](session)
                except Exception:
                    continue
        warm, cold = _load(postgres), _cold(postgres)
        assert [s.tally for s in warm.sprints] == [s.tally for s in cold.sprints]
        assert run_recompute(warm, TODAY) == run_recompute(cold, TODAY)
        with postgres.transaction() as session:
            recompute_team(session, 1, TODAY)


def _busy_sprints(database: Database) -> None:
    """Two sprints; in the second each person wins every hour, so a recompute reads few of its wins.

    Person 1 has the second sprint's two earliest wins: its first and, an hour later, a win no rule
    reads (that day's first win of theirs is a late ticket of the first sprint). The others start an
    hour later. Each person's first hundred wins lie in the first sprint.
    """
    day, hour = timedelta(days=1), timedelta(hours=1)
    second = START + 14 * day
    wins: list[tuple[int, datetime, int]] = [(m, START + k * hour, 1) for m in (1, 2, 3) for k in range(100)]
    wins += [(1, second + hour / 2, 1), (1, second + hour, 2), (1, second + 2 * hour, 2)]
    wins += [(m, second + d * day + k * hour, 2) for m in (1, 2, 3) for d in range(10) for k in range(3, 9)]
    with database.transaction() as session:
        session.execute(insert(Team), [{"id": 1, "slug": "busy", "name": "Busy", "rules": {}}])
        session.execute(insert(Member), [{"id": m, "display_name": f"P{m}"} for m in (1, 2, 3)])
        session.execute(
            insert(Sprint),
            [
                {
                    "id": n,
                    "jira_id": n,  # the engine names a sprint by Jira's id
                    "team_id": 1,
                    "name": f"S{n}",
                    "state": "closed",
                    "start_at": begin,
                    "end_at": begin + 14 * day,
                    "completed_at": begin + 14 * day,
                }
                for n, begin in ((1, START), (2, second))
            ],
        )
        tickets = [
            {
                "id": n,
                "team_id": 1,
                "issue_key": f"B-{n}",
                "project_key": "B",
                "done": True,
                "done_at": at,
                "assignee_id": member,
            }
            for n, (member, at, _) in enumerate(wins, start=1)
        ]
        session.execute(insert(Ticket), tickets)
        session.execute(
            insert(sprint_tickets),
            [{"sprint_id": sprint, "ticket_id": n} for n, (_, _, sprint) in enumerate(wins, start=1)],
        )
        session.execute(
            insert(Win),
            [
                {
                    "team_id": 1,
                    "kind": "ticket",
                    "status": "active",
                    "title": t["issue_key"],
                    "member_id": t["assignee_id"],
                    "source": "jira",
                    "source_key": t["issue_key"],
                    "occurred_at": t["done_at"],
                    "details": {},
                }
                for t in tickets
            ],
        )


@pytest.mark.parametrize("change", ["earliest win gone", "earliest ticket carried over"])
def test_a_sprints_first_win_is_found_again_when_its_kept_instant_no_longer_holds_it(
    postgres: Database,
    change: str,
) -> None:
    _busy_sprints(postgres)
    with postgres.transaction() as session:
        recompute_team(session, 1, TODAY)
    second = START + timedelta(days=14, hours=1)  # sprint 2's earliest win
    with postgres.transaction() as session:
        if change == "earliest win gone":  # its ticket untouched: the kept instant is stale
            session.execute(text("DELETE FROM wins WHERE occurred_at = :at"), {"at": second})
        else:  # its ticket is carried into a sprint that started later and holds its instant, which claims it
            session.execute(
                text(
                    "INSERT INTO sprints (id, team_id, name, state, start_at, end_at, last_event_ms,"
                    " created_at) VALUES (3, 1, 'S3', 'active', :start, :end, 0, :start)"
                ),
                {"start": second - timedelta(minutes=30), "end": second + timedelta(days=14)},
            )
            session.execute(
                text("INSERT INTO sprint_tickets SELECT 3, id FROM tickets WHERE done_at = :at"),
                {"at": second},
            )
    warm, cold = _load(postgres), _cold(postgres)
    firsts = [
        d for d in run_recompute(warm, TODAY).drafts if d.details.get("milestone") == "first_win_of_sprint"
    ]
    assert {d.details["sprint_ref"]: d.occurred_at for d in firsts}["2"] == second + timedelta(hours=1)
    assert run_recompute(warm, TODAY) == run_recompute(cold, TODAY)
    # The selection stays sparse: most of the second sprint's 182 wins are not read.
    assert sum(at >= second for at in warm.wins.occurred_at) < 40


def test_a_tally_survives_its_stored_form() -> None:
    tally = SprintTally(
        "points",
        (Crossing(25, START, "A-1"), Crossing(50, START + timedelta(hours=1), "A-2")),
        2.5,
        (MemberFinish("1:2", 3, 3, "A-2"), MemberFinish("1:3", 1, 0, None)),
    )
    assert tally_from_json(tally_to_json(tally)) == tally
