"""Structured logs: a request id followed from the webhook into its job, and no secret in any line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from jobs.job_outcomes import running_job_request_id
from jobs.queue import RQJobQueue
from service.observability.context import set_job_request_id_source
from service.observability.logs import REDACTED, configure_logging
from service.settings import Settings
from service.web.extensions import runtime_of
from tests.conftest import AppFactory, load_jira, post_jira


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    set_job_request_id_source(None)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.redis
def test_the_request_id_is_in_the_web_line_and_in_the_job_it_queued(
    make_app: AppFactory, redis_url: str, log_stream: io.StringIO
) -> None:
    app = make_app("sqlite", redis=redis_url, drain_request_interval_ms=0, log_requests=True)
    rt = runtime_of(app)
    configure_logging(rt.settings, stream=log_stream)  # the app's own set-up, on a stream we can read
    response = post_jira(
        app.test_client(),
        load_jira("webhook-issue-updated-resolved.json"),
        delivery_id="followed-1",
        headers={"X-Request-Id": "req-followed-42"},
    )
    assert response.status_code == 202
    assert response.headers["X-Request-Id"] == "req-followed-42"

    set_job_request_id_source(running_job_request_id)  # as `sprintwins worker` does
    assert isinstance(rt.queue, RQJobQueue)
    worker = SimpleWorker([rt.queue.rq], connection=rt.queue.redis, serializer=JSONSerializer)
    assert worker.work(burst=True)

    logged = lines(log_stream)
    [web] = [line for line in logged if line["event"] == "request" and line["path"] == "/webhooks/jira"]
    assert web["request_id"] == "req-followed-42"
    assert web["status"] == 202
    assert web["logger"] == "sprintwins.requests"
    jobs = [line for line in logged if line["event"] == "job processed"]
    assert "jobs.inbox.drain_inbox" in {line["job"] for line in jobs}
    assert all(line["request_id"] == "req-followed-42" for line in jobs)


def test_a_request_without_an_id_gets_one_and_a_bad_one_is_replaced(make_app: AppFactory) -> None:
    client = make_app("sqlite").test_client()
    made = client.get("/healthz").headers["X-Request-Id"]
    assert len(made) == 32
    assert client.get("/healthz").headers["X-Request-Id"] != made
    replaced = client.get("/healthz", headers={"X-Request-Id": "x" * 500}).headers["X-Request-Id"]
    assert replaced != "x" * 500


CANARIES = {
    "jira_webhook_secret": "canary-jira-secret-7f3a91",
    "slack_bot_token": "xoxb-canary-bot-token-55e1",
    "slack_signing_secret": "canary-signing-secret-c0ffee",
    "slack_client_secret": "canary-client-secret-9b9b",
    "api_token": "canary-api-token-1234abcd",
    "metrics_token": "canary-metrics-token-feed",
    "jira_api_token": "canary-jira-api-token-beef",
    "jira_pat": "canary-jira-pat-0ddba11",
    "token_encryption_key": "canary-fernet-key-a1b2c3d4",
}


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_canary_secrets_never_reach_a_log_line(log_format: str) -> None:
    settings = Settings.from_env({}, env="production", log_format=log_format, **CANARIES)
    stream = io.StringIO()
    configure_logging(settings, stream=stream)
    secrets = list(CANARIES.values())
    # Our code, gunicorn, RQ and Bolt: every record goes through the same formatter.
    for name in ("service.web.api", "gunicorn.error", "rq.worker", "slack_bolt.App"):
        logging.getLogger(name).warning("calling with %s and %s", secrets[0], secrets[1])
    logging.getLogger("jobs.inbox").info("context", extra={"detail": " ".join(secrets), "token": "plain"})
    try:
        raise RuntimeError(f"Slack refused {CANARIES['slack_bot_token']}")
    except RuntimeError:
        logging.getLogger("jobs.digest_delivery").exception("post failed for %s", CANARIES["api_token"])
    logging.getLogger("service.settings").error("settings: %r", settings)

    text = stream.getvalue()
    assert text.count("\n") >= 7
    for secret in secrets:
        assert secret not in text
    assert REDACTED in text


def test_json_lines_are_one_per_event_even_with_a_traceback() -> None:
    settings = Settings.from_env({}, log_format="json")
    stream = io.StringIO()
    configure_logging(settings, stream=stream)
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        logging.getLogger("jobs.inbox").exception("batch failed")
    [line] = lines(stream)
    assert line["event"] == "batch failed"
    assert line["level"] == "error"
    assert "line two" in line["exception"]
