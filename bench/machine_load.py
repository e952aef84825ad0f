"""The machine is shared: measure (and wait out) CPU used by processes that are not the benchmark's own.

A benchmark's processes are this one's descendants and the services it drives (Postgres backends of its
own databases, Redis, wrk, py-spy); everything else on the machine is someone else's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.common import BENCH_DB, log

OURS = ("postgres", "redis-server", "wrk", "py-spy")
# The databases this run works on: their Postgres backends are ours (a benchmark with its own adds it).
OUR_DATABASES = {BENCH_DB}


def _process_cpu_ticks() -> dict[int, tuple[str, int, int]]:
    ticks: dict[int, tuple[str, int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks[int(entry.name)] = (name, int(fields[1]), int(fields[11]) + int(fields[12]))
    return ticks


def _is_ours(pid: int, table: dict[int, tuple[str, int, int]], me: int) -> bool:
    for _ in range(64):  # walk up the parents: anything we started descends from this process
        if pid == me:
            return True
        entry = table.get(pid)
        if entry is None or pid <= 1:
            return False
        if entry[0] == "postgres" and _serves_another_database(pid):
            return False
        if entry[0].split(":")[0].split()[0] in OURS:
            return True
        pid = entry[1]
    return False


def _serves_another_database(pid: int) -> bool:
    """A Postgres backend working for someone else's database (its title names the database)."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    # "postgres: 15/main: <user> <database> <host>(<port>) <state>"; background processes
    # ("postgres: 15/main: walwriter") name no database and serve everyone, us included.
    words = title.split(": ", 2)[-1].split() if title.startswith("postgres: ") else []
    if words[:4] == ["parallel", "worker", "for", "PID"] and len(words) > 4 and words[4].isdigit():
        return _serves_another_database(int(words[4]))  # a helper process of someone's query
    return len(words) >= 3 and "(" in words[2] and words[1] not in OUR_DATABASES


class ForeignCpu:
    """CPU cores used by other people's processes between ``start()`` and ``stop()``."""

    def start(self) -> None:
        self._before = _process_cpu_ticks()
        self._at = time.monotonic()

    def stop(self) -> float:
        after = _process_cpu_ticks()
        elapsed = max(1e-3, time.monotonic() - self._at)
        me = os.getpid()
        used = sum(
            ticks - self._before.get(pid, (name, ppid, 0))[2]
            for pid, (name, ppid, ticks) in after.items()
            if not _is_ours(pid, after, me)
        )
        return used / os.sysconf("SC_CLK_TCK") / elapsed


def wait_for_quiet(threshold_cores: float = 0.15, max_wait_s: float = 30.0) -> float:
    """Wait (boundedly) until others use less than ``threshold_cores``; return the last reading."""
    deadline = time.monotonic() + max_wait_s
    probe = ForeignCpu()
    while True:
        probe.start()
        time.sleep(1.0)
        load = probe.stop()
        if load < threshold_cores or time.monotonic() > deadline:
            if load >= threshold_cores:
                log(f"the machine is not quiet: others use {load:.2f} cores; measuring anyway")
            return load
