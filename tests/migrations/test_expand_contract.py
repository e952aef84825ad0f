"""The previous release's code keeps working on the newest schema (expand, then contract).

During a rolling upgrade the migration Job runs first, then old and new pods serve side by side, so
every migration must leave the schema usable by the code released before it: add tables, columns
with defaults and indexes first; drop or rename only in a later release, once no running code reads
the old shape (docs/operations.md, "Upgrades").

The previous release is the code just before the newest migration was added: that commit's
``service``, ``jobs`` and ``integrations`` are extracted from git and run, as real ``sprintwins serve``
and ``sprintwins worker`` processes, against a PostgreSQL database migrated by today's code. Signed
deliveries go in through the old server, the old worker records them, and both the old API and
today's code read the wins back.

A migration that cannot keep that promise says so (``PREVIOUS_RELEASE_MUST_STOP`` in its module, with
the reason): the upgrade then stops the previous release before migrating. For such a step the test
plays that upgrade instead: the previous release runs on its own schema with deliveries acknowledged
but not yet worked, it is stopped, today's code migrates, and today's worker turns every acknowledged
delivery into exactly one win.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.request
import uuid
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from integrations.jira import signature
from service import migrate
from service.db import Database
from service.models import Win
from tests.conftest import POSTGRES_ADMIN_URL
from tests.jobs.helpers import issue_payload

ROOT = Path(__file__).resolve().parents[2]
SECRET = "expand-contract-secret"
KEYS = [f"EXP-{n}" for n in range(1, 6)]

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def previous_release() -> str:
    """The commit before the newest migration was added (HEAD while one is still uncommitted)."""
    pending = _git("status", "--porcelain", "--", "service/migrations/versions")
    if pending:
        return _git("rev-parse", "HEAD")
    newest = _git("log", "-1", "--diff-filter=A", "--format=%H", "--", "service/migrations/versions")
    return _git("rev-parse", f"{newest}^")


def migrations_since(commit: str) -> list[Path]:
    """The migration files today's tree has that the previous release had not."""
    before = set(_git("ls-tree", "--name-only", f"{commit}:service/migrations/versions").split())
    return sorted(
        path for path in (ROOT / "service/migrations/versions").glob("*.py") if path.name not in before
    )


def declared_stop(commit: str) -> str | None:
    """Why the previous release must stop before the upgrade, if a newer migration says it must."""
    for path in migrations_since(commit):
        spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        reason = getattr(module, "PREVIOUS_RELEASE_MUST_STOP", None)
        if reason:
            return f"{path.name}: {reason}"
    return None


@pytest.fixture
def old_code(tmp_path: Path) -> Path:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the previous release's code cannot be extracted")
    commit = previous_release()
    archive = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "archive",
            "--format=tar",
            commit,
            "service",
            "jobs",
            "integrations",
            "pyproject.toml",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    target = tmp_path / "previous"
    target.mkdir()
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


@pytest.fixture
def empty_database() -> Iterator[str]:
    name = f"sprintwins_expand_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate_with_todays_code(url: str) -> None:
    database = Database(url)
    try:
        migrate.upgrade(database)  # today's migrations, all of them
    finally:
        database.dispose()


def _entry_point(tree: Path) -> list[str]:
    """``sprintwins`` as that release declared it (its module moved between releases)."""
    target = tomllib.loads((tree / "pyproject.toml").read_text())["project"]["scripts"]["sprintwins"]
    module, function = target.split(":")
    launcher = f"import sys; sys.argv[0] = 'sprintwins'; from {module} import {function}; {function}()"
    return [sys.executable, "-c", launcher]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _wait_until_serving(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            _, stderr = server.communicate()
            raise AssertionError(f"the previous release's server exited: {stderr.decode(errors='replace')}")
        try:
            if _request(f"{base}/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the previous release's server did not answer /healthz within 60 s")


def _old_env(old_code: Path, database_url: str, redis_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(old_code),
        "SPRINTWINS_ENV": "production",
        "SPRINTWINS_DATABASE_URL": database_url,
        "SPRINTWINS_REDIS_URL": redis_url,
        "SPRINTWINS_JIRA_WEBHOOK_SECRET": SECRET,
        "SPRINTWINS_API_TOKEN": "expand-contract-token",
    }
    # The old code must really be the one running: the extracted tree comes first on the path.
    imported = subprocess.run(
        [sys.executable, "-c", "import service; print(service.__file__)"],
        env=env,
        cwd=old_code,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert imported.startswith(str(old_code)), imported
    return env


def _start_server(command: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--workers", "1", "--threads", "2"],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    _wait_until_serving(base, server)
    return server, base


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    _, stderr = server.communicate(timeout=30)
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")[-2000:]


def _deliver(base: str, keys: list[str]) -> None:
    for n, key in enumerate(keys):
        payload = issue_payload(
            "webhook-issue-updated-resolved.json", key=key, timestamp=1_764_000_000_000 + n * 60_000
        )
        body = json.dumps(payload).encode()
        status, answer = _request(
            f"{base}/webhooks/jira",
            body,
            {
                "Content-Type": "application/json",
                "X-Hub-Signature": signature.sign(SECRET, body),
                "X-Atlassian-Webhook-Identifier": f"expand-{key}",
            },
        )
        assert status == 202, answer


def _work_the_queue(command: list[str], env: dict[str, str], cwd: Path) -> None:
    subprocess.run(
        [*command, "worker", "--burst"], env=env, cwd=cwd, check=True, timeout=120, capture_output=True
    )


def _titles_today(url: str) -> list[str]:
    database = Database(url)
    try:
        with database.sessions() as session:
            return [win.title for win in session.scalars(select(Win).where(Win.status == "active"))]
    finally:
        database.dispose()


def test_an_upgrade_from_the_previous_release_keeps_every_acknowledged_delivery(
    old_code: Path, empty_database: str, redis_url: str
) -> None:
    """Side by side on the new schema, or, where a migration asks for it, stopped before migrating."""
    if declared_stop(previous_release()) is None:
        _side_by_side(old_code, empty_database, redis_url)
    else:
        _stopped_before_migrating(old_code, empty_database, redis_url)


def _side_by_side(old_code: Path, empty_database: str, redis_url: str) -> None:
    _migrate_with_todays_code(empty_database)
    env = _old_env(old_code, empty_database, redis_url)
    command = _entry_point(old_code)
    server, base = _start_server(command, env, old_code)
    try:
        _deliver(base, KEYS)
        _work_the_queue(command, env, old_code)
        auth = {"Authorization": "Bearer expand-contract-token"}
        status, teams_body = _request(f"{base}/api/v1/teams", headers=auth)
        assert status == 200, teams_body
        slugs = [team["slug"] for team in json.loads(teams_body)["teams"]]
        seen: set[str] = set()
        for slug in slugs:
            status, wins_body = _request(f"{base}/api/v1/teams/{slug}/wins", headers=auth)
            assert status == 200, wins_body
            seen |= {json.dumps(win) for win in json.loads(wins_body)["wins"]}
        assert all(any(key in win for win in seen) for key in KEYS), "the old API lost wins"
    finally:
        _stop(server)

    # Today's code reads what the previous release wrote.
    titles = _titles_today(empty_database)
    assert all(any(key in title for title in titles) for key in KEYS), titles


def _stopped_before_migrating(old_code: Path, empty_database: str, redis_url: str) -> None:
    env = _old_env(old_code, empty_database, redis_url)
    command = _entry_point(old_code)
    subprocess.run(
        [*command, "db", "upgrade"], env=env, cwd=old_code, check=True, timeout=120, capture_output=True
    )
    worked, pending = KEYS[:3], KEYS[3:]
    server, base = _start_server(command, env, old_code)
    try:
        _deliver(base, worked)
        _work_the_queue(command, env, old_code)
        _deliver(base, pending)  # acknowledged, still in the inbox when the release stops
    finally:
        _stop(server)

    _migrate_with_todays_code(empty_database)
    today = {**env, "PYTHONPATH": str(ROOT)}
    _work_the_queue(_entry_point(ROOT), today, ROOT)

    titles = _titles_today(empty_database)
    for key in KEYS:
        assert sum(key in title for title in titles) == 1, (key, titles)
