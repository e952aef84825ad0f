"""Processed webhook bodies are emptied after the retention; their rows still deduplicate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select, update

from jobs.retention import prune_inbox
from jobs.schedule import periodic_tasks
from service.intake.inbox import Delivery, store_delivery
from service.models import InboundEvent, InboxState
from service.privacy.retention import prune_inbox_bodies
from service.web.extensions import runtime_of
from tests.conftest import post_jira
from tests.progress.conftest import cli, day, deliver, resolved, sprint_started

OLD = datetime.now(UTC) - timedelta(days=45)


def _bodies(app: Flask) -> dict[str, tuple[str, str]]:
    with runtime_of(app).database.sessions() as session:
        rows = session.execute(select(InboundEvent.delivery_id, InboundEvent.state, InboundEvent.body))
        return {delivery: (state, body) for delivery, state, body in rows}


def _an_aged_inbox(app: Flask) -> None:
    """Five processed deliveries, three of them 45 days old; an old pending and an old failed one."""
    deliver(app, [sprint_started(), *(resolved(f"TES-{n}", day(n)) for n in range(1, 5))])
    with runtime_of(app).database.transaction() as session:
        for delivery_id, state in (("old-pending", InboxState.PENDING), ("old-failed", InboxState.FAILED)):
            store_delivery(
                session, Delivery("jira", delivery_id, "jira:issue_updated", "{}", None, state=state)
            )
        old = list(
            session.scalars(
                select(InboundEvent.id)
                .where(InboundEvent.state == InboxState.PROCESSED)
                .order_by(InboundEvent.id)
            )
        )[:3]
        session.execute(
            update(InboundEvent)
            .where(InboundEvent.id.in_(old) | InboundEvent.delivery_id.in_(["old-pending", "old-failed"]))
            .values(received_at=OLD, processed_at=OLD)
        )


def test_prune_empties_old_processed_bodies_only_and_keeps_dedupe(progress_app: Flask) -> None:
    _an_aged_inbox(progress_app)
    before = _bodies(progress_app)
    out = cli(progress_app, "inbox", "prune", "--batch", "2").output
    assert "emptied 3 processed delivery bodies" in out and "(2 batches)" in out
    after = _bodies(progress_app)
    emptied = {d for d, (_, body) in after.items() if body == ""}
    assert len(emptied) == 3 and all(after[d][0] == InboxState.PROCESSED for d in emptied)
    assert after["old-pending"] == before["old-pending"] and after["old-failed"] == before["old-failed"]
    assert {d: v for d, v in after.items() if d not in emptied} == {
        d: v for d, v in before.items() if d not in emptied
    }
    # Nothing left to do: a second run empties nothing.
    assert "emptied 0 " in cli(progress_app, "inbox", "prune").output
    # A redelivery of a pruned delivery is still recognised: no new row, nothing recorded twice.
    pruned = sorted(emptied)[0]
    assert post_jira(
        progress_app.test_client(), b'{"webhookEvent": "jira:issue_updated"}', delivery_id=pruned
    )
    assert len(_bodies(progress_app)) == len(after)


def test_days_option_and_setting_decide_the_retention(progress_app: Flask) -> None:
    _an_aged_inbox(progress_app)
    assert "emptied 0 " in cli(progress_app, "inbox", "prune", "--days", "60").output
    assert (
        "emptied 3 processed delivery bodies"
        in cli(progress_app, "inbox", "prune", "--days", "1", "--batch", "3").output
    )
    bad = cli(progress_app, "inbox", "prune", "--days", "0", ok=False)
    assert bad.exit_code == 2 and "--days" in bad.output


def test_the_scheduler_runs_the_pruning_job(progress_app: Flask) -> None:
    settings = runtime_of(progress_app).settings
    assert "inbox-retention" in {t.name for t in periodic_tasks(settings)}
    _an_aged_inbox(progress_app)
    rt = runtime_of(progress_app)
    from jobs import runtime as job_runtime

    job_runtime.install(rt)
    assert prune_inbox() == {"emptied": 3, "batches": 1}
    assert prune_inbox_bodies(rt.database.transaction, settings.inbox_retention_days).emptied == 0
