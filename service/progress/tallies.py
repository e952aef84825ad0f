"""Sprint tallies kept between recomputes (Postgres), so that unchanged sprints are not read again.

A sprint's tally (``SprintTally``: progress crossings, velocity, who finished their committed
issues) and the moment of its first win come from every issue in it. A team with years of
sprints holds most of its tickets in closed sprints that no longer change, and reading all of
them again on every recompute cost seconds. Each tally is kept with a fingerprint of the issues
it came from: one aggregate over the team's sprint issues, computed by Postgres, tells which
sprints changed, and only those are read and tallied again.

The fingerprint covers everything a tally and a first win depend on:

* each issue of the sprint as the scope reads it (key, team, done, done_at, points, assignee);
* the committed scope from Jira's sprint report where the scope comes from there;
* the sprint's team, completion time and scope source.

A ticket's win becomes active, or moves in time, only when its ticket is completed (the recorder
sets the ticket's ``done_at`` and the win's ``occurred_at`` together), so an earliest win that moved
shows as a changed ticket. The caller checks that the kept instant still holds a win of the sprint
(it may have gone, or its ticket may have joined another sprint that claims it), and otherwise looks
for the sprint's first win again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from service.domain.sprint_tally import Crossing, MemberFinish, SprintTally
from service.models.progress import SprintTallyRow
from service.models.wins import COUNTED_WINS

# Bumped when the tally's stored form or its derivation changes: every kept tally is then stale.
TALLY_VERSION = 2  # 2: member refs name people by their outside identity

# Per sprint: its issues' count and the sum of their hashes (order-free). Instants are hashed as epoch
# seconds, free of the session's date style.
_EVENT_FINGERPRINTS_SQL = """
SELECT st.sprint_id, count(*),
       sum(hashtextextended(concat_ws('|', t.issue_key, t.team_id, t.done, extract(epoch FROM t.done_at),
                                      t.points, t.assignee_id), 0)::numeric)::text
FROM sprint_tickets AS st
JOIN sprints AS s ON s.id = st.sprint_id
JOIN tickets AS t ON t.id = st.ticket_id
WHERE s.team_id = %(team_id)s AND s.state <> 'deleted'
GROUP BY st.sprint_id
"""
_JIRA_FINGERPRINTS_SQL = """
SELECT i.sprint_id, count(*),
       sum(hashtextextended(concat_ws('|', i.issue_key, i.done, extract(epoch FROM i.done_at), i.points,
                                      i.assignee_id), 0)::numeric)::text
FROM sprint_scope AS i
WHERE i.sprint_id = ANY(%(sprints)s::int[]) AND i.committed AND i.removed_at IS NULL
GROUP BY i.sprint_id
"""
# Each sprint's earliest counted win among all its tickets (see ``first_wins``).
_FIRST_WINS_SQL = f"""
SELECT st.sprint_id, min(w.occurred_at)
FROM sprint_tickets AS st
JOIN tickets AS t ON t.id = st.ticket_id
JOIN wins AS w ON w.kind = 'ticket' AND w.source = 'jira' AND w.workspace_id = t.workspace_id
    AND w.source_key = t.issue_key
WHERE st.sprint_id = ANY(%(sprints)s::int[]) AND w.team_id = %(team_id)s AND {COUNTED_WINS}
GROUP BY st.sprint_id
"""
# A sprint's counted wins in (occurred_at, id) order, with their tickets: a page of them.
_WINS_IN_ORDER_SQL = f"""
SELECT w.id, t.id, w.occurred_at
FROM sprint_tickets AS st
JOIN tickets AS t ON t.id = st.ticket_id
JOIN wins AS w ON w.kind = 'ticket' AND w.source = 'jira' AND w.workspace_id = t.workspace_id
    AND w.source_key = t.issue_key
WHERE st.sprint_id = %(sprint)s AND w.team_id = %(team_id)s AND {COUNTED_WINS}
ORDER BY w.occurred_at, w.id
LIMIT %(limit)s OFFSET %(offset)s
"""
_KEPT_SQL = """
SELECT sprint_id, fingerprint, tally, first_win_at FROM sprint_tallies WHERE team_id = %(team_id)s
"""


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """What the sprints' issues look like now, per sprint id."""

    of: dict[int, str]
    with_issues: frozenset[int]  # sprints with at least one ticket sitting in them


@dataclass(frozen=True, slots=True)
class KeptTally:
    fingerprint: str
    tally: SprintTally
    first_win_at: datetime | None


@dataclass
class SprintTallies:
    """Per sprint id: the tallies still valid, the ones derived afresh (to keep), and the stale ids."""

    fingerprints: Fingerprints
    valid: dict[int, KeptTally]
    stale: list[int]
    fresh: dict[int, KeptTally] = field(default_factory=dict)

    def first_win_at(self, sprint_id: int) -> datetime | None:
        kept = self.fresh.get(sprint_id) or self.valid.get(sprint_id)
        return None if kept is None else kept.first_win_at

    def keep_first_win_at(self, sprint_id: int, at: datetime | None) -> None:
        """The sprint's earliest win as found now: kept afresh if it moved."""
        kept = self.fresh.get(sprint_id) or self.valid[sprint_id]
        if kept.first_win_at != at:
            self.valid.pop(sprint_id, None)
            self.fresh[sprint_id] = replace(kept, first_win_at=at)


def fingerprints(
    cursor: psycopg.Cursor[Any],
    team_id: int,
    headers: Mapping[int, tuple[Any, ...]],
    from_jira: Collection[int],
) -> Fingerprints:
    """``headers``: per sprint id, the header values a tally depends on (team, completion, source)."""
    events = {
        sprint_id: (issues, digest)
        for sprint_id, issues, digest in cursor.execute(_EVENT_FINGERPRINTS_SQL, {"team_id": team_id})
    }
    jira: dict[int, tuple[int, str]] = {}
    if from_jira:
        params = {"sprints": sorted(from_jira)}
        jira = {sid: (n, digest) for sid, n, digest in cursor.execute(_JIRA_FINGERPRINTS_SQL, params)}
    of = {
        sid: "|".join(map(str, (TALLY_VERSION, *header, *events.get(sid, (0, "")), *jira.get(sid, (0, "")))))
        for sid, header in headers.items()
    }
    return Fingerprints(of, frozenset(events))


def kept(cursor: psycopg.Cursor[Any], team_id: int, now: Fingerprints) -> SprintTallies:
    """The kept tallies that still match their sprint's issues, and the sprints to tally again."""
    valid: dict[int, KeptTally] = {}
    for sprint_id, fingerprint, stored, first_win_at in cursor.execute(_KEPT_SQL, {"team_id": team_id}):
        if now.of.get(sprint_id) == fingerprint:
            valid[sprint_id] = KeptTally(fingerprint, tally_from_json(stored), first_win_at)
    stale = sorted(set(now.of) - set(valid))
    return SprintTallies(now, valid, stale)


def first_wins(cursor: psycopg.Cursor[Any], team_id: int, sprint_ids: Sequence[int]) -> dict[int, datetime]:
    """When the earliest win among each sprint's tickets came (a sprint without one is left out).

    That win is the sprint's first unless its ticket also sits in another sprint that claims it (a
    ticket's win goes to the latest-started sprint holding its instant); the caller checks, and then
    looks for the first one with ``wins_in_order``.
    """
    if not sprint_ids:
        return {}
    params = {"team_id": team_id, "sprints": list(sprint_ids)}
    return dict(cursor.execute(_FIRST_WINS_SQL, params).fetchall())


def wins_in_order(
    cursor: psycopg.Cursor[Any], team_id: int, sprint_id: int, page: int = 50
) -> Iterator[list[tuple[int, int, datetime]]]:
    """Pages of (win id, ticket id, instant): the sprint's counted ticket wins in (occurred_at, id) order."""
    offset = 0
    while True:
        params = {"team_id": team_id, "sprint": sprint_id, "limit": page, "offset": offset}
        rows = cursor.execute(_WINS_IN_ORDER_SQL, params).fetchall()
        if rows:
            yield rows
        if len(rows) < page:
            return
        offset += page
        page *= 4  # the first page almost always holds it; a sprint of carried-over tickets needs more


def save(session: Session, team_id: int, fresh: Mapping[int, KeptTally]) -> None:
    """Keep the tallies derived afresh, replacing the stale ones."""
    if not fresh:
        return
    session.execute(delete(SprintTallyRow).where(SprintTallyRow.sprint_id.in_(list(fresh))))
    session.execute(
        insert(SprintTallyRow),
        [
            {
                "sprint_id": sprint_id,
                "team_id": team_id,
                "fingerprint": kept.fingerprint,
                "tally": tally_to_json(kept.tally),
                "first_win_at": kept.first_win_at,
            }
            for sprint_id, kept in sorted(fresh.items())
        ],
    )


def tally_to_json(tally: SprintTally) -> dict[str, Any]:
    return {
        "basis": tally.basis,
        "crossings": [[c.step, c.done_at.isoformat(), c.issue_key] for c in tally.crossings],
        "completed_points": tally.completed_points,
        "members": [[m.member_ref, m.committed, m.finished, m.last_key] for m in tally.members],
    }


def tally_from_json(stored: Mapping[str, Any]) -> SprintTally:
    return SprintTally(
        basis=stored["basis"],
        crossings=tuple(
            Crossing(step, datetime.fromisoformat(at), key) for step, at, key in stored["crossings"]
        ),
        completed_points=float(stored["completed_points"]),
        members=tuple(
            MemberFinish(ref, committed, finished, last)
            for ref, committed, finished, last in stored["members"]
        ),
    )
