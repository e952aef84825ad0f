"""Start-up of ``sprintwins serve``'s workers and of ``sprintwins worker``, each in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# What a gunicorn worker does after the fork: build the app through the server's ``load``, then report
# how many objects the garbage collector still scans, and how long a full collection takes.
_WORKER = """
import gc, json, time
from service.cli.serve import _SprintWinsServer

server = _SprintWinsServer({"bind": "127.0.0.1:0", "workers": 1})
app = server.load()
started = time.perf_counter()
gc.collect()
print(json.dumps({
    "app": app.name,
    "frozen": gc.get_freeze_count(),
    "tracked": len(gc.get_objects()),
    "full_collection_ms": 1000 * (time.perf_counter() - started),
}))
"""


def test_a_loaded_worker_keeps_its_startup_objects_out_of_full_collections(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SPRINTWINS_DATABASE_URL": f"sqlite:///{tmp_path / 'sprintwins.db'}",
        "SPRINTWINS_REDIS_URL": "",
    }
    subprocess.run(
        [sys.executable, "-m", "service.cli.main", "db", "upgrade"], env=env, timeout=120, check=True
    )
    done = subprocess.run(
        [sys.executable, "-c", _WORKER], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["app"] == "service.app"
    # Tens of thousands of start-up objects are frozen; what is left for a full pass is a small share.
    assert report["frozen"] > 20_000
    assert report["tracked"] < report["frozen"] / 10


# ``sprintwins worker --burst``, then how many objects were frozen on the way.
_JOB_WORKER = """
import gc, json
from jobs.worker import run_worker
from service.settings import Settings

run_worker(Settings.from_env(), burst=True)
print(json.dumps({"frozen": gc.get_freeze_count()}))
"""


def test_a_job_worker_freezes_its_startup_objects_before_working(tmp_path: Path, redis_url: str) -> None:
    env = {
        **os.environ,
        "SPRINTWINS_DATABASE_URL": f"sqlite:///{tmp_path / 'sprintwins.db'}",
        "SPRINTWINS_REDIS_URL": redis_url,
    }
    subprocess.run(
        [sys.executable, "-m", "service.cli.main", "db", "upgrade"], env=env, timeout=120, check=True
    )
    done = subprocess.run(
        [sys.executable, "-c", _JOB_WORKER], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout.splitlines()[-1])["frozen"] > 20_000
