"""``sprintwins inbox prune``: empty the bodies of old processed webhook deliveries now.

The scheduler runs the same pruning every hour (``jobs.retention``); this is for an operator who
lowers the retention, or runs without the scheduler (the embedded mode).
"""

from __future__ import annotations

import click

from service.cli.common import settings_or_exit


@click.command("prune")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Keep the bodies of deliveries processed in the last DAYS days "
    "[default: SPRINTWINS_INBOX_RETENTION_DAYS, 30].",
)
@click.option(
    "--batch", default=1000, show_default=True, type=click.IntRange(1, 100_000), help="Rows per transaction."
)
def inbox_prune(days: int | None, batch: int) -> None:
    """Empty the raw bodies of processed deliveries older than the retention.

    Each row stays, without its body, so a redelivery is still recognised; pending and failed
    deliveries are never touched.
    """
    from service.db import Database
    from service.privacy.retention import prune_inbox_bodies

    settings = settings_or_exit()
    kept_days = days if days is not None else settings.inbox_retention_days
    database = Database(settings.database_url)
    try:
        report = prune_inbox_bodies(database.transaction, kept_days, batch=batch)
    finally:
        database.dispose()
    click.echo(
        f"emptied {report.emptied} processed delivery bodies received before "
        f"{report.cutoff.strftime('%Y-%m-%d %H:%M:%S')} UTC ({report.batches} batches)"
    )
