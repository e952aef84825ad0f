"""Readiness means "can acknowledge": the database decides, Redis down is only degraded."""

from __future__ import annotations

from service.app import create_app
from service.settings import Settings
from service.web.extensions import runtime_of
from tests.conftest import REDIS_URL, SECRET, AppFactory


def test_ready_with_database_and_redis(make_app: AppFactory, redis_url: str) -> None:
    ready = make_app("sqlite", redis=redis_url).test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


def test_redis_down_is_degraded_but_ready(make_app: AppFactory) -> None:
    app = make_app("sqlite", redis="redis://127.0.0.1:1/0")
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json["status"] == "degraded"
    assert ready.json["checks"]["database"] == "ok"
    assert ready.json["checks"]["redis"].startswith("unavailable")


def test_database_down_is_not_ready() -> None:
    settings = Settings.from_env(
        {},
        env="test",
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere",  # nothing listens on port 1
        redis_url=REDIS_URL,
        jira_webhook_secret=SECRET,
    )
    app = create_app(settings, install_runtime=False)
    try:
        ready = app.test_client().get("/readyz")
    finally:
        runtime_of(app).close()
    assert ready.status_code == 503 and ready.json["status"] == "not ready"
    assert ready.json["checks"]["database"].startswith("unavailable")


def test_healthz_is_unchanged(make_app: AppFactory) -> None:
    assert make_app("sqlite").test_client().get("/healthz").json == {"status": "ok"}
