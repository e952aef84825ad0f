"""The counted wins a Postgres recompute reads, found by index instead of reading the whole history.

A million-win team's recompute reads a few tens of thousands of its wins (``progress_needs``). Postgres
finds their ids by index, one lookup per person and local day (days cut at the domain's own day
starts, so time zones stay Python's), per person's first wins and bugs, per kudos and challenge
window; only then are those wins read, joined to their tickets and sorted. The statements repeat the
partial indexes' predicate (``COUNTED_WINS``) word for word so that Postgres can use them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import product
from typing import Any

import psycopg
from sqlalchemy.orm import Session

from service.domain.calendar import TeamCalendar
from service.domain.challenges import Challenge
from service.domain.progress_needs import challenge_spans, day_starts, ranks_read
from service.domain.team_rules import TeamRules
from service.domain.ticket_sprints import SprintWindow, TicketSprints
from service.domain.win_columns import WinColumns
from service.models.wins import ACTIVE_KUDOS, COUNTED_WINS
from service.progress import tallies as sprint_tallies
from service.progress.kept_sprints import KeptSprints
from service.progress.load_wins import (
    COUNTED_KIND_NAMES,
    TICKETS_LOOKED_UP,
    WIN_COLUMNS,
    win_columns_of,
    win_columns_sql,
)
from service.progress.refs import TeamRefs
from service.progress.sql import binary_cursor

# partial indexes' predicate (``COUNTED_WINS``) word for word so that Postgres can use them.

_SPAN_SQL = f"""
SELECT min(occurred_at), max(occurred_at) FROM wins WHERE team_id = %(team_id)s AND {COUNTED_WINS}
"""
# The people with counted wins, one index lookup each (a skip scan).
_PEOPLE_SQL = f"""
WITH RECURSIVE people AS (
    (SELECT member_id FROM wins
     WHERE team_id = %(team_id)s AND {COUNTED_WINS} AND member_id IS NOT NULL
     ORDER BY member_id LIMIT 1)
    UNION ALL
    SELECT (SELECT w.member_id FROM wins AS w
            WHERE w.team_id = %(team_id)s AND {COUNTED_WINS} AND w.member_id > p.member_id
            ORDER BY w.member_id LIMIT 1)
    FROM people AS p WHERE p.member_id IS NOT NULL
)
SELECT member_id FROM people WHERE member_id IS NOT NULL
"""
# Each person's (and the team-level wins') first win of every day, first wins and first bugs. Bug
# types are every spelling of "bug": no other character casefolds to these letters (tested).
_FIRSTS_SQL = f"""
SELECT array_agg(id) FROM (
    SELECT f.id
    FROM unnest(%(people)s::int[]) AS p(member)
    CROSS JOIN unnest(%(day_from)s::timestamptz[], %(day_to)s::timestamptz[]) AS d(lo, hi)
    CROSS JOIN LATERAL (
        SELECT w.id FROM wins AS w
        WHERE w.team_id = %(team_id)s AND {COUNTED_WINS} AND w.member_id = p.member
          AND w.occurred_at >= d.lo AND w.occurred_at < d.hi
        ORDER BY w.occurred_at, w.id LIMIT 1
    ) AS f
    UNION ALL
    SELECT f.id
    FROM unnest(%(day_from)s::timestamptz[], %(day_to)s::timestamptz[]) AS d(lo, hi)
    CROSS JOIN LATERAL (
        SELECT w.id FROM wins AS w
        WHERE w.team_id = %(team_id)s AND {COUNTED_WINS} AND w.member_id IS NULL
          AND w.occurred_at >= d.lo AND w.occurred_at < d.hi
        ORDER BY w.occurred_at, w.id LIMIT 1
    ) AS f
    UNION ALL
    SELECT f.id
    FROM unnest(%(people)s::int[]) AS p(member)
    CROSS JOIN LATERAL (
        SELECT w.id FROM wins AS w
        WHERE w.team_id = %(team_id)s AND {COUNTED_WINS} AND w.member_id = p.member
        ORDER BY w.occurred_at, w.id LIMIT %(wins_needed)s
    ) AS f
) AS firsts
"""
# Each person's first bugs, looked for among their first ``bug_scan`` wins (the ticket looked up for
# each): where bugs are common that finds them all at once. Bug types are every spelling of "bug": no
# other character casefolds to these letters (tested).
_BUGS_SQL = f"""
SELECT array_agg(p.member), array_agg(f.id)
FROM unnest(%(people)s::int[]) AS p(member)
CROSS JOIN LATERAL (
    SELECT w.id FROM (
        SELECT id, occurred_at, kind, source, source_key, workspace_id FROM wins
        WHERE team_id = %(team_id)s AND {COUNTED_WINS} AND member_id = p.member
        ORDER BY occurred_at, id LIMIT %(bug_scan)s
    ) AS w
    JOIN tickets AS t ON t.workspace_id = w.workspace_id AND t.issue_key = w.source_key
    WHERE w.kind = 'ticket' AND w.source = 'jira' AND t.issue_type = ANY(%(bug_types)s::text[])
    ORDER BY w.occurred_at, w.id LIMIT %(bugs_needed)s
) AS f
"""
# The first bugs of the people who have fewer than needed there: from the bug tickets' side, so that a
# team with few bugs is not read win by win.
_RARE_BUGS_SQL = f"""
SELECT array_agg(id) FROM (
    SELECT w.id, row_number() OVER (PARTITION BY w.member_id ORDER BY w.occurred_at, w.id) AS rank
    FROM tickets AS t
    JOIN wins AS w ON w.kind = 'ticket' AND w.source = 'jira' AND w.workspace_id = t.workspace_id
        AND w.source_key = t.issue_key
    WHERE t.issue_type = ANY(%(bug_types)s::text[])
      AND w.team_id = %(team_id)s AND {COUNTED_WINS} AND w.member_id = ANY(%(short)s::int[])
) AS bugs
WHERE rank <= %(bugs_needed)s
"""
_BUG_SCAN = 1000
BUG_SPELLINGS = sorted({"".join(letters) for letters in product("bB", "uU", "gG")})
# Each person's first kudos received, and each giver's first given.
_KUDOS_SQL = f"""
SELECT array_agg(id) FROM (
    (SELECT DISTINCT ON (member_id) id FROM wins
     WHERE team_id = %(team_id)s AND {ACTIVE_KUDOS} AND member_id IS NOT NULL
     ORDER BY member_id, occurred_at, id)
    UNION ALL
    (SELECT DISTINCT ON (giver) id FROM (
        SELECT id, occurred_at, CAST(details #>> '{{kudos_from,member_id}}' AS integer) AS giver FROM wins
        WHERE team_id = %(team_id)s AND {ACTIVE_KUDOS}
     ) AS given
     WHERE giver IS NOT NULL
     ORDER BY giver, occurred_at, id)
) AS firsts
"""
# Every counted win inside a challenge's window.
_SPANS_SQL = f"""
SELECT array_agg(w.id)
FROM unnest(%(span_from)s::timestamptz[], %(span_to)s::timestamptz[]) AS s(lo, hi)
JOIN wins AS w ON w.team_id = %(team_id)s AND w.occurred_at >= s.lo AND w.occurred_at < s.hi
WHERE {COUNTED_WINS}
"""
_AT_INSTANTS_SQL = f"""
SELECT array_agg(id) FROM wins
WHERE team_id = %(team_id)s AND occurred_at = ANY(%(instants)s::timestamptz[]) AND {COUNTED_WINS}
"""
# Each chosen win by its primary key alone: the inner OFFSET 0 keeps the team and counted conditions out
# of the index scan, which the planner would otherwise serve from a partial index of the whole team's
# counted wins (it does whenever the statistics lag behind a fast-growing table), filtering it per id.
NEEDED_WINS = f"""(
    SELECT w.* FROM unnest(%(ids)s::int[]) AS needed(id)
    CROSS JOIN LATERAL (
        SELECT * FROM (SELECT * FROM wins WHERE id = needed.id OFFSET 0) AS one
        WHERE team_id = %(team_id)s AND {COUNTED_WINS}
    ) AS w
)"""


def load_needed_win_columns(
    session: Session,
    team_id: int,
    sprints: KeptSprints,
    rules: TeamRules,
    calendar: TeamCalendar,
    challenges: Sequence[Challenge],
    refs: TeamRefs | None = None,
) -> WinColumns | None:
    """The counted wins a recompute reads, and a few more; None when the whole history must be loaded.

    That is for teams whose rules filter tickets, whose time zone has a day that is not one span of
    time (see ``day_starts``) or who have no counted win, and when a chosen win stopped counting while
    the others were looked for.
    """
    if not rules.counts_every_ticket:
        return None
    refs = refs or TeamRefs(session, team_id)
    params: dict[str, Any] = {"team_id": team_id}
    with binary_cursor(session) as cursor:
        first_at, last_at = cursor.execute(_SPAN_SQL, params).fetchone()  # type: ignore[misc]
        if first_at is None:
            return None
        days = day_starts(calendar, calendar.local_date(first_at), calendar.local_date(last_at))
        if days is None:
            return None
        wins_needed, bugs_needed = ranks_read(rules)
        params.update(
            people=[m for (m,) in cursor.execute(_PEOPLE_SQL, params)],
            day_from=days[:-1],
            day_to=days[1:],
            wins_needed=wins_needed,
            bugs_needed=bugs_needed,
            bug_types=BUG_SPELLINGS,
        )
        ids: set[int] = set(_ids(cursor.execute(_FIRSTS_SQL, params)))
        if bugs_needed:
            params["bug_scan"] = max(_BUG_SCAN, bugs_needed)
            members, bugs = _arrays(cursor.execute(_BUGS_SQL, params), 2)
            ids.update(bugs)
            found = Counter(members)
            params["short"] = [m for m in params["people"] if found[m] < bugs_needed]
            if params["short"]:
                ids.update(_ids(cursor.execute(_RARE_BUGS_SQL, params)))
        if {"first_kudos_given", "first_kudos_received"} & rules.enabled_badges:
            ids.update(_ids(cursor.execute(_KUDOS_SQL, params)))
        spans = challenge_spans(challenges, calendar)
        if spans:
            params.update(span_from=spans[::2], span_to=spans[1::2])
            ids.update(_ids(cursor.execute(_SPANS_SQL, params)))
        tallies = sprints.tallies
        first_wins = "first_win_of_sprint" in rules.enabled_milestones and bool(
            tallies.fingerprints.with_issues
        )
        instants = [at for sid in sprints.windows if (at := tallies.first_win_at(sid)) is not None]
        if first_wins and instants:
            params["instants"] = instants
            ids.update(_ids(cursor.execute(_AT_INSTANTS_SQL, params)))
        columns = read_chosen(cursor, team_id, ids, sprints.windows, refs)
        if not first_wins or columns is None:
            return columns
        missing = _first_wins_missing(columns, sprints)
        if not missing:
            return columns
        # The earliest win of these sprints' tickets went to another sprint holding its ticket, or is
        # gone (see ``service.progress.tallies``): keep the earliest as it is now, and find each first.
        again = sprint_tallies.first_wins(cursor, team_id, missing)
        for sid in missing:
            tallies.keep_first_win_at(sid, again.get(sid))
            first = _first_win_of(cursor, team_id, sid, sprints.windows)
            if first is not None:
                ids.add(first)
        return read_chosen(cursor, team_id, ids, sprints.windows, refs)


def _first_win_of(
    cursor: psycopg.Cursor[Any], team_id: int, sprint_id: int, windows: dict[int, SprintWindow]
) -> int | None:
    """The id of the sprint's first win: the earliest of its tickets' wins that the sprint holds."""
    ref = windows[sprint_id].ref
    for page in sprint_tallies.wins_in_order(cursor, team_id, sprint_id):
        placed = _ticket_sprints_of(cursor, team_id, [ticket_id for _, ticket_id, _ in page], windows)
        for win_id, ticket_id, at in page:
            if placed.sprint_of(ticket_id, at) == ref:
                return int(win_id)
    return None


def _first_wins_missing(columns: WinColumns, sprints: KeptSprints) -> list[int]:
    """The sprints whose earliest win is not among the wins read as theirs (at its instant)."""
    read = set(zip(columns.sprint_refs, columns.occurred_at, strict=True))
    return [
        sid
        for sid in sprints.windows
        if (at := sprints.tallies.first_win_at(sid)) is not None
        and (sprints.windows[sid].ref, at) not in read
    ]


def read_chosen(
    cursor: psycopg.Cursor[Any],
    team_id: int,
    ids: set[int],
    windows: dict[int, SprintWindow],
    refs: TeamRefs,
) -> WinColumns | None:
    """The chosen wins with their tickets, in order; None if one of them no longer counts.

    Each statement sees the latest commits: a chosen win retracted meanwhile would leave its day or rank
    without the win that follows it. The full load is one statement, so it is the safe answer then.
    """
    params = {"team_id": team_id, "ids": sorted(ids), "kinds": COUNTED_KIND_NAMES}
    row = cursor.execute(win_columns_sql(False, NEEDED_WINS, TICKETS_LOOKED_UP), params).fetchone()
    ticket_ids = () if row is None or row[0] is None else row[WIN_COLUMNS.index("ticket_id")]
    ticket_sprints = _ticket_sprints_of(cursor, team_id, ticket_ids, windows)
    columns = win_columns_of(row, refs, ticket_sprints, False)
    return columns if len(columns) == len(ids) else None


def _arrays(cursor: psycopg.Cursor[Any], width: int) -> list[Sequence[Any]]:
    """The one row of ``width`` arrays a query of ``array_agg`` returns (NULL over no rows: empty)."""
    row = cursor.fetchone()
    return [()] * width if row is None or row[0] is None else list(row)


def _ids(cursor: psycopg.Cursor[Any]) -> Sequence[int]:
    """The array of ids of a query's one ``array_agg`` value (NULL over no rows)."""
    row = cursor.fetchone()
    ids: Sequence[int] = () if row is None or row[0] is None else row[0]
    return ids


# The sprints of these tickets (all of each ticket's sprints), to place the wins read.
_TICKET_SPRINTS_SQL = """
SELECT st.sprint_id, array_agg(st.ticket_id)
FROM sprint_tickets AS st JOIN sprints AS s ON s.id = st.sprint_id
WHERE s.team_id = %(team_id)s AND s.state <> 'deleted' AND st.ticket_id = ANY(%(tickets)s::int[])
GROUP BY st.sprint_id
"""


def _ticket_sprints_of(
    cursor: psycopg.Cursor[Any],
    team_id: int,
    ticket_ids: Iterable[int | None],
    windows: dict[int, SprintWindow],
) -> TicketSprints:
    tickets = sorted({t for t in ticket_ids if t is not None})
    if not tickets or not windows:
        return TicketSprints()
    found = cursor.execute(_TICKET_SPRINTS_SQL, {"team_id": team_id, "tickets": tickets}).fetchall()
    return TicketSprints.of(dict(found), windows)
