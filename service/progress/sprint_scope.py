"""A sprint's committed and completed scope, from Jira REST or, without credentials, from the events seen.

The rules (what counts as committed, added, removed, completed) are the pure functions at the top;
the rest reads and writes the ``sprint_scope`` tables. Jira's REST calls happen outside any database
transaction: callers fetch first (``fetch_sprint_scope``) and store after (``store_jira_scope``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jira import JIRA
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from integrations.jira import rest
from service.db import Database
from service.models import Member, Sprint, Ticket, sprint_tickets, utcnow
from service.models.scope import (
    SCOPE_FROM_EVENTS,
    SCOPE_FROM_JIRA,
    JiraPointsField,
    SprintScopeItem,
    SprintScopeSource,
)
from service.models.upsert import insert_ignoring_conflicts

# -- the rules (pure) ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ObservedIssue:
    """An issue seen in a sprint right now, from REST or from our tickets."""

    issue_key: str
    points: float | None
    done: bool
    done_at: datetime | None
    created_at: datetime | None = None
    assignee_id: int | None = None


@dataclass(frozen=True, slots=True)
class ScopeEntry:
    issue_key: str
    points: float | None
    committed: bool
    added_at: datetime | None
    removed_at: datetime | None
    done: bool
    done_at: datetime | None
    assignee_id: int | None

    @property
    def in_scope(self) -> bool:
        return self.removed_at is None


def reconcile_scope(
    stored: Mapping[str, ScopeEntry],
    observed: Iterable[ObservedIssue],
    *,
    sprint_start: datetime | None,
    now: datetime,
) -> dict[str, ScopeEntry]:
    """What the sprint's scope is after seeing ``observed`` at ``now``, given what we stored before.

    Committed means in the sprint when it started. Before the start everything seen is committed
    (that is planning). After it, an issue we first see is an addition, except on the very first
    look: with no earlier snapshot we assume what is there was there, unless the issue was created
    after the start. Issues that leave keep their row with ``removed_at``; coming back clears it.
    """
    first_look = not stored
    started = sprint_start is not None and now > sprint_start
    result: dict[str, ScopeEntry] = {}
    for issue in observed:
        before = stored.get(issue.issue_key)
        if before is not None:
            committed = before.committed
            if before.removed_at is not None and started and _at_or_before(before.removed_at, sprint_start):
                committed = False  # it had left before the start, so it was not in scope then
            entry = dataclasses.replace(before, committed=committed, removed_at=None)
        else:
            created_late = (
                issue.created_at is not None and sprint_start is not None and issue.created_at > sprint_start
            )
            committed = (not started) or (first_look and not created_late)
            if committed:
                added_at = sprint_start if sprint_start is not None and started else now
            else:
                added_at = issue.created_at if first_look and issue.created_at is not None else now
            entry = ScopeEntry(
                issue.issue_key, None, committed, added_at, None, False, None, issue.assignee_id
            )
        result[issue.issue_key] = dataclasses.replace(
            entry, points=issue.points, done=issue.done, done_at=issue.done_at, assignee_id=issue.assignee_id
        )
    for key, before in stored.items():
        if key not in result:
            result[key] = (
                before if before.removed_at is not None else dataclasses.replace(before, removed_at=now)
            )
    return result


def _at_or_before(moment: datetime, bound: datetime | None) -> bool:
    return bound is not None and moment <= bound


@dataclass(frozen=True, slots=True)
class ScopeSummary:
    source: str  # "jira" | "events"
    committed_issues: int
    committed_points: float
    completed_issues: int  # done issues in scope, committed or added
    completed_points: float
    committed_completed_issues: int  # the part of the commitment that is done
    committed_completed_points: float
    added_issues: int
    removed_issues: int
    estimated: bool  # some issue in scope carries points: milestones go by points, else by count

    def api_fields(self) -> dict[str, Any]:
        return {
            "committed_issues": self.committed_issues,
            "committed_points": self.committed_points,
            "completed_issues": self.completed_issues,
            "completed_points": self.completed_points,
            "scope_source": self.source,
        }


def summarize_scope(
    entries: Iterable[ScopeEntry], *, completed_by: datetime | None, source: str
) -> ScopeSummary:
    """Committed and completed, in issues and points, as Jira's sprint report counts them.

    Issues removed from the sprint count in neither (descoping is a decision, and 100 % must
    stay reachable). In a closed sprint, work finished after it closed was not done in it.
    """
    entries = list(entries)
    in_scope = [e for e in entries if e.in_scope]
    removed = len(entries) - len(in_scope)

    def completed(entry: ScopeEntry) -> bool:
        if not entry.done:
            return False
        return completed_by is None or entry.done_at is None or entry.done_at <= completed_by

    committed = [e for e in in_scope if e.committed]
    done = [e for e in in_scope if completed(e)]
    committed_done = [e for e in committed if completed(e)]
    return ScopeSummary(
        source=source,
        committed_issues=len(committed),
        committed_points=_points(committed),
        completed_issues=len(done),
        completed_points=_points(done),
        committed_completed_issues=len(committed_done),
        committed_completed_points=_points(committed_done),
        added_issues=sum(1 for e in in_scope if not e.committed),
        removed_issues=removed,
        estimated=any(e.points is not None for e in in_scope),
    )


def _points(entries: Sequence[ScopeEntry]) -> float:
    return float(sum(e.points or 0.0 for e in entries))


# -- the story points field, resolved once per site and board -----------------------------------------


def cached_points_field(session: Session, site: str, board_id: int | None) -> tuple[bool, str | None]:
    """(known, field id): what Jira said last time for this board (or the site), if we asked."""
    board_key = board_id if board_id is not None else JiraPointsField.SITE_WIDE
    cached = session.scalars(
        select(JiraPointsField).where(JiraPointsField.site == site, JiraPointsField.board_id == board_key)
    ).first()
    return (True, cached.field_id) if cached is not None else (False, None)


def remember_points_field(session: Session, site: str, board_id: int | None, field_id: str | None) -> None:
    board_key = board_id if board_id is not None else JiraPointsField.SITE_WIDE
    insert_ignoring_conflicts(
        session,
        JiraPointsField.__table__,
        [{"site": site, "board_id": board_key, "field_id": field_id, "resolved_at": utcnow()}],
        ["site", "board_id"],
    )


def points_field_for(
    database: Database,
    client: JIRA,
    site: str,
    board_id: int | None,
    *,
    configured: str | None = None,
    fields: Sequence[dict[str, Any]] | None = None,
) -> str | None:
    """``SPRINTWINS_STORY_POINTS_FIELD`` if set; else what Jira said last time; else ask Jira and remember.

    Jira is asked outside any transaction: a slow or throttled site must not hold database locks.
    """
    if configured:
        return configured
    with database.sessions() as session:
        known, field_id = cached_points_field(session, site, board_id)
    if known:
        return field_id
    field_id = rest.resolve_points_field(client, board_id, fields=fields)
    with database.transaction() as session:
        remember_points_field(session, site, board_id, field_id)
    return field_id


# -- fetching from Jira (no database) -------------------------------------------------------------------


@dataclass(frozen=True)
class FetchedScope:
    """A sprint and its issues as Jira's Agile API returned them."""

    sprint: dict[str, Any]
    issues: list[dict[str, Any]]
    points_field: str | None


def fetch_sprint_scope(
    client: JIRA,
    sprint_id: int,
    points_field: str | None,
    *,
    sprint: dict[str, Any] | None = None,
    extra_fields: Sequence[str] = (),
) -> FetchedScope:
    fields = [*rest.ISSUE_FIELDS, *extra_fields, *([points_field] if points_field else [])]
    raw_sprint = sprint if sprint is not None else rest.sprint(client, sprint_id)
    return FetchedScope(raw_sprint, rest.sprint_issues(client, sprint_id, fields), points_field)


# -- storing ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreResult:
    sprint_id: int
    source: str
    issues: int
    changed: int  # rows inserted or updated; 0 when the refresh found nothing new


def store_jira_scope(
    session: Session, sprint: Sprint, fetched: FetchedScope, now: datetime | None = None
) -> StoreResult:
    """Store a sprint's scope from REST data: idempotent, and writes nothing when nothing changed."""
    observed: list[ObservedIssue] = []
    people: dict[str, tuple[str | None, str | None]] = {}
    refs: dict[str, str | None] = {}
    for raw in fetched.issues:
        event = rest.issue_event(raw, fetched.points_field)
        if event is None:
            continue
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
    members = _member_ids(session, people)
    observed = [dataclasses.replace(o, assignee_id=members.get(refs[o.issue_key] or "")) for o in observed]
    return _store(session, sprint, observed, SCOPE_FROM_JIRA, fetched.points_field, now or utcnow())


def store_events_scope(session: Session, sprint: Sprint, now: datetime | None = None) -> StoreResult:
    """Without Jira credentials: the sprint's scope as the webhook events showed it (its tickets)."""
    observed = _observed_from_tickets(session, [sprint.id]).get(sprint.id, [])
    return _store(session, sprint, observed, SCOPE_FROM_EVENTS, None, now or utcnow())


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


def _member_ids(session: Session, people: dict[str, tuple[str | None, str | None]]) -> dict[str, int]:
    """Members for Jira people (made if new, as the recorder makes them), by Jira account ref."""
    if not people:
        return {}
    insert_ignoring_conflicts(
        session,
        Member.__table__,
        [
            {"jira_account_id": ref, "display_name": name or ref, "email": email, "sharing_opt_out": False}
            for ref, (name, email) in sorted(people.items())
        ],
        ["jira_account_id"],
    )
    query = select(Member.jira_account_id, Member.id).where(Member.jira_account_id.in_(people))
    return {ref: member_id for ref, member_id in session.execute(query) if ref is not None}


# -- reading ------------------------------------------------------------------------------------------


def scope_for_sprints(
    session: Session, sprint_ids: Sequence[int], now: datetime | None = None
) -> dict[int, ScopeSummary]:
    """Committed and completed scope for sprints (our ids), a fixed number of queries for any number.

    Sprints with REST scope use it, with one correction: a ticket event newer than the last change
    to the stored scope has the latest word on completion (the webhook saw it first). Others are
    inferred from the events we observed, keeping commitments an events refresh stored.
    """
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
    from_jira = [sid for sid in sprint_ids if sid in origins and origins[sid].source == SCOPE_FROM_JIRA]
    tickets = _tickets_by_key(session, [k for sid in from_jira for k in stored[sid]])
    observed = _observed_from_tickets(session, [sid for sid in sprint_ids if sid not in from_jira])
    result: dict[int, ScopeSummary] = {}
    for sprint_id in sprint_ids:
        sprint = sprints.get(sprint_id)
        if sprint is None:
            continue
        if sprint_id in from_jira:
            changed_ms = int(origins[sprint_id].changed_at.timestamp() * 1000)
            entries = [
                _fresher(entry, tickets.get(key), changed_ms) for key, entry in stored[sprint_id].items()
            ]
            source = SCOPE_FROM_JIRA
        else:
            entries = list(
                reconcile_scope(
                    stored[sprint_id], observed.get(sprint_id, []), sprint_start=sprint.start_at, now=now
                ).values()
            )
            source = SCOPE_FROM_EVENTS
        result[sprint_id] = summarize_scope(entries, completed_by=sprint.completed_at, source=source)
    return result


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


def _tickets_by_key(session: Session, keys: list[str]) -> dict[str, _TicketState]:
    if not keys:
        return {}
    query = select(Ticket.issue_key, Ticket.done, Ticket.done_at, Ticket.points, Ticket.last_event_ms).where(
        Ticket.issue_key.in_(sorted(set(keys)))
    )
    return {
        key: _TicketState(done, done_at, points, ms)
        for key, done, done_at, points, ms in session.execute(query)
    }


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


def sprint_by_jira_id(session: Session, jira_id: int) -> Sprint | None:
    return session.scalars(select(Sprint).where(Sprint.jira_id == jira_id)).first()


def mark_removed_sprint(session: Session, sprint: Sprint, now: datetime | None = None) -> None:
    """Jira no longer knows the sprint (deleted): every issue left its scope."""
    session.execute(
        update(SprintScopeItem)
        .where(SprintScopeItem.sprint_id == sprint.id, SprintScopeItem.removed_at.is_(None))
        .values(removed_at=now or utcnow())
    )
