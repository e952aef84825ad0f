"""The ticket and win rows the recorder reads, changes in memory and writes back in bulk.

Plain dicts keyed by column name rather than ORM objects: a batch touches hundreds of rows and
per-object flushes cost ten times more. The column lists say which columns a batch reads and
which it may write; the helpers fill a row from an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam

from service.domain.events import IssueChanged
from service.domain.tickets import ticket_title
from service.domain.wins import WinKind, WinSource, WinStatus
from service.models import Member, Sprint, Ticket, Win

# A row as read from the database and changed in memory: column name -> value.
RowDict = dict[str, Any]

# The declarative ``__table__`` is typed as a plain FromClause; these are the real tables.
TICKETS = cast(Table, Ticket.__table__)
WINS = cast(Table, Win.__table__)
MEMBERS = cast(Table, Member.__table__)
SPRINTS = cast(Table, Sprint.__table__)

TICKET_COLUMNS = (
    "id",
    "team_id",
    "issue_key",
    "issue_id",
    "project_key",
    "summary",
    "issue_type",
    "is_subtask",
    "labels",
    "points",
    "status_name",
    "status_category",
    "done",
    "done_at",
    "assignee_id",
    "url",
    "jira_created_at",
    "last_event_ms",
)
TICKET_UPDATE = tuple(c for c in TICKET_COLUMNS if c not in {"team_id", "issue_key", "project_key"})
WIN_COLUMNS = (
    "id",
    "team_id",
    "kind",
    "status",
    "title",
    "member_id",
    "points",
    "source",
    "source_key",
    "url",
    "occurred_at",
    "details",
)
WIN_INSERT = tuple(c for c in WIN_COLUMNS if c != "id")
WIN_UPDATE = ("id", "status", "title", "member_id", "points", "url", "occurred_at", "details")


def new_ticket_row(event: IssueChanged, team_id: int) -> RowDict:
    """A placeholder ticket, inserted unless the issue is known; the events then fill it in."""
    return {
        "issue_key": event.issue_key,
        "team_id": team_id,
        "project_key": event.project_key,
        "issue_id": event.issue_id,
        "summary": "",
        "is_subtask": False,
        "labels": [],
        "status_category": "unknown",
        "done": False,
        "url": "",
        "last_event_ms": -1,
        "extra": {},
    }


def update_by_id(table: Table, columns: Sequence[str]) -> Update:
    """``UPDATE table SET col = :b_col ... WHERE id = :b_id``, run as one pipelined executemany."""
    values = {name: bindparam(f"b_{name}", type_=table.c[name].type) for name in columns if name != "id"}
    return table.update().where(table.c.id == bindparam("b_id")).values(values)


def prefixed(row: RowDict, columns: Sequence[str]) -> RowDict:
    """The row's values under the ``b_`` names ``update_by_id`` binds them to."""
    return {f"b_{name}": row[name] for name in columns}


def apply_to_ticket(ticket: RowDict, event: IssueChanged, members: dict[str, int]) -> None:
    ticket["issue_id"] = event.issue_id
    ticket["summary"] = event.summary
    ticket["issue_type"] = event.issue_type
    ticket["is_subtask"] = event.is_subtask
    ticket["labels"] = list(event.labels)
    if event.points is not None:
        ticket["points"] = event.points
    ticket["status_name"] = event.status_name
    ticket["status_category"] = event.status_category.value
    ticket["done"] = event.is_complete
    ticket["assignee_id"] = members.get(event.assignee.ref) if event.assignee else None
    ticket["url"] = event.url or ticket["url"]
    ticket["jira_created_at"] = event.created_at or ticket["jira_created_at"]
    ticket["last_event_ms"] = event.timestamp_ms


def active_ticket_win(
    win: RowDict | None, ticket: RowDict, event: IssueChanged, member_id: int | None
) -> RowDict:
    """The ticket's win, made or made active again, credited and titled from the completing event."""
    win = (
        dict(win)
        if win is not None
        else {
            "id": None,
            "team_id": ticket["team_id"],
            "kind": WinKind.TICKET.value,
            "source": WinSource.JIRA.value,
            "source_key": event.issue_key,
        }
    )
    win.update(
        status=WinStatus.ACTIVE.value,
        title=ticket_title(event),
        member_id=member_id,
        points=ticket["points"],
        url=event.url or None,
        occurred_at=event.occurred_at,
        details={"issue_type": event.issue_type, "summary": event.summary, "status": event.status_name},
    )
    return win
