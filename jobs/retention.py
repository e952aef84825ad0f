"""The periodic job that empties old processed webhook bodies (``service.privacy.retention``)."""

from __future__ import annotations

import logging

from jobs import runtime
from service.privacy.retention import prune_inbox_bodies

log = logging.getLogger(__name__)

# Hourly: each run empties what aged past the retention since the last one, in bounded batches.
PRUNE_INTERVAL_SECONDS = 3600


def prune_inbox() -> dict[str, int]:
    """Empty the bodies of processed deliveries older than ``SPRINTWINS_INBOX_RETENTION_DAYS``."""
    rt = runtime.current()
    report = prune_inbox_bodies(rt.database.transaction, rt.settings.inbox_retention_days)
    if report.emptied:
        log.info("emptied %d processed webhook bodies received before %s", report.emptied, report.cutoff)
    return {"emptied": report.emptied, "batches": report.batches}
