"""Import a board's recent sprints and their issues from Jira REST, so a new team starts with history.

The REST data becomes the same typed events the webhook parser produces, recorded by the same
``EventRecorder``: closed issues become ticket wins dated by their ``resolutiondate``, sprints become
sprint rows with ``sprint_started``/``sprint_closed`` wins at their start and completion dates.

Idempotent: an issue is recorded only if Jira's ``updated`` is newer than what we hold for it, and a
sprint event only if its win is missing or the sprint has seen nothing as recent; the scope refresh
writes only what changed. A second run therefore writes nothing. One transaction per sprint, with
Jira asked before each one opens: an interrupted run keeps the sprints it finished.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from jira import JIRA
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.jira import parse, rest
from service.db import Database
from service.domain.events import DomainEvent, IssueChanged, SprintAction, SprintChanged, SprintMove
from service.domain.sprints import sprint_win_key
from service.domain.wins import WinKind, WinSource
from service.intake.recorder import EventRecorder
from service.models import Sprint, Team, Ticket, Win
from service.progress import sprint_scope as scope


class BackfillProgress(Protocol):
    """What a caller shows while the backfill runs (the CLI draws a progress bar)."""

    def planned(self, sprints: int) -> None: ...

    def sprint_done(self, name: str, issues: int) -> None: ...


@dataclass
class BackfillReport:
    board_id: int
    points_field: str | None
    sprints: list[str] = field(default_factory=list)
    issues_seen: int = 0
    issues_recorded: int = 0  # new, or newer in Jira than what we held
    ticket_wins: int = 0  # issues that became (or became again) an active win
    sprint_events_recorded: int = 0
    scope_rows_changed: int = 0
    teams: list[str] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return bool(self.issues_recorded or self.sprint_events_recorded or self.scope_rows_changed)


def select_sprints(raw_sprints: Sequence[dict[str, Any]], closed_count: int) -> list[dict[str, Any]]:
    """The last ``closed_count`` closed sprints (by completion) and every active one, oldest first."""

    def closed_at(sprint: dict[str, Any]) -> tuple[datetime, int]:
        moment = (
            parse.parse_jira_datetime(sprint.get("completeDate"))
            or parse.parse_jira_datetime(sprint.get("endDate"))
            or parse.parse_jira_datetime(sprint.get("startDate"))
        )
        return (moment or datetime.min.replace(tzinfo=UTC), int(sprint.get("id") or 0))

    closed = sorted((s for s in raw_sprints if str(s.get("state")).lower() == "closed"), key=closed_at)
    active = sorted((s for s in raw_sprints if str(s.get("state")).lower() == "active"), key=closed_at)
    return [*closed[-closed_count:], *active] if closed_count > 0 else active


def backfill_board(
    database: Database,
    client: JIRA,
    site: str,
    board_id: int,
    sprint_count: int,
    *,
    configured_points_field: str | None = None,
    progress: BackfillProgress | None = None,
) -> BackfillReport:
    fields = client.fields()
    points_field = scope.points_field_for(
        database, client, site, board_id, configured=configured_points_field, fields=fields
    )
    sprint_field = rest.sprint_field_from_list(fields)
    chosen = select_sprints(rest.board_sprints(client, board_id, ("active", "closed")), sprint_count)
    report = BackfillReport(board_id=board_id, points_field=points_field)
    if progress is not None:
        progress.planned(len(chosen))
    for raw_sprint in chosen:
        sprint_id = int(raw_sprint["id"])
        fetched = scope.fetch_sprint_scope(
            client,
            sprint_id,
            points_field,
            sprint=raw_sprint,
            extra_fields=[sprint_field] if sprint_field else [],
        )
        issue_events = [_in_sprint(e, sprint_id) for e in _issue_events(fetched, points_field)]
        with database.transaction() as session:
            events: list[DomainEvent] = [
                *_newer_than_recorded(session, issue_events),
                *_not_yet_recorded(session, rest.sprint_events(raw_sprint)),
            ]
            stats = EventRecorder(session).record(events)
            sprint = scope.sprint_by_jira_id(session, sprint_id)
            stored = scope.store_jira_scope(session, sprint, fetched) if sprint is not None else None
        report.sprints.append(str(raw_sprint.get("name") or sprint_id))
        report.issues_seen += len(fetched.issues)
        report.issues_recorded += sum(1 for e in events if isinstance(e, IssueChanged))
        report.ticket_wins += stats.completed
        report.sprint_events_recorded += stats.sprint_events
        report.scope_rows_changed += stored.changed if stored is not None else 0
        if progress is not None:
            progress.sprint_done(report.sprints[-1], len(fetched.issues))
    with database.sessions() as session:
        sprint_ids = [int(s["id"]) for s in chosen]
        report.teams = sorted(
            set(session.scalars(select(Team.slug).join(Sprint).where(Sprint.jira_id.in_(sprint_ids))))
        )
    return report


def _issue_events(fetched: scope.FetchedScope, points_field: str | None) -> list[IssueChanged]:
    return [e for e in (rest.issue_event(raw, points_field) for raw in fetched.issues) if e is not None]


def _in_sprint(event: IssueChanged, sprint_id: int) -> IssueChanged:
    """Make sure the issue lands in the sprint we fetched it from, even if no sprint field came back.

    A move adds the membership without replacing the issue's other sprints, as the sprint field would.
    """
    if event.sprints is not None and any(ref.jira_id == sprint_id for ref in event.sprints):
        return event
    return dataclasses.replace(event, sprint_move=SprintMove(added_ids=(sprint_id,)))


def _newer_than_recorded(session: Session, events: list[IssueChanged]) -> list[IssueChanged]:
    """Issues we have not recorded at this ``updated`` time or later (a webhook may have been first)."""
    if not events:
        return []
    query = select(Ticket.issue_key, Ticket.last_event_ms).where(
        Ticket.issue_key.in_(sorted({e.issue_key for e in events}))
    )
    held = {key: last_ms for key, last_ms in session.execute(query)}
    return [e for e in events if e.timestamp_ms > held.get(e.issue_key, -1)]


_SPRINT_WIN_KIND = {SprintAction.STARTED: WinKind.SPRINT_STARTED, SprintAction.CLOSED: WinKind.SPRINT_CLOSED}


def _not_yet_recorded(session: Session, events: list[SprintChanged]) -> list[SprintChanged]:
    wanted: list[SprintChanged] = []
    for event in events:
        last_ms = session.scalar(select(Sprint.last_event_ms).where(Sprint.jira_id == event.sprint.jira_id))
        win = session.scalar(
            select(Win.id).where(
                Win.source == WinSource.JIRA.value,
                Win.source_key == sprint_win_key(event.sprint.jira_id),
                Win.kind == _SPRINT_WIN_KIND[event.action].value,
            )
        )
        if win is None or last_ms is None or last_ms < event.timestamp_ms:
            wanted.append(event)
    return wanted
