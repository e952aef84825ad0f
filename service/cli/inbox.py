"""``sprintwins inbox failed|retry``: the deliveries parked as failed, and putting them back."""

from __future__ import annotations

import json
from datetime import UTC

import click

from service.cli.common import settings_or_exit, transaction


@click.command("failed")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def inbox_failed(limit: int, as_json: bool) -> None:
    """List the deliveries parked as failed, newest first, with the reason."""
    from service.intake.failed import failed_deliveries

    with transaction() as session:
        rows = failed_deliveries(session, limit)
    for row in rows:
        received = row.received_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": row.id,
                        "source": row.source,
                        "delivery_id": row.delivery_id,
                        "event_type": row.event_type,
                        "received_at": row.received_at.isoformat(),
                        "attempts": row.attempts,
                        "error": row.error,
                    }
                )
            )
        else:
            click.echo(f"{row.id:>8}  {received}  {row.source}  {row.event_type}  {row.delivery_id}")
            click.echo(f"          {row.error.splitlines()[0][:200] if row.error else '(no reason kept)'}")
    if not rows and not as_json:
        click.echo("no failed deliveries")


@click.command("retry")
@click.argument("ids", nargs=-1, type=click.IntRange(1, 2**63 - 1))
@click.option("--all", "retry_all", is_flag=True, help="Every failed delivery.")
def inbox_retry(ids: tuple[int, ...], retry_all: bool) -> None:
    """Return failed deliveries to the inbox (after a fix) and enqueue them.

    Each keeps its delivery id, so a retried delivery can never record a win twice.
    """
    from jobs import runtime
    from jobs.inbox import sweep_inbox
    from jobs.queue import InProcessJobQueue
    from service.intake.failed import retry_failed

    if bool(ids) == retry_all:
        raise click.UsageError("give the ids of failed deliveries (see `inbox failed`), or --all")
    with transaction() as session:
        moved = retry_failed(session, None if retry_all else list(ids))
    click.echo(f"{moved} failed deliveries returned to the inbox")
    if moved:
        rt = runtime.install(runtime.Runtime.from_settings(settings_or_exit()))
        sweep_inbox()
        if isinstance(rt.queue, InProcessJobQueue):
            rt.queue.wait_idle(timeout=600)
