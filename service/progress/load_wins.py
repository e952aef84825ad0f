"""A team's counted wins, all of them, as the progress engine reads them.

Two loaders that give the engine the same history (the tests compare them): ``load_wins`` streams
rows into ``RecordedWin`` objects on any database; on Postgres ``load_win_columns`` fetches them as
``WinColumns``, one array per column.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, cast

import orjson
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from service.domain.progress_inputs import RecordedWin
from service.domain.team_rules import TeamRules
from service.domain.ticket_sprints import TicketSprints
from service.domain.win_columns import WinColumns
from service.domain.wins import COUNTED_KINDS, WinKind, WinSource, WinStatus
from service.models import Ticket, Win
from service.progress.refs import TeamRefs
from service.progress.sql import binary_cursor, stream

# The counted kinds' names, in the order the columnar statement numbers them (``kinds`` parameter).
COUNTED_KIND_NAMES = sorted(k.value for k in COUNTED_KINDS)
_BUG = "bug"


def load_wins(
    session: Session, team_id: int, ticket_sprints: TicketSprints, refs: TeamRefs | None = None
) -> Iterator[RecordedWin]:
    refs = refs or TeamRefs(session, team_id)
    kudos_from = Win.details[("kudos_from", "member_id")].as_integer()
    query = (
        select(
            Win.id,
            Win.kind,
            Win.member_id,
            Win.occurred_at,
            Win.points,
            Win.source_key,
            kudos_from,
            Ticket.id,
            Ticket.issue_type,
            Ticket.labels,
            Ticket.project_key,
            Ticket.is_subtask,
        )
        .outerjoin(
            Ticket,
            and_(
                Win.kind == WinKind.TICKET.value,
                Win.source == WinSource.JIRA.value,
                # A ticket win's key is an issue key of its own workspace.
                Ticket.workspace_id == Win.workspace_id,
                Ticket.issue_key == Win.source_key,
            ),
        )
        .where(Win.team_id == team_id, Win.status == WinStatus.ACTIVE.value, Win.kind.in_(COUNTED_KIND_NAMES))
        .order_by(Win.occurred_at, Win.id)  # the ix_wins_team_time order; the domain then skips its sort
    )
    active = WinStatus.ACTIVE
    kinds = {k.value: k for k in WinKind}
    member = refs.member_or_none
    for (
        win_id,
        kind,
        member_id,
        occurred_at,
        points,
        source_key,
        giver,
        ticket_id,
        issue_type,
        labels,
        project_key,
        is_subtask,
    ) in stream(session, query):
        yield RecordedWin(
            win_id,
            kinds[kind],
            active,
            member(member_id),
            occurred_at,
            points,
            source_key,
            issue_type,
            ticket_sprints.sprint_of(ticket_id, occurred_at),
            issue_type is not None and issue_type.casefold() == _BUG,
            member(giver),
            tuple(labels) if labels else (),
            project_key,
            bool(is_subtask),
        )


# The counted wins as columns, one array per column (Postgres). A million wins come back as a dozen
# values instead of a million rows: psycopg decodes each binary array in C, and no RecordedWin is
# built. Same rows, joins and order as ``load_wins`` (the portable loader, which the tests compare
# it with); kinds travel as their position in the parameter array. Labels, projects and subtasks
# are only read by ticket filters, so they are fetched only for rules that have some.
WIN_COLUMNS = (
    "id",
    "kind",
    "member_id",
    "occurred_at",
    "points",
    "giver",
    "ticket_id",
    "issue_type",
)
_TICKET_FILTER_COLUMNS = ("labels", "project_key", "is_subtask")
_WIN_COLUMNS_SQL = """
SELECT {arrays}
FROM (
    SELECT w.id, array_position(%(kinds)s::text[], w.kind::text)::int2 AS kind, w.member_id,
           w.occurred_at, w.points,
           CAST(w.details #>> '{{kudos_from,member_id}}' AS integer) AS giver,
           t.id AS ticket_id, t.issue_type{filters}
    FROM {wins} AS w
    {tickets}
    ORDER BY w.occurred_at, w.id
) AS counted
"""
_TEAM_COUNTED_WINS = """(
    SELECT * FROM wins
    WHERE team_id = %(team_id)s AND status = 'active' AND kind = ANY(%(kinds)s::text[])
)"""


_TICKETS_JOINED = """LEFT OUTER JOIN tickets AS t
        ON w.kind = 'ticket' AND w.source = 'jira' AND t.workspace_id = w.workspace_id
        AND t.issue_key = w.source_key"""
# The same join, one index lookup per win: for a few wins, cheaper than hashing every ticket, which the
# planner would otherwise do (OFFSET 0 keeps it from turning this back into a plain join).
TICKETS_LOOKED_UP = """LEFT JOIN LATERAL (
        SELECT * FROM tickets
        WHERE w.kind = 'ticket' AND w.source = 'jira' AND tickets.workspace_id = w.workspace_id
          AND tickets.issue_key = w.source_key OFFSET 0
    ) AS t ON true"""


def win_columns_sql(
    with_filters: bool, wins: str = _TEAM_COUNTED_WINS, tickets: str = _TICKETS_JOINED
) -> str:
    columns = WIN_COLUMNS + (_TICKET_FILTER_COLUMNS if with_filters else ())
    return _WIN_COLUMNS_SQL.format(
        arrays=", ".join(f"array_agg({c})" for c in columns),
        filters=", t.labels::text AS labels, t.project_key, t.is_subtask" if with_filters else "",
        wins=wins,
        tickets=tickets,
    )


def load_win_columns(
    session: Session,
    team_id: int,
    ticket_sprints: TicketSprints,
    rules: TeamRules,
    refs: TeamRefs | None = None,
) -> WinColumns:
    with_filters = not rules.counts_every_ticket
    with binary_cursor(session) as cursor:
        cursor.execute(win_columns_sql(with_filters), {"kinds": COUNTED_KIND_NAMES, "team_id": team_id})
        row = cursor.fetchone()
    return win_columns_of(row, refs or TeamRefs(session, team_id), ticket_sprints, with_filters)


def win_columns_of(
    row: Sequence[Any] | None, people: TeamRefs, ticket_sprints: TicketSprints, with_filters: bool
) -> WinColumns:
    """``WinColumns`` from the arrays of ``win_columns_sql``."""
    if row is None or row[0] is None:  # array_agg over no rows is NULL
        row = ([],) * (len(WIN_COLUMNS) + (len(_TICKET_FILTER_COLUMNS) if with_filters else 0))
    ids, kind_codes, member_ids, occurred, points, givers, ticket_ids, issue_types = row[: len(WIN_COLUMNS)]
    kinds: list[WinKind | None] = [
        None,
        *(WinKind(k) for k in COUNTED_KIND_NAMES),
    ]  # array_position counts from 1
    refs = people.members({*member_ids, *givers})
    is_bug = {t: t is not None and t.casefold() == _BUG for t in set(issue_types)}
    columns = WinColumns(
        ids=ids,
        kinds=cast("list[WinKind]", list(map(kinds.__getitem__, kind_codes))),  # never position 0
        member_refs=list(map(refs.get, member_ids)),
        occurred_at=occurred,
        points=points,
        issue_types=issue_types,
        sprint_refs=ticket_sprints.refs(ticket_ids, occurred),
        is_bug=list(map(is_bug.__getitem__, issue_types)),
        kudos_from=list(map(refs.get, givers)),
    )
    if not with_filters:
        return columns
    labels, projects, subtasks = row[len(WIN_COLUMNS) :]
    label_sets = {text: _labels_of(text) for text in set(labels)}  # few distinct sets: each parsed once
    return replace(
        columns,
        labels=list(map(label_sets.__getitem__, labels)),
        project_keys=projects,
        is_subtask=list(map(bool, subtasks)),  # NULL (no ticket) is False, as in load_wins
    )


def _labels_of(text: str | None) -> tuple[str, ...]:
    labels = None if text is None else orjson.loads(text)
    return tuple(labels) if labels else ()
