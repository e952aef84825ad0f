"""The metrics Sprint Wins counts, built once per process on first use (never at import).

Every counter is cheap to bump: ``prometheus_client`` adds to a value in memory, or in a memory-mapped
file under gunicorn (multi-process mode). The inbox gauges are not counted at all: they are read from
the database when Prometheus scrapes (:class:`InboxGauges`), so they are right whoever drained the rows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

# Acks are milliseconds; the long tail is a database or Redis outage.
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# A team's recompute is tens of milliseconds; a team with years of history takes seconds.
RECOMPUTE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The process's metric objects (``prometheus_client`` registers them in its default registry)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.webhooks_received = Counter(
            "sprintwins_webhooks_received", "Webhook deliveries received, before any check.", ["source"]
        )
        self.webhooks = Counter(
            "sprintwins_webhooks",
            "Webhook deliveries answered, by outcome (accepted, duplicate, rejected) and rejection reason.",
            ["source", "outcome", "reason"],
        )
        self.ack_seconds = Histogram(
            "sprintwins_webhook_ack_seconds",
            "Time from receiving a webhook delivery to answering it.",
            ["source"],
            buckets=ACK_BUCKETS,
        )
        self.inbox_parked = Counter(
            "sprintwins_inbox_parked", "Inbox rows parked as failed, by why.", ["reason"]
        )
        self.jobs = Counter(
            "sprintwins_jobs", "Jobs run, by job and outcome (processed, failed).", ["job", "outcome"]
        )
        self.slack_posts = Counter(
            "sprintwins_slack_posts",
            "Digests and sprint-end celebrations sent to Slack, by kind and outcome (posted, failed).",
            ["kind", "outcome"],
        )
        self.slack_rate_limited = Counter(
            "sprintwins_slack_rate_limited", "Slack Web API answers with HTTP 429 (rate limited)."
        )
        self.slack_retries = Counter(
            "sprintwins_slack_retries", "Slack Web API calls tried again, by why.", ["reason"]
        )
        # Under gunicorn the live workers' values add up ("livesum"): a dead worker's file is dropped.
        self.processes = Gauge(
            "sprintwins_processes", "Processes counting these metrics.", multiprocess_mode="livesum"
        )
        self.processes.set(1)
        self.recompute_seconds = Histogram(
            "sprintwins_recompute_seconds", "One team's progress recompute.", buckets=RECOMPUTE_BUCKETS
        )


_metrics: Metrics | None = None
_build_lock = threading.Lock()


def metrics() -> Metrics:
    """This process's metrics; the first call builds them (the lock is taken that once)."""
    global _metrics
    built = _metrics
    if built is None:
        with _build_lock:
            if _metrics is None:
                _metrics = Metrics()
            built = _metrics
    return built


# -- one-line instrumentation for the code that counts ------------------------------------------------


def count_webhook(source: str, outcome: str, reason: str = "") -> None:
    metrics().webhooks.labels(source, outcome, reason).inc()


def count_parked(reason: str, rows: int = 1) -> None:
    metrics().inbox_parked.labels(reason).inc(rows)


def count_job(job: str, outcome: str) -> None:
    metrics().jobs.labels(job, outcome).inc()


def count_slack_post(kind: str, outcome: str) -> None:
    metrics().slack_posts.labels(kind, outcome).inc()


def count_slack_retry(reason: str) -> None:
    built = metrics()
    if reason == "rate_limited":
        built.slack_rate_limited.inc()
    built.slack_retries.labels(reason).inc()


def count_slack_rate_limited() -> None:
    metrics().slack_rate_limited.inc()


@contextmanager
def timed_recompute() -> Iterator[None]:
    """``with timed_recompute(): ...`` observes the block's duration, raised or not."""
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics().recompute_seconds.observe(time.perf_counter() - started)


# -- the inbox, read at scrape time ------------------------------------------------------------------


@dataclass(frozen=True)
class InboxReading:
    rows_by_state: Mapping[str, int]
    oldest_pending_age_seconds: float | None
    pending_state: str = "pending"


class InboxGauges:
    """A collector that reads the inbox when scraped: backlog, the oldest pending row's age, rows by state.

    ``read`` is given by the caller (the web edge), which owns the database; a failing read leaves the
    gauges out of that scrape rather than failing it.
    """

    def __init__(self, read: Callable[[], InboxReading]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        try:
            reading = self._read()
        except Exception:
            return
        by_state = GaugeMetricFamily("sprintwins_inbox_rows", "Inbox rows by state.", labels=["state"])
        for state, count in sorted(reading.rows_by_state.items()):
            by_state.add_metric([state], count)
        yield by_state
        yield GaugeMetricFamily(
            "sprintwins_inbox_backlog",
            "Inbox rows waiting to be processed.",
            value=reading.rows_by_state.get(reading.pending_state, 0),
        )
        yield GaugeMetricFamily(
            "sprintwins_inbox_oldest_pending_age_seconds",
            "Age of the oldest inbox row waiting to be processed (0 when none waits).",
            value=reading.oldest_pending_age_seconds or 0.0,
        )
