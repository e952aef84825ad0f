"""A sprint's stored scope (the ``sprint_scope`` tables): storing what a refresh saw, and reading it back.

The rules (what counts as committed, added, removed, completed) are ``service.domain.sprint_scope``.
Jira's REST calls are the caller's, outside any database transaction: a job fetches the sprint's
issues first and hands them here as ``IssueChanged`` events (``store_jira_scope``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from service.domain.events import IssueChanged
from service.domain.sprint_scope import (
    ObservedIssue,
    ScopeEntry,
    ScopeSource,
    ScopeSummary,
    reconcile_scope,
    summarize_scope,
)
from service.models import DEFAULT_WORKSPACE_ID, Member, Sprint, Ticket, sprint_tickets, utcnow
from service.models.scope import SprintScopeItem, SprintScopeSource
from service.models.upsert import insert_ignoring_conflicts
from service.progress import scope_sums
from service.progress.scope_sums import TicketTotals


@dataclass(frozen=True)
class StoreResult:
    sprint_id: int
    source: str
    issues: int
    changed: int  # rows inserted or updated; 0 when the refresh found nothing new


def store_jira_scope(
    session: Session,
    sprint: Sprint,
    issues: Sequence[IssueChanged],
    points_field: str | None,
    now: datetime | None = None,
) -> StoreResult:
    """Store a sprint's scope from its issues as Jira's Agile API listed them (translated to events).

    Idempotent, and writes nothing when nothing changed. ``points_field`` is the story-points field
    the issues were read with, remembered with the scope.
    """
    observed: list[ObservedIssue] = []
    people: dict[str, tuple[str | None, str | None]] = {}
    refs: dict[str, str | None] = {}
    for event in issues:
        assignee = event.assignee
        if assignee is not None:
            people[assignee.ref] = (assignee.display_name, assignee.email)
        refs[event.issue_key] = assignee.ref if assignee else None
        observed.append(
            ObservedIssue(
                issue_key=event.issue_key,
                points=event.points,
                done=event.is_complete,
                done_at=event.occurred_at if event.is_complete else None,
                created_at=event.created_at,
            )
        )
    members = _member_ids(session, people, sprint.workspace_id)
    observed = [dataclasses.replace(o, assignee_id=members.get(refs[o.issue_key] or "")) for o in observed]
    return _store(session, sprint, observed, ScopeSource.JIRA.value, points_field, now or utcnow())


def store_events_scope(session: Session, sprint: Sprint, now: datetime | None = None) -> StoreResult:
    """Without Jira credentials: the sprint's scope as the webhook events showed it (its tickets)."""
    observed = _observed_from_tickets(session, [sprint.id]).get(sprint.id, [])
    return _store(session, sprint, observed, ScopeSource.EVENTS.value, None, now or utcnow())


def _store(
    session: Session,
    sprint: Sprint,
    observed: list[ObservedIssue],
    source: str,
    points_field: str | None,
    now: datetime,
) -> StoreResult:
    rows = {
        row.issue_key: row
        for row in session.scalars(
            select(SprintScopeItem).where(SprintScopeItem.sprint_id == sprint.id).with_for_update()
        )
    }
    stored = {key: _entry(row) for key, row in rows.items()}
    wanted = reconcile_scope(stored, observed, sprint_start=sprint.start_at, now=now)
    changed = 0
    for key, entry in sorted(wanted.items()):
        row = rows.get(key)
        values = {f.name: getattr(entry, f.name) for f in dataclasses.fields(ScopeEntry)}
        if row is None:
            session.add(SprintScopeItem(sprint_id=sprint.id, source=source, **values))
            changed += 1
        elif stored[key] != entry or row.source != source:
            for name, value in values.items():
                setattr(row, name, value)
            row.source = source
            changed += 1
    origin = session.get(SprintScopeSource, sprint.id)
    if origin is None:
        session.add(
            SprintScopeSource(sprint_id=sprint.id, source=source, points_field=points_field, changed_at=now)
        )
    elif changed or origin.source != source or origin.points_field != points_field:
        origin.source, origin.points_field, origin.changed_at = source, points_field, now
    session.flush()
    return StoreResult(sprint.id, source, len(observed), changed)


def _entry(row: SprintScopeItem) -> ScopeEntry:
    return ScopeEntry(
        row.issue_key,
        row.points,
        row.committed,
        row.added_at,
        row.removed_at,
        row.done,
        row.done_at,
        row.assignee_id,
    )


def _member_ids(
    session: Session, people: dict[str, tuple[str | None, str | None]], workspace_id: int
) -> dict[str, int]:
    """The sprint's workspace's members for Jira people (made if new, as the recorder makes them), by ref."""
    if not people:
        return {}
    insert_ignoring_conflicts(
        session,
        cast(Table, Member.__table__),
        [
            {
                "workspace_id": workspace_id,
                "jira_account_id": ref,
                "display_name": name or ref,
                "email": email,
                "sharing_opt_out": False,
            }
            for ref, (name, email) in sorted(people.items())
        ],
        ["workspace_id", "jira_account_id"],
    )
    query = select(Member.jira_account_id, Member.id).where(
        Member.workspace_id == workspace_id, Member.jira_account_id.in_(people)
    )
    return {ref: member_id for ref, member_id in session.execute(query) if ref is not None}


def scope_for_sprints(
    session: Session, sprint_ids: Sequence[int], now: datetime | None = None
) -> dict[int, ScopeSummary]:
    """Committed and completed scope for sprints (our ids), a fixed number of queries for any number.

    Sprints with REST scope use it, with one correction: a ticket event newer than the last change
    to the stored scope has the latest word on completion (the webhook saw it first). Others are
    inferred from the events we observed, keeping commitments an events refresh stored.
    """
    return _scopes(session, sprint_ids, now, None)


def scope_and_totals(
    session: Session, sprint_ids: Sequence[int], now: datetime | None = None
) -> tuple[dict[int, ScopeSummary], dict[int, TicketTotals]]:
    """``scope_for_sprints`` and each sprint's ticket totals, summed in the same read of its tickets."""
    totals: dict[int, TicketTotals] = {}
    return _scopes(session, sprint_ids, now, totals), totals


def _scopes(
    session: Session, sprint_ids: Sequence[int], now: datetime | None, totals: dict[int, TicketTotals] | None
) -> dict[int, ScopeSummary]:
    if not sprint_ids:
        return {}
    now = now or utcnow()
    sprints = {s.id: s for s in session.scalars(select(Sprint).where(Sprint.id.in_(sprint_ids)))}
    origins = {
        o.sprint_id: o
        for o in session.scalars(select(SprintScopeSource).where(SprintScopeSource.sprint_id.in_(sprint_ids)))
    }
    stored: dict[int, dict[str, ScopeEntry]] = {sid: {} for sid in sprint_ids}
    for row in session.scalars(select(SprintScopeItem).where(SprintScopeItem.sprint_id.in_(sprint_ids))):
        stored[row.sprint_id][row.issue_key] = _entry(row)
    from_jira = [
        sid for sid in sprint_ids if sid in origins and origins[sid].source == ScopeSource.JIRA.value
    ]
    tickets = _tickets_by_key(
        session, [(sprints[sid].workspace_id, k) for sid in from_jira if sid in sprints for k in stored[sid]]
    )
    # A sprint inferred from events that stored nothing yet is its tickets as they are now: the
    # database sums them, instead of a ScopeEntry per ticket here (thousands for a team's sprint list).
    first_looks = [sid for sid in sprint_ids if sid not in from_jira and sid in sprints and not stored[sid]]
    result = scope_sums.first_look_summaries(session, first_looks, now, totals)
    if totals is not None:
        others = [sid for sid in sprint_ids if sid in sprints and sid not in result]
        totals.update(scope_sums.ticket_totals(session, others))
    observed = _observed_from_tickets(
        session, [sid for sid in sprint_ids if sid not in from_jira and sid not in result]
    )
    for sprint_id in sprint_ids:
        sprint = sprints.get(sprint_id)
        if sprint is None or sprint_id in result:
            continue
        if sprint_id in from_jira:
            changed_ms = int(origins[sprint_id].changed_at.timestamp() * 1000)
            entries = [
                _fresher(entry, tickets.get((sprint.workspace_id, key)), changed_ms)
                for key, entry in stored[sprint_id].items()
            ]
            source = ScopeSource.JIRA.value
        else:
            entries = list(
                reconcile_scope(
                    stored[sprint_id], observed.get(sprint_id, []), sprint_start=sprint.start_at, now=now
                ).values()
            )
            source = ScopeSource.EVENTS.value
        result[sprint_id] = summarize_scope(entries, completed_by=sprint.completed_at, source=source)
    return {sid: result[sid] for sid in sprint_ids if sid in result}


def scope_for_sprint(session: Session, sprint: Sprint, now: datetime | None = None) -> ScopeSummary:
    return scope_for_sprints(session, [sprint.id], now)[sprint.id]


def scope_entries(session: Session, sprint: Sprint) -> list[ScopeEntry]:
    """The stored rows of a sprint's scope, in key order (the scope endpoint lists them)."""
    rows = session.scalars(
        select(SprintScopeItem)
        .where(SprintScopeItem.sprint_id == sprint.id)
        .order_by(SprintScopeItem.issue_key)
    )
    return [_entry(row) for row in rows]


@dataclass(frozen=True, slots=True)
class _TicketState:
    done: bool
    done_at: datetime | None
    points: float | None
    last_event_ms: int


def _fresher(entry: ScopeEntry, ticket: _TicketState | None, changed_ms: int) -> ScopeEntry:
    if ticket is None or ticket.last_event_ms <= changed_ms:
        return entry
    return dataclasses.replace(
        entry,
        done=ticket.done,
        done_at=ticket.done_at if ticket.done else None,
        points=ticket.points if ticket.points is not None else entry.points,
    )


def _tickets_by_key(session: Session, keys: list[tuple[int, str]]) -> dict[tuple[int, str], _TicketState]:
    """Tickets by (workspace, issue key): an issue key names a ticket only within its workspace."""
    by_workspace: dict[int, set[str]] = {}
    for workspace_id, key in keys:
        by_workspace.setdefault(workspace_id, set()).add(key)
    found: dict[tuple[int, str], _TicketState] = {}
    for workspace_id, wanted in sorted(by_workspace.items()):
        query = select(
            Ticket.issue_key, Ticket.done, Ticket.done_at, Ticket.points, Ticket.last_event_ms
        ).where(Ticket.workspace_id == workspace_id, Ticket.issue_key.in_(sorted(wanted)))
        for key, done, done_at, points, ms in session.execute(query):
            found[(workspace_id, key)] = _TicketState(done, done_at, points, ms)
    return found


def _observed_from_tickets(session: Session, sprint_ids: Sequence[int]) -> dict[int, list[ObservedIssue]]:
    if not sprint_ids:
        return {}
    query = (
        select(
            sprint_tickets.c.sprint_id,
            Ticket.issue_key,
            Ticket.points,
            Ticket.done,
            Ticket.done_at,
            Ticket.jira_created_at,
            Ticket.assignee_id,
        )
        .join(Ticket, Ticket.id == sprint_tickets.c.ticket_id)
        .where(sprint_tickets.c.sprint_id.in_(sprint_ids))
        .order_by(Ticket.issue_key)
    )
    found: dict[int, list[ObservedIssue]] = {}
    for sprint_id, key, points, done, done_at, created_at, assignee_id in session.execute(query):
        found.setdefault(sprint_id, []).append(
            ObservedIssue(key, points, done, done_at if done else None, created_at, assignee_id)
        )
    return found


def sprint_by_jira_id(
    session: Session, jira_id: int, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> Sprint | None:
    """The workspace's sprint Jira numbers ``jira_id`` (each workspace's site numbers its own)."""
    return session.scalars(
        select(Sprint).where(Sprint.workspace_id == workspace_id, Sprint.jira_id == jira_id)
    ).first()


def mark_removed_sprint(session: Session, sprint: Sprint, now: datetime | None = None) -> None:
    """Jira no longer knows the sprint (deleted): every issue left its scope."""
    session.execute(
        update(SprintScopeItem)
        .where(SprintScopeItem.sprint_id == sprint.id, SprintScopeItem.removed_at.is_(None))
        .values(removed_at=now or utcnow())
    )
