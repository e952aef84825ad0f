"""Record what domain events mean: tickets, sprints and wins, idempotently and in timestamp order.

Works a batch at a time so a worker pays one query per table per batch rather than per event.
Under Postgres the batch's tickets and sprints are locked (in key order, so two workers never
deadlock); every insert ignores conflicts and re-reads, so a retried batch finds its own rows.

An event older than what a ticket holds changes none of its fields but still counts where it must for
the outcome not to depend on delivery order: when the work was finished (``DoneSpell``), the last points
and sprints given (``rows.keep_late_points``, ``keep_late_sprints``). A ticket whose project another
team now claims takes its project's history there first (``service.teams.history``).

A recorder works inside one workspace: the teams, people, tickets, sprints and wins it finds or makes
are that workspace's (an issue key, a sprint id or an account id names something only within one).

Issue events are applied here. Sprint events and sprint wins are ``sprint_recorder``'s, which
sprints a ticket is in is ``memberships``', and the row shapes a batch reads and writes are ``rows``'.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from service.domain.events import DomainEvent, IssueChanged, Person, SprintChanged
from service.domain.tickets import TicketOutcome, TicketState, decide_ticket
from service.domain.wins import WinKind, WinSource, WinStatus
from service.intake.memberships import Memberships
from service.intake.rows import (
    DONE_SPELL,
    MEMBERS,
    TICKET_COLUMNS,
    TICKET_UPDATE,
    TICKETS,
    WIN_COLUMNS,
    WIN_INSERT,
    WIN_UPDATE,
    WINS,
    RowDict,
    active_ticket_win,
    apply_to_ticket,
    date_by_spell,
    done_spell,
    keep_late_points,
    keep_late_sprints,
    new_ticket_row,
    prefixed,
    refresh_ticket_win,
    update_by_id,
)
from service.intake.sprint_recorder import SprintRecorder
from service.intake.stats import RecordStats
from service.models import DEFAULT_WORKSPACE_ID, Member, TeamSource, Ticket, Win, utcnow
from service.models.upsert import insert_ignoring_conflicts
from service.teams import history
from service.teams.registry import teams_for_sources

__all__ = ["EventRecorder", "RecordStats"]


class EventRecorder:
    def __init__(self, session: Session, *, workspace_id: int = DEFAULT_WORKSPACE_ID) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.stats = RecordStats()
        self.sprints = SprintRecorder(session, self.stats, workspace_id=workspace_id)

    def record(self, events: Sequence[DomainEvent]) -> RecordStats:
        ordered = sorted(events, key=lambda e: e.timestamp_ms)
        issues = [e for e in ordered if isinstance(e, IssueChanged)]
        sprint_events = [e for e in ordered if isinstance(e, SprintChanged)]
        touched_sprints: set[int] = set()
        issues = self._without_busy_issues(issues)
        if issues:
            touched_sprints |= self._record_issues(issues)
        for event in sprint_events:
            touched_sprints.add(self.sprints.record(event))
        self.sprints.refresh_closed_sprint_wins(touched_sprints)
        self.session.flush()
        return self.stats

    # -- issues ---------------------------------------------------------------------------------------
    #
    # Tickets and wins are read once per batch as plain rows, changed in memory in timestamp order,
    # and written back with one bulk statement per table: per-event ORM flushes cost ten times more.

    def _record_issues(self, events: list[IssueChanged]) -> set[int]:
        names = {e.project_key: e.project_name or e.project_key for e in events}
        teams = teams_for_sources(
            self.session,
            TeamSource.PROJECT,
            names,
            names,
            moved=self.stats.touched_teams,
            workspace_id=self.workspace_id,
        )
        members = self._members(p for e in events for p in (e.assignee, e.actor) if p is not None)
        tickets = self._lock_tickets(events, teams)
        wins = self._ticket_wins(list(tickets))
        memberships = Memberships(self.session, self.sprints, tickets)
        changed_tickets: set[str] = set()
        changed_wins: set[str] = set()
        for event in events:
            key = event.issue_key
            ticket = tickets[key]
            win = wins.get(key)
            credited = event.credited
            spell = done_spell(ticket, win)
            later = spell.seen(
                event.timestamp_ms, event.is_complete, members.get(credited.ref) if credited else None
            )
            if later != spell:
                ticket["extra"] = {**(ticket["extra"] or {}), DONE_SPELL: later.to_json()}
                changed_tickets.add(key)
            active = win is not None and win["status"] == WinStatus.ACTIVE
            outcome = decide_ticket(TicketState(ticket["last_event_ms"], active), event)
            if outcome is TicketOutcome.STALE:
                # Too old to change the ticket, but it may tell when the work was finished, or give
                # the points that no later event gave.
                self.stats.stale += 1
                if keep_late_points(ticket, event):
                    changed_tickets.add(key)
                    if active and win is not None:
                        win["points"] = ticket["points"]
                        changed_wins.add(key)
                if active and later != spell and win is not None and date_by_spell(ticket, win, later):
                    changed_wins.add(key)
                if keep_late_sprints(ticket, event):
                    changed_tickets.add(key)
                    memberships.apply(ticket, replace(event, sprint_move=None))
                continue
            keep_late_points(ticket, event)
            keep_late_sprints(ticket, event)
            apply_to_ticket(ticket, event, members)
            changed_tickets.add(key)
            if outcome is TicketOutcome.COMPLETED:
                win = wins[key] = active_ticket_win(win, ticket, event, None)
                date_by_spell(ticket, win, later)
                self.stats.completed += 1
            elif outcome is TicketOutcome.RETRACTED and win is not None:
                win["status"] = WinStatus.RETRACTED.value
                ticket["done_at"] = None
                self.stats.retracted += 1
            elif win is not None and win["status"] == WinStatus.ACTIVE:
                # Still done: keep the win current with later edits (the latest event describes it).
                refresh_ticket_win(win, ticket, event)
            if key in wins:
                changed_wins.add(key)
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
        # The lock names the issue key alone, as it always has: the same key in two workspaces shares a
        # lock (one of them waits for a later batch, which is harmless), and workers of the previous
        # release, which lock the same names, still exclude today's during an upgrade.
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

    def _lock_tickets(self, events: list[IssueChanged], teams: dict[str, int]) -> dict[str, RowDict]:
        first: dict[str, IssueChanged] = {}
        for event in events:
            first.setdefault(event.issue_key, event)
        keys = sorted(first)
        insert_ignoring_conflicts(
            self.session,
            TICKETS,
            [new_ticket_row(first[key], teams[first[key].project_key], self.workspace_id) for key in keys],
            ["workspace_id", "issue_key"],
        )
        columns = [TICKETS.c[name] for name in TICKET_COLUMNS]
        query = (
            select(*columns)
            .where(Ticket.workspace_id == self.workspace_id, Ticket.issue_key.in_(keys))
            .order_by(Ticket.issue_key)
            .with_for_update()
        )
        tickets = {row.issue_key: dict(row._mapping) for row in self.session.execute(query)}
        # A ticket held by a team that no longer claims its project (the claim was detached, or moved
        # without its history): the project's history goes to the team that claims it now, so the
        # outcome does not depend on whether this event came before or after the claim changed.
        moved = sorted(
            {
                t["project_key"]
                for t in tickets.values()
                if teams.get(t["project_key"], t["team_id"]) != t["team_id"]
            }
        )
        if not moved:
            return tickets
        for project_key in moved:
            self.stats.touched_teams |= history.move_project(
                self.session, project_key, teams[project_key], workspace_id=self.workspace_id
            )
        return {row.issue_key: dict(row._mapping) for row in self.session.execute(query)}

    def _ticket_wins(self, keys: list[str]) -> dict[str, RowDict]:
        query = select(*(WINS.c[name] for name in WIN_COLUMNS)).where(
            Win.workspace_id == self.workspace_id,
            Win.source == WinSource.JIRA.value,
            Win.kind == WinKind.TICKET.value,
            Win.source_key.in_(keys),
        )
        return {row.source_key: dict(row._mapping) for row in self.session.execute(query)}

    def _write_tickets(self, rows: list[RowDict]) -> None:
        if rows:
            self.session.execute(
                update_by_id(TICKETS, TICKET_UPDATE), [prefixed(r, TICKET_UPDATE) for r in rows]
            )
            self.stats.touched_teams.update(row["team_id"] for row in rows)

    def _write_wins(self, rows: list[RowDict]) -> None:
        now = utcnow()
        new = [
            {**{k: row[k] for k in WIN_INSERT}, "created_at": now, "updated_at": now}
            for row in rows
            if row["id"] is None
        ]
        old = [{**prefixed(row, WIN_UPDATE), "b_updated_at": now} for row in rows if row["id"] is not None]
        if new:
            self.session.execute(insert(WINS), new)
        if old:
            self.session.execute(update_by_id(WINS, (*WIN_UPDATE, "updated_at")), old)
        self.stats.touched_teams.update(row["team_id"] for row in rows)

    def _members(self, people: Iterable[Person]) -> dict[str, int]:
        by_ref: dict[str, Person] = {}
        for person in people:
            by_ref.setdefault(person.ref, person)
        if not by_ref:
            return {}
        insert_ignoring_conflicts(
            self.session,
            MEMBERS,
            [
                {
                    "workspace_id": self.workspace_id,
                    "jira_account_id": ref,
                    "display_name": p.display_name or ref,
                    "email": p.email,
                    "sharing_opt_out": False,
                }
                for ref, p in sorted(by_ref.items())
            ],
            ["workspace_id", "jira_account_id"],
        )
        found: dict[str, int] = {}
        renames: list[dict[str, object]] = []
        query = select(Member.id, Member.jira_account_id, Member.display_name, Member.email).where(
            Member.workspace_id == self.workspace_id, Member.jira_account_id.in_(by_ref)
        )
        for member_id, ref, display_name, email in self.session.execute(query):
            assert ref is not None  # matched on it
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
