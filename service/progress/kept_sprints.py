"""A team's sprints as a Postgres recompute loads them: unchanged ones summarised from their kept tally.

Only the sprints whose issues changed since their tally was kept (``service.progress.tallies``) are
read issue by issue; the others come as their ``SprintTally``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy.orm import Session

from service.domain.milestones import oldest_open_closings
from service.domain.progress_inputs import IssueAge
from service.domain.sprint_scope import SprintScope
from service.domain.sprint_tally import SprintTally
from service.domain.ticket_sprints import SprintWindow
from service.progress import tallies as sprint_tallies
from service.progress.load_sprints import (
    SprintHeader,
    columns_by_sprint,
    event_scope_query,
    from_jira_ids,
    jira_scopes,
    people_of,
    scope_of,
    scope_sources,
    sprint_headers,
    sprint_windows,
)
from service.progress.refs import TeamRefs
from service.progress.sql import binary_cursor


@dataclass(frozen=True, slots=True)
class KeptSprints:
    """The sprints as a Postgres recompute loads them: unchanged ones summarised from their kept tally."""

    scopes: list[SprintScope]
    sources: dict[str, str]
    windows: dict[int, SprintWindow]
    tallies: sprint_tallies.SprintTallies


def load_kept_sprints(
    session: Session, team_id: int, issue_ages: Sequence[IssueAge], refs: TeamRefs | None = None
) -> KeptSprints:
    """Every sprint's scope; only the sprints whose issues changed since their tally was kept are read.

    The others come summarised (``SprintScope.tally``), with in ``done`` only the issues that closed as
    the oldest open one, which is all that the oldest-open-ticket milestone looks up there.
    """
    refs = refs or TeamRefs(session, team_id)
    headers = sprint_headers(session, team_id)
    from_jira = from_jira_ids(session, list(headers))
    jira = set(from_jira)
    with binary_cursor(session) as cursor:
        now = sprint_tallies.fingerprints(
            cursor,
            team_id,
            {sid: (team_id, h.completed_at, sid in jira) for sid, h in headers.items()},
            from_jira,
        )
        tallies = sprint_tallies.kept(cursor, team_id, now)
        first_wins = sprint_tallies.first_wins(cursor, team_id, tallies.stale)
        done = _done_among(cursor, team_id, sorted(oldest_open_closings(issue_ages)), tallies.valid, jira)
    stale = set(tallies.stale)
    events = columns_by_sprint(session, event_scope_query(team_id, tallies.stale), 6) if stale else {}
    issues = {sid: columns[1:] for sid, columns in events.items()}
    issues |= jira_scopes(session, [sid for sid in from_jira if sid in stale])
    people = people_of(refs, issues.values())
    scopes: list[SprintScope] = []
    for sid, header in headers.items():
        valid = tallies.valid.get(sid)
        if valid is not None:
            scopes.append(_summarised(refs, sid, header, valid.tally, done.get(sid, {})))
            continue
        scope = scope_of(refs, sid, header, issues.get(sid), people)
        tally = SprintTally.of(scope)
        tallies.fresh[sid] = sprint_tallies.KeptTally(now.of[sid], tally, first_wins.get(sid))
        scopes.append(replace(scope, tally=tally))
    return KeptSprints(scopes, scope_sources(headers, jira, refs), sprint_windows(headers, refs), tallies)


def _summarised(
    refs: TeamRefs,
    sprint_id: int,
    header: SprintHeader,
    tally: SprintTally,
    done: dict[str, tuple[datetime, float | None]],
) -> SprintScope:
    return replace(scope_of(refs, sprint_id, header, None, {}, tally=tally), done=done)


# The done issues of the kept sprints among these keys (the issue ages'), as each sprint's scope has them.
_DONE_AMONG_SQL = """
SELECT st.sprint_id, t.issue_key, t.done_at, t.points
FROM tickets AS t JOIN sprint_tickets AS st ON st.ticket_id = t.id
WHERE t.workspace_id = (SELECT workspace_id FROM teams WHERE id = %(team_id)s)
  AND t.issue_key = ANY(%(keys)s::text[]) AND st.sprint_id = ANY(%(events)s::int[])
  AND t.done AND t.done_at IS NOT NULL
UNION ALL
SELECT i.sprint_id, i.issue_key, i.done_at, i.points
FROM sprint_scope AS i
WHERE i.issue_key = ANY(%(keys)s::text[]) AND i.sprint_id = ANY(%(jira)s::int[])
  AND i.committed AND i.removed_at IS NULL AND i.done AND i.done_at IS NOT NULL
"""


def _done_among(
    cursor: psycopg.Cursor[Any],
    team_id: int,
    keys: list[str],
    sprint_ids: Collection[int],
    from_jira: Collection[int],
) -> dict[int, dict[str, tuple[datetime, float | None]]]:
    """Issue keys name tickets within the team's workspace only (another's ``ORB-1`` is another issue)."""
    done: dict[int, dict[str, tuple[datetime, float | None]]] = {}
    if not keys or not sprint_ids:
        return done
    params = {
        "team_id": team_id,
        "keys": keys,
        "events": [sid for sid in sprint_ids if sid not in from_jira],
        "jira": [sid for sid in sprint_ids if sid in from_jira],
    }
    for sprint_id, key, done_at, points in cursor.execute(_DONE_AMONG_SQL, params):
        done.setdefault(sprint_id, {})[key] = (done_at, points)
    return done
