"""Fixtures against the real services: SQLite files, the local PostgreSQL and Redis.

Postgres gets one database per test run, migrated once; each test starts from empty tables.
Redis uses a database number of its own, flushed around each test, as RQ's own tests do.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import Connection, text

from integrations.jira import signature
from jobs import runtime as job_runtime
from jobs.queue import InProcessJobQueue
from service import migrate
from service.app import create_app
from service.db import Database
from service.models import DEFAULT_WORKSPACE_ID, DEFAULT_WORKSPACE_SLUG, Base, Workspace, utcnow
from service.settings import Settings
from service.web.extensions import runtime_of

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("SPRINTWINS_CORPUS", ROOT.parent / "shared" / "corpus"))
POSTGRES_ADMIN_URL = os.environ.get(
    "SPRINTWINS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("SPRINTWINS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET = "test-webhook-secret"


def corpus_file(*parts: str) -> Path:
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"the payload corpus is expected at {CORPUS} (set SPRINTWINS_CORPUS): {path} missing"
        )
    return path


def load_jira(name: str) -> dict[str, Any]:
    return json.loads(corpus_file("jira", name).read_text())


# -- Postgres ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"sprintwins_test_{uuid.uuid4().hex[:8]}"
    admin = POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    yield url
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_tables(database: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            # The planner's statistics would still describe the previous test's rows: a test that
            # filled a table steers the next one's queries to plans made for another size.
            connection.execute(text(f"ANALYZE {tables}"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
        restore_default_workspace(connection)


def restore_default_workspace(connection: Connection) -> None:
    """Emptying every table took the implicit workspace too; every install has it (the migration's row)."""
    connection.execute(
        Workspace.__table__.insert().values(
            id=DEFAULT_WORKSPACE_ID, slug=DEFAULT_WORKSPACE_SLUG, name="Default", created_at=utcnow()
        )
    )
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT setval(pg_get_serial_sequence('workspaces', 'id'), 1)"))


# -- Redis ---------------------------------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


# -- apps ----------------------------------------------------------------------------------------------------

AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[AppFactory]:
    """Build an app on ``backend`` ("sqlite" or "postgres"), with or without Redis."""
    built: list[Flask] = []

    def factory(backend: str = "sqlite", *, redis: str | None = None, **overrides: Any) -> Flask:
        if backend == "postgres":
            url = request.getfixturevalue("postgres_url")
        else:
            url = f"sqlite:///{tmp_path / 'sprintwins.db'}"
        values: dict[str, Any] = {
            "env": "test",
            "database_url": url,
            "redis_url": redis,
            "jira_webhook_secret": SECRET,
        }
        settings = Settings.from_env({}, **{**values, **overrides})
        app = create_app(settings)
        database = runtime_of(app).database
        if backend == "postgres":
            _empty_tables(database)
        else:
            migrate.upgrade(database)
        built.append(app)
        return app

    yield factory
    for app in built:
        queue = runtime_of(app).queue
        if isinstance(queue, InProcessJobQueue):
            queue.wait_idle(30)  # follow-up jobs must not outlive the test's database
        runtime_of(app).close()
    job_runtime.reset()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app("sqlite")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def post_jira(
    client: FlaskClient,
    payload: dict[str, Any] | bytes,
    *,
    delivery_id: str | None = None,
    secret: str | None = SECRET,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST a payload the way Jira does: raw JSON body, HMAC signature, delivery id."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent = {"Content-Type": "application/json"}
    if secret is not None:
        sent["X-Hub-Signature"] = signature.sign(secret, body)
    if delivery_id is not None:
        sent["X-Atlassian-Webhook-Identifier"] = delivery_id
    sent.update(headers or {})
    return client.post("/webhooks/jira", data=body, headers=sent)
