"""Store a board's history, fetched from Jira REST by the caller, as if the webhooks had delivered it.

The events are the typed ones the webhook parser produces, recorded by the same ``EventRecorder``:
closed issues become ticket wins dated by their ``resolutiondate``, sprints become sprint rows with
``sprint_started``/``sprint_closed`` wins at their start and completion dates.

Everything is recorded inside one workspace, the one whose Jira site the history came from.

Idempotent: an issue is recorded only if Jira's ``updated`` is newer than what we hold for it, and a
sprint event only if its win is missing or the sprint has seen nothing as recent. A second run
therefore records nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.events import DomainEvent, IssueChanged, SprintAction, SprintChanged
from service.domain.sprints import sprint_win_key
from service.domain.wins import WinKind, WinSource
from service.intake.recorder import EventRecorder, RecordStats
from service.models import DEFAULT_WORKSPACE_ID, Sprint, Team, Ticket, Win


@dataclass(frozen=True)
class HistoryRecorded:
    """What one sprint's history changed: the events that were new to us, and what they did."""

    events: list[DomainEvent]
    stats: RecordStats

    @property
    def issues_recorded(self) -> int:
        return sum(1 for e in self.events if isinstance(e, IssueChanged))


def record_history(
    session: Session,
    issue_events: list[IssueChanged],
    sprint_events: list[SprintChanged],
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> HistoryRecorded:
    """Record the events we have not recorded yet (a webhook may have been first)."""
    events: list[DomainEvent] = [
        *_newer_than_recorded(session, issue_events, workspace_id),
        *_not_yet_recorded(session, sprint_events, workspace_id),
    ]
    return HistoryRecorded(events, EventRecorder(session, workspace_id=workspace_id).record(events))


def team_slugs_of_sprints(
    session: Session, sprint_jira_ids: Sequence[int], *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> list[str]:
    """The teams the imported sprints belong to, by slug, sorted."""
    return sorted(
        set(
            session.scalars(
                select(Team.slug)
                .join(Sprint)
                .where(Sprint.workspace_id == workspace_id, Sprint.jira_id.in_(sprint_jira_ids))
            )
        )
    )


def _newer_than_recorded(
    session: Session, events: list[IssueChanged], workspace_id: int
) -> list[IssueChanged]:
    """Issues we have not recorded at this ``updated`` time or later (a webhook may have been first)."""
    if not events:
        return []
    query = select(Ticket.issue_key, Ticket.last_event_ms).where(
        Ticket.workspace_id == workspace_id, Ticket.issue_key.in_(sorted({e.issue_key for e in events}))
    )
    held = {key: last_ms for key, last_ms in session.execute(query)}
    return [e for e in events if e.timestamp_ms > held.get(e.issue_key, -1)]


_SPRINT_WIN_KIND = {SprintAction.STARTED: WinKind.SPRINT_STARTED, SprintAction.CLOSED: WinKind.SPRINT_CLOSED}


def _not_yet_recorded(
    session: Session, events: list[SprintChanged], workspace_id: int
) -> list[SprintChanged]:
    wanted: list[SprintChanged] = []
    for event in events:
        jira_id = event.sprint.jira_id
        assert jira_id is not None  # the parser refuses sprint events without an id
        last_ms = session.scalar(
            select(Sprint.last_event_ms).where(Sprint.workspace_id == workspace_id, Sprint.jira_id == jira_id)
        )
        win = session.scalar(
            select(Win.id).where(
                Win.workspace_id == workspace_id,
                Win.source == WinSource.JIRA.value,
                Win.source_key == sprint_win_key(jira_id),
                Win.kind == _SPRINT_WIN_KIND[event.action].value,
            )
        )
        if win is None or last_ms is None or last_ms < event.timestamp_ms:
            wanted.append(event)
    return wanted
