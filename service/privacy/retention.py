"""How long raw webhook bodies are kept: a processed delivery's body is emptied once it is old.

A Jira body names people (assignee, reporter, who changed what) and is needed only until it is
recorded. After ``SPRINTWINS_INBOX_RETENTION_DAYS`` a processed (or ignored) delivery keeps its row,
without its body: the row's (source, delivery_id) still recognises a redelivery, so nothing is
recorded twice. Pending and failed deliveries are never touched: they are still to be read.

The inbox may hold millions of rows, so the work goes in bounded batches, one short transaction
each, walking the ``(state, id)`` index by id so that no batch reads again what an earlier one saw.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.models import InboundEvent, InboxState, utcnow

PRUNE_BATCH = 1000
# Done with: their bodies may go. Pending and failed rows are not in this list, on purpose.
PRUNABLE_STATES = (InboxState.PROCESSED, InboxState.IGNORED)
EMPTIED = ""  # the column is NOT NULL: an emptied body is the empty string

Transaction = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class PruneReport:
    emptied: int
    batches: int
    cutoff: datetime


def retention_cutoff(days: int, now: datetime | None = None) -> datetime:
    if days < 1:
        raise ValueError("days must be at least 1")
    return (now or utcnow()) - timedelta(days=days)


def prune_batch(session: Session, state: str, cutoff: datetime, after_id: int, limit: int) -> list[int]:
    """Empty the bodies of up to ``limit`` ``state`` rows after ``after_id`` finished before ``cutoff``.

    Returns the ids it emptied, in order: the last one is where the next batch starts.
    """
    if state not in PRUNABLE_STATES:
        raise ValueError(f"only processed deliveries are pruned, not {state!r}")
    finished_at = func.coalesce(InboundEvent.processed_at, InboundEvent.received_at)
    ids = list(
        session.scalars(
            select(InboundEvent.id)
            .where(
                InboundEvent.state == state,
                InboundEvent.id > after_id,
                finished_at < cutoff,
                InboundEvent.body != EMPTIED,
            )
            .order_by(InboundEvent.id)
            .limit(limit)
        )
    )
    if ids:
        # The state is checked again: a row retried meanwhile (failed, then pending) keeps its body.
        session.execute(
            update(InboundEvent)
            .where(InboundEvent.id.in_(ids), InboundEvent.state == state)
            .values(body=EMPTIED)
            .execution_options(synchronize_session=False)
        )
    return ids


def prune_inbox_bodies(
    transaction: Transaction, days: int, *, batch: int = PRUNE_BATCH, now: datetime | None = None
) -> PruneReport:
    """Empty every processed body older than ``days``, a batch per transaction."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    cutoff = retention_cutoff(days, now)
    emptied = batches = 0
    for state in PRUNABLE_STATES:
        after_id = 0
        while True:
            with transaction() as session:
                ids = prune_batch(session, state, cutoff, after_id, batch)
            if not ids:
                break
            emptied += len(ids)
            batches += 1
            after_id = ids[-1]
            if len(ids) < batch:
                break
    return PruneReport(emptied, batches, cutoff)
