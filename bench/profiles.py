"""CPU (or, with ``BENCH_PROFILE_WALL=1``, wall-clock) profiles of a benchmark's processes with py-spy."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import PYTHON, RESULTS


def start_profiles(
    pids: Sequence[int], seconds: float, tag: str
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    """Sample each process with py-spy: only threads holding the GIL (Python's on-CPU time), or with
    ``BENCH_PROFILE_WALL=1`` every sample, waiting included (where the wall-clock time goes)."""
    spy = Path(PYTHON).parent / "py-spy"
    sampling = ["--idle"] if os.environ.get("BENCH_PROFILE_WALL") == "1" else ["--gil"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = []
    for pid in pids:
        out = RESULTS / f"profile-{tag}-{pid}.txt"
        command = [str(spy), "record", *sampling, "-r", "250", "-d", str(int(seconds)), "-p", str(pid)]
        command += ["-f", "raw", "-o", str(out), "--nonblocking"]
        started.append((subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out))
    return started


def finish_profiles(started: list[tuple[subprocess.Popen[bytes], Path]], top: int = 30) -> dict[str, Any]:
    """Aggregate the collapsed stacks: inclusive and self share of samples per function."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for process, path in started:
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            count = int(count_text)
            frames = [_frame_name(f) for f in stack.split(";")]
            total += count
            for name in set(frames):
                inclusive[name] = inclusive.get(name, 0) + count
            own[frames[-1]] = own.get(frames[-1], 0) + count

    def ranked(table: dict[str, int]) -> list[tuple[str, float]]:
        rows = sorted(table.items(), key=lambda kv: -kv[1])[:top]
        return [(name, round(100 * n / max(1, total), 1)) for name, n in rows]

    return {"samples": total, "inclusive_pct": ranked(inclusive), "self_pct": ranked(own)}


def _frame_name(frame: str) -> str:
    # "func (path/to/file.py:123)" -> "func (to/file.py)", dropping the venv prefix and line number
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3."):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})" if where else name
