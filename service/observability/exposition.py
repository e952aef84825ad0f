"""How a process hands its metrics to Prometheus: a page the web edge serves, or a port of its own.

Under gunicorn each worker process counts into memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR``
and the page adds them up, so any worker answers for all of them. The directory must be empty at
start (old files would add a previous run's counts) and must be chosen before ``prometheus_client``
is first imported, which is why the server makes a fresh one before it builds anything.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client.registry import Collector, CollectorRegistry

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def use_fresh_multiprocess_dir(base: str | None = None) -> Path:
    """Make a new, empty metrics directory for this start and point ``prometheus_client`` at it.

    It is made under ``base`` (else under ``PROMETHEUS_MULTIPROC_DIR`` if set, else the temporary
    directory), so a restart never adds up the files of a previous run.
    """
    parent = base or os.environ.get(MULTIPROC_ENV) or tempfile.gettempdir()
    Path(parent).mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="sprintwins-metrics-", dir=parent))
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def mark_process_dead(pid: int) -> None:
    """A worker process is gone: drop its live gauges' files (gunicorn's ``child_exit`` hook)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def remove_multiprocess_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _registry(extra: Iterable[Collector] = ()) -> CollectorRegistry:
    """The registry to expose: every process's files in multi-process mode, else this process's own."""
    from prometheus_client import REGISTRY, CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    from service.observability.metrics import metrics

    metrics()  # so a process that counted nothing yet still shows every metric (at zero)
    extra = list(extra)
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    elif not extra:
        return REGISTRY
    else:
        registry = CollectorRegistry()
        registry.register(_Delegate(REGISTRY))
    for collector in extra:
        registry.register(collector)
    return registry


class _Delegate:
    """Exposes another registry's metrics inside a scrape-time registry (no double registration)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self):  # type: ignore[no-untyped-def]
        return self._registry.collect()


def render(extra: Iterable[Collector] = ()) -> tuple[bytes, str]:
    """The metrics page in Prometheus' text format, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(_registry(extra)), CONTENT_TYPE_LATEST


def serve_on_port(port: int, addr: str = "0.0.0.0") -> None:
    """Serve ``/metrics`` on a port of its own from a daemon thread (workers and the scheduler)."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=addr, registry=_registry())
