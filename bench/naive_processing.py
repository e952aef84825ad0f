"""The processing benchmark's baseline job: one delivery turned into its win the obvious way, with the ORM and
one commit per event (run by forking ``rq.Worker`` processes, one job per delivery)."""

from __future__ import annotations

import json
from functools import cache

from sqlalchemy import Engine, create_engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


@cache
def _naive_engine() -> Engine:
    from service.db import normalise_url
    from service.settings import Settings

    return create_engine(normalise_url(Settings.from_env().database_url))


def naive_record_event(row_id: int) -> str:
    """Parse one stored delivery and upsert its ticket win with the ORM; commit once per event."""
    for attempt in range(2):  # two workers may create the same win at once; the loser retries
        try:
            return _naive_record_event(row_id)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _naive_record_event(row_id: int) -> str:
    from integrations.jira.parse import parse_event
    from service.domain.events import IssueChanged
    from service.domain.tickets import ticket_title
    from service.domain.wins import WinKind, WinSource, WinStatus
    from service.models import InboundEvent, InboxState, TeamSource, Win, utcnow
    from service.teams.registry import teams_for_sources

    with Session(_naive_engine()) as session:
        row = session.get(InboundEvent, row_id)
        if row is None or row.state != InboxState.PENDING:
            return "skipped"
        payload = json.loads(row.body)
        event = parse_event(payload, received_at_ms=int(row.received_at.timestamp() * 1000))
        if isinstance(event, IssueChanged):
            names = {event.project_key: event.project_name or event.project_key}
            team_id = teams_for_sources(session, TeamSource.PROJECT, names, names)[event.project_key]
            win = session.scalars(
                select(Win).where(
                    Win.source == WinSource.JIRA.value,
                    Win.kind == WinKind.TICKET.value,
                    Win.source_key == event.issue_key,
                )
            ).first()
            last_ms = int((win.details or {}).get("timestamp_ms", -1)) if win is not None else -1
            if event.timestamp_ms >= last_ms:
                if event.is_complete:
                    if win is None:
                        win = Win(
                            team_id=team_id,
                            kind=WinKind.TICKET.value,
                            source=WinSource.JIRA.value,
                            source_key=event.issue_key,
                        )
                        session.add(win)
                    win.status = WinStatus.ACTIVE.value
                    win.title = ticket_title(event)
                    win.points = event.points
                    win.url = event.url or None
                    win.occurred_at = event.occurred_at
                elif win is not None:
                    win.status = WinStatus.RETRACTED.value
                if win is not None:
                    win.details = {"summary": event.summary, "timestamp_ms": event.timestamp_ms}
        row.state = InboxState.PROCESSED
        row.processed_at = utcnow()
        session.commit()
        return "processed"
