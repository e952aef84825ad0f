"""Record what domain events mean: tickets, sprints and wins, idempotently and in timestamp order.

Works a batch at a time so a worker pays one query per table per batch rather than per event.
Under Postgres the batch's tickets and sprints are locked (in key order, so two workers never
deadlock); every insert ignores conflicts and re-reads, so a retried batch finds its own rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from service.domain.events import DomainEvent, IssueChanged, Person, SprintAction, SprintChanged, SprintRef
from service.domain.sprints import SprintState, sprint_win_key, state_after
from service.domain.tickets import TicketOutcome, TicketState, decide_ticket, ticket_title
from service.domain.wins import WinKind, WinSource, WinStatus
from service.models import Member, Sprint, TeamSource, Ticket, Win, sprint_tickets, utcnow
from service.models.upsert import insert_ignoring_conflicts
from service.teams.registry import claim_board_for, teams_for_sources

SPRINT_WIN_KINDS = (WinKind.SPRINT_STARTED.value, WinKind.SPRINT_CLOSED.value)


@dataclass
class RecordStats:
    completed: int = 0
    retracted: int = 0
    stale: int = 0
    sprint_events: int = 0
    touched_teams: set[int] = field(default_factory=set)  # teams whose wins or tickets changed
    closed_sprint_ids: set[int] = field(default_factory=set)  # our sprint ids closed by this batch
    # Issues another worker's open batch holds: their events stay in the inbox for a later batch.
    deferred_issue_keys: set[str] = field(default_factory=set)


class EventRecorder:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.stats = RecordStats()
        self._board_teams: dict[tuple[int, int], int] = {}
        self._sprints_by_name: dict[tuple[int, str], Sprint] = {}

    def record(self, events: Sequence[DomainEvent]) -> RecordStats:
        ordered = sorted(events, key=lambda e: e.timestamp_ms)
        issues = [e for e in ordered if isinstance(e, IssueChanged)]
        sprint_events = [e for e in ordered if isinstance(e, SprintChanged)]
        touched_sprints: set[int] = set()
        issues = self._without_busy_issues(issues)
        if issues:
            touched_sprints |= self._record_issues(issues)
        for event in sprint_events:
            touched_sprints.add(self._record_sprint_event(event))
        self._refresh_closed_sprint_wins(touched_sprints)
        self.session.flush()
        return self.stats

    # -- issues ---------------------------------------------------------------------------------------
    #
    # Tickets and wins are read once per batch as plain rows, changed in memory in timestamp order,
    # and written back with one bulk statement per table: per-event ORM flushes cost ten times more.

    def _record_issues(self, events: list[IssueChanged]) -> set[int]:
        names = {e.project_key: e.project_name or e.project_key for e in events}
        teams = teams_for_sources(self.session, TeamSource.PROJECT, names, names)
        members = self._members(p for e in events for p in (e.assignee, e.actor) if p is not None)
        tickets = self._lock_tickets(events, teams)
        wins = self._ticket_wins(list(tickets))
        memberships = _Memberships(self, tickets)
        changed_tickets: set[str] = set()
        changed_wins: set[str] = set()
        for event in events:
            ticket = tickets[event.issue_key]
            win = wins.get(event.issue_key)
            state = TicketState(
                ticket["last_event_ms"], win is not None and win["status"] == WinStatus.ACTIVE
            )
            outcome = decide_ticket(state, event)
            if outcome is TicketOutcome.STALE:
                self.stats.stale += 1
                continue
            _apply_to_ticket(ticket, event, members)
            changed_tickets.add(event.issue_key)
            if outcome is TicketOutcome.COMPLETED:
                ticket["done_at"] = event.occurred_at
                credited = event.credited
                wins[event.issue_key] = _active_ticket_win(
                    win, ticket, event, members.get(credited.ref) if credited else None
                )
                self.stats.completed += 1
            elif outcome is TicketOutcome.RETRACTED and win is not None:
                win["status"] = WinStatus.RETRACTED.value
                ticket["done_at"] = None
                self.stats.retracted += 1
            elif win is not None and win["status"] == WinStatus.ACTIVE:
                # Still done: keep the title and points current with later edits.
                win["title"], win["points"] = ticket_title(event), ticket["points"]
            if event.issue_key in wins:
                changed_wins.add(event.issue_key)
            memberships.apply(ticket, event)
        self._write_tickets([tickets[k] for k in sorted(changed_tickets)])
        self._write_wins([wins[k] for k in sorted(changed_wins)])
        touched = memberships.write()
        # A sprint's closed win counts done tickets: refresh the sprints of tickets that changed.
        return touched | memberships.sprints_of({tickets[k]["id"] for k in changed_tickets})

    def _without_busy_issues(self, events: list[IssueChanged]) -> list[IssueChanged]:
        """Claim each issue for this transaction without waiting; defer the events of busy ones.

        Two workers whose batches share an issue would otherwise queue behind each other's
        whole batch on the ticket row. A transaction-scoped advisory lock per issue key, taken
        with ``pg_try_``, says at once which issues are free; the rest are processed later, and
        the timestamp rule makes that late application land in the right state.
        """
        if not events or self.session.get_bind().dialect.name != "postgresql":
            return events  # SQLite has one writer at a time: nothing to contend with
        keys = sorted({e.issue_key for e in events})
        rows = self.session.execute(
            text(
                "SELECT k FROM unnest(CAST(:keys AS text[])) AS k "
                "WHERE pg_try_advisory_xact_lock(hashtextextended('sprintwins-issue:' || k, 0))"
            ),
            {"keys": keys},
        )
        free = {k for (k,) in rows}
        self.stats.deferred_issue_keys = set(keys) - free
        return [e for e in events if e.issue_key in free]

    def _lock_tickets(self, events: list[IssueChanged], teams: dict[str, int]) -> dict[str, dict[str, Any]]:
        first: dict[str, IssueChanged] = {}
        for event in events:
            first.setdefault(event.issue_key, event)
        keys = sorted(first)
        insert_ignoring_conflicts(
            self.session,
            Ticket.__table__,
            [
                {
                    "issue_key": key,
                    "team_id": teams[first[key].project_key],
                    "project_key": first[key].project_key,
                    "issue_id": first[key].issue_id,
                    "summary": "",
                    "is_subtask": False,
                    "labels": [],
                    "status_category": "unknown",
                    "done": False,
                    "url": "",
                    "last_event_ms": -1,
                    "extra": {},
                }
                for key in keys
            ],
            ["issue_key"],
        )
        columns = [Ticket.__table__.c[name] for name in _TICKET_COLUMNS]
        query = (
            select(*columns).where(Ticket.issue_key.in_(keys)).order_by(Ticket.issue_key).with_for_update()
        )
        return {row.issue_key: dict(row._mapping) for row in self.session.execute(query)}

    def _ticket_wins(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        query = select(*(Win.__table__.c[name] for name in _WIN_COLUMNS)).where(
            Win.source == WinSource.JIRA.value, Win.kind == WinKind.TICKET.value, Win.source_key.in_(keys)
        )
        return {row.source_key: dict(row._mapping) for row in self.session.execute(query)}

    def _write_tickets(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(
                _update_by_id(Ticket.__table__, _TICKET_UPDATE), [_prefixed(r, _TICKET_UPDATE) for r in rows]
            )
            self.stats.touched_teams.update(row["team_id"] for row in rows)

    def _write_wins(self, rows: list[dict[str, Any]]) -> None:
        now = utcnow()
        new = [
            {**{k: row[k] for k in _WIN_INSERT}, "created_at": now, "updated_at": now}
            for row in rows
            if row["id"] is None
        ]
        old = [{**_prefixed(row, _WIN_UPDATE), "b_updated_at": now} for row in rows if row["id"] is not None]
        if new:
            self.session.execute(insert(Win.__table__), new)
        if old:
            self.session.execute(_update_by_id(Win.__table__, (*_WIN_UPDATE, "updated_at")), old)
        self.stats.touched_teams.update(row["team_id"] for row in rows)

    def _members(self, people: Iterable[Person]) -> dict[str, int]:
        by_ref: dict[str, Person] = {}
        for person in people:
            by_ref.setdefault(person.ref, person)
        if not by_ref:
            return {}
        insert_ignoring_conflicts(
            self.session,
            Member.__table__,
            [
                {
                    "jira_account_id": ref,
                    "display_name": p.display_name or ref,
                    "email": p.email,
                    "sharing_opt_out": False,
                }
                for ref, p in sorted(by_ref.items())
            ],
            ["jira_account_id"],
        )
        found: dict[str, int] = {}
        renames = []
        query = select(Member.id, Member.jira_account_id, Member.display_name, Member.email).where(
            Member.jira_account_id.in_(by_ref)
        )
        for member_id, ref, display_name, email in self.session.execute(query):
            person = by_ref[ref]
            if (person.display_name and display_name != person.display_name) or (person.email and not email):
                renames.append(
                    {
                        "id": member_id,
                        "display_name": person.display_name or display_name,
                        "email": email or person.email,
                    }
                )
            found[ref] = member_id
        if renames:
            self.session.execute(update(Member), renames)
        return found

    # -- sprints --------------------------------------------------------------------------------------

    def _sprint_for_ref(self, ref: SprintRef, team_id: int, *, seen_on_issue: bool = True) -> Sprint:
        if seen_on_issue and ref.board_id is not None:
            team_id = self._board_team(ref.board_id, team_id)
        sprint = self.session.scalars(select(Sprint).where(Sprint.jira_id == ref.jira_id)).first()
        if sprint is None:
            named = self._unnumbered_sprint(ref.name, team_id)
            if named is not None:
                named.jira_id = ref.jira_id
                sprint = named
            else:
                row = {
                    "jira_id": ref.jira_id,
                    "team_id": team_id,
                    "name": ref.name or f"Sprint {ref.jira_id}",
                    "state": ref.state or SprintState.FUTURE,
                    "last_event_ms": -1,
                }
                insert_ignoring_conflicts(self.session, Sprint.__table__, [row], ["jira_id"])
                sprint = self.session.scalars(select(Sprint).where(Sprint.jira_id == ref.jira_id)).one()
        _merge_sprint_facts(sprint, ref)
        return sprint

    def _board_team(self, board_id: int, issue_team_id: int) -> int:
        """Which team a board belongs to, asked once per batch."""
        key = (board_id, issue_team_id)
        if key not in self._board_teams:
            self._board_teams[key] = claim_board_for(self.session, board_id, issue_team_id)
        return self._board_teams[key]

    def _unnumbered_sprint(self, name: str | None, team_id: int) -> Sprint | None:
        if not name:
            return None
        return self.session.scalars(
            select(Sprint).where(Sprint.team_id == team_id, Sprint.name == name, Sprint.jira_id.is_(None))
        ).first()

    def _sprint_by_name(self, name: str, team_id: int) -> Sprint:
        """The changelog names sprints without ids on some sites; match them within the team."""
        key = (team_id, name)
        if key not in self._sprints_by_name:
            sprint = self.session.scalars(
                select(Sprint)
                .where(Sprint.team_id == team_id, Sprint.name == name)
                .order_by(Sprint.id.desc())
            ).first()
            if sprint is None:
                sprint = Sprint(team_id=team_id, name=name, state=SprintState.FUTURE, last_event_ms=-1)
                self.session.add(sprint)
                self.session.flush()
            self._sprints_by_name[key] = sprint
        return self._sprints_by_name[key]

    def _record_sprint_event(self, event: SprintChanged) -> int:
        self.stats.sprint_events += 1
        ref = event.sprint
        sprint = self.session.scalars(
            select(Sprint).where(Sprint.jira_id == ref.jira_id).with_for_update()
        ).first()
        if sprint is None:
            # Sprint events name only their board; an unclaimed board gets a team so nothing is dropped.
            board_key = str(ref.board_id) if ref.board_id is not None else "unknown"
            team_id = teams_for_sources(self.session, TeamSource.BOARD, [board_key])[board_key]
            sprint = self._sprint_for_ref(ref, team_id, seen_on_issue=False)
        if event.timestamp_ms >= sprint.last_event_ms:
            _merge_sprint_facts(sprint, ref)
            sprint.state = state_after(event.action, ref.state, sprint.state)
            sprint.last_event_ms = event.timestamp_ms
        self.session.flush()
        if event.action is SprintAction.STARTED:
            goal = f" with the goal: {ref.goal}" if ref.goal else ""
            self._upsert_sprint_win(
                sprint, WinKind.SPRINT_STARTED, f"{sprint.name} started{goal}", event, None
            )
        elif event.action is SprintAction.CLOSED:
            self._upsert_sprint_win(sprint, WinKind.SPRINT_CLOSED, sprint.name, event, None)
            self.stats.closed_sprint_ids.add(sprint.id)
        elif event.action is SprintAction.DELETED:
            for win in self.session.scalars(
                select(Win).where(
                    Win.source_key == sprint_win_key(ref.jira_id), Win.kind.in_(SPRINT_WIN_KINDS)
                )
            ):
                win.status = WinStatus.RETRACTED.value
        return sprint.id

    def _upsert_sprint_win(
        self, sprint: Sprint, kind: WinKind, title: str, event: SprintChanged, points: float | None
    ) -> None:
        key = sprint_win_key(sprint.jira_id)
        win = self.session.scalars(
            select(Win).where(
                Win.source == WinSource.JIRA.value, Win.source_key == key, Win.kind == kind.value
            )
        ).first()
        if win is None:
            win = Win(team_id=sprint.team_id, kind=kind.value, source=WinSource.JIRA.value, source_key=key)
            self.session.add(win)
        win.team_id = sprint.team_id
        win.status = WinStatus.ACTIVE.value if sprint.state != "deleted" else WinStatus.RETRACTED.value
        win.title = title
        win.points = points
        win.occurred_at = (
            event.sprint.completed_at if kind is WinKind.SPRINT_CLOSED else event.sprint.start_at
        ) or event.occurred_at
        win.details = {"sprint": sprint.name, "goal": sprint.goal, "board_id": sprint.board_id}
        self.session.flush()
        self.stats.touched_teams.add(win.team_id)

    def _refresh_closed_sprint_wins(self, sprint_ids: set[int]) -> None:
        """A closed sprint's win counts what was done in it, even when tickets arrive late."""
        if not sprint_ids:
            return
        self.session.flush()
        closed = self.session.scalars(
            select(Sprint).where(Sprint.id.in_(sprint_ids), Sprint.state == SprintState.CLOSED)
        )
        for sprint in closed:
            win = self.session.scalars(
                select(Win).where(
                    Win.source_key == sprint_win_key(sprint.jira_id), Win.kind == WinKind.SPRINT_CLOSED.value
                )
            ).first()
            if win is None:
                continue
            done_count, done_points, total = self.session.execute(
                select(
                    func.count().filter(Ticket.done.is_(True)),
                    func.coalesce(func.sum(Ticket.points).filter(Ticket.done.is_(True)), 0.0),
                    func.count(),
                )
                .select_from(sprint_tickets)
                .join(Ticket, Ticket.id == sprint_tickets.c.ticket_id)
                .where(sprint_tickets.c.sprint_id == sprint.id)
            ).one()
            points = float(done_points or 0.0)
            noun = "issue" if done_count == 1 else "issues"
            win.title = f"{sprint.name} closed: {done_count} {noun} and {_fmt_points(points)} points done"
            win.points = points
            win.details = {
                **(win.details or {}),
                "issues_done": done_count,
                "points_done": points,
                "issues_total": total,
            }
            self.stats.touched_teams.add(win.team_id)


def _merge_sprint_facts(sprint: Sprint, ref: SprintRef) -> None:
    sprint.name = ref.name or sprint.name
    sprint.goal = ref.goal if ref.goal is not None else sprint.goal
    sprint.board_id = ref.board_id if ref.board_id is not None else sprint.board_id
    sprint.start_at = ref.start_at or sprint.start_at
    sprint.end_at = ref.end_at or sprint.end_at
    sprint.completed_at = ref.completed_at or sprint.completed_at
    if ref.state and sprint.last_event_ms < 0:
        sprint.state = ref.state


def _fmt_points(points: float) -> str:
    return str(int(points)) if points == int(points) else f"{points:g}"


_TICKET_COLUMNS = (
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
_TICKET_UPDATE = tuple(c for c in _TICKET_COLUMNS if c not in {"team_id", "issue_key", "project_key"})
_WIN_COLUMNS = (
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
_WIN_INSERT = tuple(c for c in _WIN_COLUMNS if c != "id")


def _update_by_id(table: Table, columns: Sequence[str]) -> Any:
    """``UPDATE table SET col = :b_col ... WHERE id = :b_id``, run as one pipelined executemany."""
    values = {name: bindparam(f"b_{name}", type_=table.c[name].type) for name in columns if name != "id"}
    return table.update().where(table.c.id == bindparam("b_id")).values(values)


def _prefixed(row: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    return {f"b_{name}": row[name] for name in columns}


_WIN_UPDATE = ("id", "status", "title", "member_id", "points", "url", "occurred_at", "details")


def _apply_to_ticket(ticket: dict[str, Any], event: IssueChanged, members: dict[str, int]) -> None:
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


def _active_ticket_win(
    win: dict[str, Any] | None, ticket: dict[str, Any], event: IssueChanged, member_id: int | None
) -> dict[str, Any]:
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


class _Memberships:
    """Which sprints each ticket of a batch is in: read once, changed in memory, written once."""

    def __init__(self, recorder: EventRecorder, tickets: dict[str, dict[str, Any]]) -> None:
        self.recorder = recorder
        self.session = recorder.session
        ids = [t["id"] for t in tickets.values()]
        self.current: dict[int, set[int]] = {i: set() for i in ids}
        query = select(sprint_tickets.c.ticket_id, sprint_tickets.c.sprint_id).where(
            sprint_tickets.c.ticket_id.in_(ids)
        )
        for ticket_id, sprint_id in self.session.execute(query):
            self.current[ticket_id].add(sprint_id)
        self.wanted = {i: set(v) for i, v in self.current.items()}
        self.by_jira_id: dict[int, int] = {}

    def apply(self, ticket: dict[str, Any], event: IssueChanged) -> None:
        if event.sprints is None and event.sprint_move is None:
            return
        team_id = ticket["team_id"]
        wanted = self.wanted[ticket["id"]]
        if event.sprints is not None:
            wanted.clear()
            wanted.update(self._sprint_id(ref, team_id) for ref in event.sprints if ref.jira_id is not None)
        move = event.sprint_move
        if move is not None:
            wanted.update(self._sprint_id(SprintRef(jira_id=i), team_id) for i in move.added_ids)
            wanted.update(self.recorder._sprint_by_name(name, team_id).id for name in move.added_names)
            wanted.difference_update(self._sprint_id(SprintRef(jira_id=i), team_id) for i in move.removed_ids)
            wanted.difference_update(self.recorder._sprint_by_name(n, team_id).id for n in move.removed_names)

    def _sprint_id(self, ref: SprintRef, team_id: int) -> int:
        assert ref.jira_id is not None
        if ref.jira_id not in self.by_jira_id:  # once per sprint per batch
            self.by_jira_id[ref.jira_id] = self.recorder._sprint_for_ref(ref, team_id).id
        return self.by_jira_id[ref.jira_id]

    def write(self) -> set[int]:
        removed = [
            {"s": sprint_id, "t": ticket_id}
            for ticket_id, sprints in self.current.items()
            for sprint_id in sorted(sprints - self.wanted[ticket_id])
        ]
        added = [
            {"sprint_id": sprint_id, "ticket_id": ticket_id}
            for ticket_id, sprints in self.wanted.items()
            for sprint_id in sorted(sprints - self.current[ticket_id])
        ]
        if removed:
            self.session.execute(
                delete(sprint_tickets).where(
                    sprint_tickets.c.sprint_id == bindparam("s"), sprint_tickets.c.ticket_id == bindparam("t")
                ),
                removed,
            )
        insert_ignoring_conflicts(self.session, sprint_tickets, added, ["sprint_id", "ticket_id"])
        return {r["s"] for r in removed} | {r["sprint_id"] for r in added}

    def sprints_of(self, ticket_ids: set[int]) -> set[int]:
        return {sprint_id for ticket_id in ticket_ids for sprint_id in self.wanted.get(ticket_id, ())}
