"""Record what domain events mean: tickets, sprints and wins, idempotently and in timestamp order.

Works a batch at a time so a worker pays one query per table per batch rather than per event.
Under Postgres the batch's tickets and sprints are locked (in key order, so two workers never
deadlock); every insert ignores conflicts and re-reads, so a retried batch finds its own rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from service.domain.events import DomainEvent, IssueChanged, Person, SprintAction, SprintChanged, SprintRef
from service.domain.tickets import TicketOutcome, TicketState, decide_ticket, ticket_title
from service.domain.wins import WinKind, WinSource, WinStatus
from service.models import Member, Sprint, TeamSource, Ticket, Win, sprint_tickets
from service.models.upsert import insert_ignoring_conflicts
from service.teams import claim_board_for, teams_for_sources

SPRINT_WIN_KINDS = (WinKind.SPRINT_STARTED.value, WinKind.SPRINT_CLOSED.value)


@dataclass
class RecordStats:
    completed: int = 0
    retracted: int = 0
    stale: int = 0
    sprint_events: int = 0
    touched_wins: set[int] = field(default_factory=set)


class EventRecorder:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.stats = RecordStats()
        self._board_teams: dict[tuple[int, int], int] = {}

    def record(self, events: Sequence[DomainEvent]) -> RecordStats:
        ordered = sorted(events, key=lambda e: e.timestamp_ms)
        issues = [e for e in ordered if isinstance(e, IssueChanged)]
        sprint_events = [e for e in ordered if isinstance(e, SprintChanged)]
        touched_sprints: set[int] = set()
        if issues:
            touched_sprints |= self._record_issues(issues)
        for event in sprint_events:
            touched_sprints.add(self._record_sprint_event(event))
        self._refresh_closed_sprint_wins(touched_sprints)
        self.session.flush()
        return self.stats

    # -- issues ---------------------------------------------------------------------------------------

    def _record_issues(self, events: list[IssueChanged]) -> set[int]:
        names = {e.project_key: e.project_name or e.project_key for e in events}
        teams = teams_for_sources(self.session, TeamSource.PROJECT, names, names)
        members = self._members(p for e in events for p in (e.assignee, e.actor) if p is not None)
        tickets = self._lock_tickets(events, teams)
        wins = {
            w.source_key: w
            for w in self.session.scalars(
                select(Win).where(
                    Win.source == WinSource.JIRA.value,
                    Win.kind == WinKind.TICKET.value,
                    Win.source_key.in_(tickets),
                )
            )
        }
        touched_sprints: set[int] = set()
        for event in events:
            ticket = tickets[event.issue_key]
            win = wins.get(event.issue_key)
            state = TicketState(ticket.last_event_ms, win is not None and win.status == WinStatus.ACTIVE)
            outcome = decide_ticket(state, event)
            if outcome is TicketOutcome.STALE:
                self.stats.stale += 1
                continue
            self._update_ticket(ticket, event, members)
            credited = event.credited
            member_id = members.get(credited.ref) if credited else None
            if outcome is TicketOutcome.COMPLETED:
                ticket.done_at = event.occurred_at
                wins[event.issue_key] = win = self._activate_ticket_win(win, ticket, event, member_id)
                self.stats.completed += 1
            elif outcome is TicketOutcome.RETRACTED and win is not None:
                win.status = WinStatus.RETRACTED.value
                ticket.done_at = None
                self.stats.retracted += 1
            elif win is not None and win.status == WinStatus.ACTIVE:
                # Still done: keep the title and points current with later edits.
                win.title, win.points = ticket_title(event), ticket.points
            if win is not None:
                self.session.flush()
                self.stats.touched_wins.add(win.id)
            touched_sprints |= self._update_membership(ticket, event)
        return touched_sprints

    def _update_ticket(self, ticket: Ticket, event: IssueChanged, members: dict[str, int]) -> None:
        ticket.issue_id = event.issue_id
        ticket.summary = event.summary
        ticket.issue_type = event.issue_type
        ticket.is_subtask = event.is_subtask
        ticket.labels = list(event.labels)
        if event.points is not None:
            ticket.points = event.points
        ticket.status_name = event.status_name
        ticket.status_category = event.status_category.value
        ticket.done = event.is_complete
        ticket.assignee_id = members.get(event.assignee.ref) if event.assignee else None
        ticket.url = event.url or ticket.url
        ticket.jira_created_at = event.created_at or ticket.jira_created_at
        ticket.last_event_ms = event.timestamp_ms

    def _activate_ticket_win(
        self, win: Win | None, ticket: Ticket, event: IssueChanged, member_id: int | None
    ) -> Win:
        details = {"issue_type": event.issue_type, "summary": event.summary, "status": event.status_name}
        if win is None:
            win = Win(
                team_id=ticket.team_id,
                kind=WinKind.TICKET.value,
                source=WinSource.JIRA.value,
                source_key=event.issue_key,
            )
            self.session.add(win)
        win.status = WinStatus.ACTIVE.value
        win.title = ticket_title(event)
        win.member_id = member_id
        win.points = ticket.points
        win.url = event.url or None
        win.occurred_at = event.occurred_at
        win.details = details
        return win

    def _lock_tickets(self, events: list[IssueChanged], teams: dict[str, int]) -> dict[str, Ticket]:
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
        query = select(Ticket).where(Ticket.issue_key.in_(keys)).order_by(Ticket.issue_key).with_for_update()
        return {t.issue_key: t for t in self.session.scalars(query)}

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
        for member in self.session.scalars(select(Member).where(Member.jira_account_id.in_(by_ref))):
            person = by_ref[member.jira_account_id or ""]
            if person.display_name and member.display_name != person.display_name:
                member.display_name = person.display_name
            if person.email and not member.email:
                member.email = person.email
            found[member.jira_account_id or ""] = member.id
        return found

    # -- sprints --------------------------------------------------------------------------------------

    def _update_membership(self, ticket: Ticket, event: IssueChanged) -> set[int]:
        """Which sprints the ticket is in: the payload's sprint field, then the changelog's move."""
        if event.sprints is None and event.sprint_move is None:
            return set()
        current = set(
            self.session.scalars(
                select(sprint_tickets.c.sprint_id).where(sprint_tickets.c.ticket_id == ticket.id)
            )
        )
        wanted = set(current)
        if event.sprints is not None:
            wanted = {
                self._sprint_for_ref(ref, ticket.team_id).id
                for ref in event.sprints
                if ref.jira_id is not None
            }
        move = event.sprint_move
        if move is not None:
            for jira_id in move.added_ids:
                wanted.add(self._sprint_for_ref(SprintRef(jira_id=jira_id), ticket.team_id).id)
            for name in move.added_names:
                wanted.add(self._sprint_by_name(name, ticket.team_id).id)
            removed = {
                self._sprint_for_ref(SprintRef(jira_id=i), ticket.team_id).id for i in move.removed_ids
            }
            removed |= {self._sprint_by_name(name, ticket.team_id).id for name in move.removed_names}
            wanted -= removed
        if wanted == current:
            return current
        if current - wanted:
            self.session.execute(
                delete(sprint_tickets).where(
                    sprint_tickets.c.ticket_id == ticket.id, sprint_tickets.c.sprint_id.in_(current - wanted)
                )
            )
        insert_ignoring_conflicts(
            self.session,
            sprint_tickets,
            [{"sprint_id": sid, "ticket_id": ticket.id} for sid in sorted(wanted - current)],
            ["sprint_id", "ticket_id"],
        )
        return current | wanted

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
                    "state": ref.state or "future",
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
        sprint = self.session.scalars(
            select(Sprint).where(Sprint.team_id == team_id, Sprint.name == name).order_by(Sprint.id.desc())
        ).first()
        if sprint is None:
            sprint = Sprint(team_id=team_id, name=name, state="future", last_event_ms=-1)
            self.session.add(sprint)
            self.session.flush()
        return sprint

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
            sprint.state = _state_after(event.action, ref.state, sprint.state)
            sprint.last_event_ms = event.timestamp_ms
        self.session.flush()
        if event.action is SprintAction.STARTED:
            goal = f" with the goal: {ref.goal}" if ref.goal else ""
            self._upsert_sprint_win(
                sprint, WinKind.SPRINT_STARTED, f"{sprint.name} started{goal}", event, None
            )
        elif event.action is SprintAction.CLOSED:
            self._upsert_sprint_win(sprint, WinKind.SPRINT_CLOSED, sprint.name, event, None)
        elif event.action is SprintAction.DELETED:
            for win in self.session.scalars(
                select(Win).where(Win.source_key == f"sprint:{ref.jira_id}", Win.kind.in_(SPRINT_WIN_KINDS))
            ):
                win.status = WinStatus.RETRACTED.value
        return sprint.id

    def _upsert_sprint_win(
        self, sprint: Sprint, kind: WinKind, title: str, event: SprintChanged, points: float | None
    ) -> None:
        key = f"sprint:{sprint.jira_id}"
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
        self.stats.touched_wins.add(win.id)

    def _refresh_closed_sprint_wins(self, sprint_ids: set[int]) -> None:
        """A closed sprint's win counts what was done in it, even when tickets arrive late."""
        if not sprint_ids:
            return
        self.session.flush()
        closed = self.session.scalars(
            select(Sprint).where(Sprint.id.in_(sprint_ids), Sprint.state == "closed")
        )
        for sprint in closed:
            win = self.session.scalars(
                select(Win).where(
                    Win.source_key == f"sprint:{sprint.jira_id}", Win.kind == WinKind.SPRINT_CLOSED.value
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
            self.stats.touched_wins.add(win.id)


def _merge_sprint_facts(sprint: Sprint, ref: SprintRef) -> None:
    sprint.name = ref.name or sprint.name
    sprint.goal = ref.goal if ref.goal is not None else sprint.goal
    sprint.board_id = ref.board_id if ref.board_id is not None else sprint.board_id
    sprint.start_at = ref.start_at or sprint.start_at
    sprint.end_at = ref.end_at or sprint.end_at
    sprint.completed_at = ref.completed_at or sprint.completed_at
    if ref.state and sprint.last_event_ms < 0:
        sprint.state = ref.state


def _state_after(action: SprintAction, reported: str | None, current: str) -> str:
    if action is SprintAction.STARTED:
        return "active"
    if action is SprintAction.CLOSED:
        return "closed"
    if action is SprintAction.DELETED:
        return "deleted"
    return reported or current


def _fmt_points(points: float) -> str:
    return str(int(points)) if points == int(points) else f"{points:g}"
