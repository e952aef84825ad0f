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
from service.domain.tickets import DoneSpell, ticket_title
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
    "workspace_id",
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
    "extra",
)
TICKET_UPDATE = tuple(
    c for c in TICKET_COLUMNS if c not in {"workspace_id", "team_id", "issue_key", "project_key"}
)
WIN_COLUMNS = (
    "id",
    "workspace_id",
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

# What a ticket keeps in its ``extra`` column so that late events land as timely ones do: the done events
# of its current spell (``DoneSpell``), and when its points and its sprints were last given (an event
# that carries none keeps them).
DONE_SPELL = "done_spell"
POINTS_MS = "points_ms"
SPRINTS_MS = "sprints_ms"


def new_ticket_row(event: IssueChanged, team_id: int, workspace_id: int) -> RowDict:
    """A placeholder ticket, inserted unless the issue is known; the events then fill it in."""
    return {
        "workspace_id": workspace_id,
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
        "extra": {SPRINTS_MS: -1},  # no event has listed its sprints yet
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
            "workspace_id": ticket["workspace_id"],
            "team_id": ticket["team_id"],
            "kind": WinKind.TICKET.value,
            "source": WinSource.JIRA.value,
            "source_key": event.issue_key,
        }
    )
    win.update(status=WinStatus.ACTIVE.value, member_id=member_id, occurred_at=event.occurred_at)
    refresh_ticket_win(win, ticket, event)
    return win


def refresh_ticket_win(win: RowDict, ticket: RowDict, event: IssueChanged) -> None:
    """What the latest event says of a done ticket: its title, points, link and details."""
    win.update(
        title=ticket_title(event),
        points=ticket["points"],
        url=event.url or None,
        details={"issue_type": event.issue_type, "summary": event.summary, "status": event.status_name},
    )


def done_spell(ticket: RowDict, win: RowDict | None) -> DoneSpell:
    """The ticket's done spell as stored; a ticket done before spells were kept starts from its win."""
    spell = DoneSpell.from_json((ticket["extra"] or {}).get(DONE_SPELL))
    if spell.done or not ticket["done"] or ticket["done_at"] is None:
        return spell
    member_id = win["member_id"] if win is not None else None
    return DoneSpell(spell.open_ms, ((round(ticket["done_at"].timestamp() * 1000), member_id),))


def keep_late_points(ticket: RowDict, event: IssueChanged) -> bool:
    """The points of the latest event that carried any, whatever order events came in; True if changed.

    A ticket's points are the last estimate given: an event without points keeps them, so an older event
    that carried some still counts when every later one carried none.
    """
    if event.points is None:
        return False
    extra = ticket["extra"] or {}
    given_ms = extra.get(POINTS_MS)
    if given_ms is None:  # a ticket stored before this was kept: its points came with its latest event
        given_ms = ticket["last_event_ms"] if ticket["points"] is not None else -1
    if event.timestamp_ms < given_ms:
        return False
    changed = ticket["points"] != event.points or given_ms != event.timestamp_ms
    ticket["points"] = event.points
    ticket["extra"] = {**extra, POINTS_MS: event.timestamp_ms}
    return changed


def keep_late_sprints(ticket: RowDict, event: IssueChanged) -> bool:
    """Whether the event's sprint field is the latest one given, whatever order events came in.

    An event whose payload has no sprint field keeps the ticket's sprints, so an older event that listed
    them still counts when no later one did. Records the event as the one that gave them.
    """
    if event.sprints is None:
        return False
    extra: dict[str, Any] = ticket["extra"] or {}
    given: int | None = extra.get(SPRINTS_MS)
    if event.timestamp_ms < (
        ticket["last_event_ms"] if given is None else given
    ):  # None: the latest gave them
        return False
    ticket["extra"] = {**extra, SPRINTS_MS: event.timestamp_ms}
    return True


def date_by_spell(ticket: RowDict, win: RowDict, spell: DoneSpell) -> bool:
    """Date and credit a done ticket's win by the event that began its done spell; True if that changed it."""
    began = spell.began
    if began is None:
        return False
    at, member_id = began
    if (win["occurred_at"], win["member_id"], ticket["done_at"]) == (at, member_id, at):
        return False
    win["occurred_at"], win["member_id"], ticket["done_at"] = at, member_id, at
    return True
