"""The net under forgetting: every text and JSON column of every table, scrubbed of a person's traces.

``forget`` first does what needs knowing a table (deleting their rows, anonymising their cheers,
unassigning their tickets); this sweep then finds whatever text still names them: free-text win
titles, stored digests, ticket summaries, challenge titles, raw webhook bodies, error messages, and
any column a later table adds, without that table having to remember privacy. Each table is read
once, filtered in SQL on the person's traces, so only the rows that hold one come back.

A person belongs to one workspace, so only that workspace's rows are swept: a namesake's text in
another workspace is theirs. A row belongs to a workspace by its ``workspace_id``, or through the
team, win or sprint it points at; a row that points at none of them (a Slack store, a row whose
link is empty) is swept wherever it is.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import JSON, Column, String, Table, Text, cast, func, or_, select, true, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from service.models import InboundEvent, InboxState, Member
from service.models.base import Base
from service.privacy.traces import PersonTraces

# Rows fetched (and rewritten) at a time: the rows that name one person, never a table's worth.
SWEEP_BATCH = 500
INBOX_TABLE = InboundEvent.__tablename__
# The person's own row is deleted before the sweep; the rows left are other people's identities, and a
# namesake's name is theirs to keep.
IDENTITY_TABLES = frozenset({Member.__tablename__})
# A processed delivery has done its work: its body goes; the row stays, so a redelivery is still known.
SPENT_STATES = frozenset({InboxState.PROCESSED, InboxState.IGNORED})


def text_columns(table: Table) -> list[Column[Any]]:
    """The columns of ``table`` that hold text: strings and JSON."""
    return [c for c in table.columns if isinstance(c.type, String | JSON)]


def searchable(column: Column[Any]) -> ColumnElement[str]:
    """The column as lower-case text, JSON included, for a ``LIKE`` on both SQLite and Postgres."""
    return func.lower(cast(column, Text))


def holds_trace(columns: Sequence[Column[Any]], traces: PersonTraces) -> ColumnElement[bool]:
    return or_(
        *(searchable(c).contains(needle, autoescape=True) for c in columns for needle in traces.needles())
    )


def sweep(session: Session, traces: PersonTraces, workspace_id: int | None = None) -> Counter[str]:
    """Scrub ``traces`` from every table (only ``workspace_id``'s rows, when given); returns how many
    rows changed in each."""
    changed: Counter[str] = Counter()
    if not traces.needles():
        return changed
    for table in Base.metadata.sorted_tables:
        columns = text_columns(table)
        if not columns or not table.primary_key.columns or table.name in IDENTITY_TABLES:
            continue
        key = list(table.primary_key.columns)
        for rows in _matching(session, table, columns, traces, workspace_id):
            for row in rows:
                values = _scrubbed(table, columns, row, traces)
                if values is None:
                    continue
                where = [k == row._mapping[k.name] for k in key]
                session.execute(table.update().where(*where).values(values))
                changed[table.name] += 1
    session.flush()
    return changed


def in_workspace(table: Table, workspace_id: int) -> ColumnElement[bool]:
    """Rows of ``table`` that belong to the workspace (see the module's docstring)."""
    if "workspace_id" in table.c:
        return table.c.workspace_id == workspace_id
    # A required link (a row's team) says more than an optional one (who set it, if anyone).
    for fk in sorted(table.foreign_keys, key=lambda fk: (bool(fk.parent.nullable), fk.parent.name)):
        parent = fk.column.table
        if "workspace_id" in parent.c and fk.parent.table is table:
            owned = select(fk.column).where(parent.c.workspace_id == workspace_id)
            return or_(fk.parent.is_(None), fk.parent.in_(owned))
    return true()


def _matching(
    session: Session,
    table: Table,
    columns: list[Column[Any]],
    traces: PersonTraces,
    workspace_id: int | None = None,
) -> Iterator[Sequence[Any]]:
    """The rows holding a trace, a batch at a time, in primary-key order (keyset: never re-read)."""
    key = list(table.primary_key.columns)
    extra = [table.c.state] if table.name == INBOX_TABLE else []
    query = select(*key, *extra, *columns).where(holds_trace(columns, traces)).order_by(*key)
    if workspace_id is not None:
        query = query.where(in_workspace(table, workspace_id))
    after: tuple[Any, ...] | None = None
    while True:
        page = query if after is None else query.where(tuple_(*key) > tuple_(*after))
        rows = session.execute(page.limit(SWEEP_BATCH)).all()
        if not rows:
            return
        yield rows
        if len(rows) < SWEEP_BATCH:
            return
        after = tuple(rows[-1][: len(key)])


def _scrubbed(
    table: Table, columns: list[Column[Any]], row: Any, traces: PersonTraces
) -> dict[str, Any] | None:
    """The new values of the row's text columns, keyed by column name; None when nothing changes."""
    values = row._mapping
    new: dict[str, Any] = {}
    for column in columns:
        old = values[column.name]
        if old is None:
            continue
        if table.name == INBOX_TABLE and column.name == "body":
            value: Any = scrubbed_body(traces, values["state"], old)
        elif isinstance(column.type, JSON):
            value = traces.scrub_json(old)
        else:
            value = traces.scrub_text(old)
            length = getattr(column.type, "length", None)
            value = value[:length] if length else value
        if value != old:
            new[column.name] = value
    return new or None


def scrubbed_body(traces: PersonTraces, state: str, body: str) -> str:
    """A raw webhook body without the person.

    A processed (or ignored) delivery loses its body: its row only deduplicates now. A pending or
    failed one is still to be read, so only the person is taken out: their user objects become
    ``null`` (as Jira says "nobody") and any other mention is scrubbed from the text.
    """
    if state in SPENT_STATES:
        return ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return traces.scrub_text(body)
    return json.dumps(traces.scrub_json(parsed, drop_people=True), ensure_ascii=False)
