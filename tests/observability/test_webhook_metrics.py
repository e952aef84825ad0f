"""Signed webhooks move the counters; /metrics answers only with the token."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import AppFactory, load_jira, post_jira

TOKEN = "metrics-token-for-tests"


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app("sqlite", metrics_token=TOKEN)


def test_accepted_duplicate_and_rejected_webhooks_are_counted(app: Flask) -> None:
    client = app.test_client()
    payload = load_jira("webhook-issue-updated-resolved.json")
    before = scrape(client)

    assert post_jira(client, payload, delivery_id="metrics-1").status_code == 202
    assert post_jira(client, payload, delivery_id="metrics-1").status_code == 202
    assert post_jira(client, payload, delivery_id="metrics-2", secret="not-the-secret").status_code == 401
    assert post_jira(client, b"[1, 2]", delivery_id="metrics-3").status_code == 400

    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("sprintwins_webhooks_received_total", source="jira") == 4
    assert moved("sprintwins_webhooks_total", source="jira", outcome="accepted", reason="") == 1
    assert moved("sprintwins_webhooks_total", source="jira", outcome="duplicate", reason="") == 1
    assert moved("sprintwins_webhooks_total", source="jira", outcome="rejected", reason="signature") == 1
    assert moved("sprintwins_webhooks_total", source="jira", outcome="rejected", reason="malformed") == 1
    assert moved("sprintwins_webhook_ack_seconds_count", source="jira") == 4


def test_the_inbox_gauges_are_read_at_scrape_time(app: Flask) -> None:
    client = app.test_client()
    assert (
        post_jira(client, load_jira("webhook-issue-created.json"), delivery_id="gauge-1").status_code == 202
    )
    samples = scrape(client)
    stored = sum(
        value(samples, "sprintwins_inbox_rows", state=s) for s in ("pending", "processed", "ignored")
    )
    assert stored >= 1
    assert value(samples, "sprintwins_inbox_backlog") == value(
        samples, "sprintwins_inbox_rows", state="pending"
    )
    assert ("sprintwins_inbox_oldest_pending_age_seconds", ()) in samples


def test_metrics_refuse_a_missing_or_wrong_token(app: Flask) -> None:
    client = app.test_client()
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert "SPRINTWINS_METRICS_TOKEN" in missing.get_json()["error"]
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert b"sprintwins_" not in missing.get_data()


def test_metrics_are_not_served_without_a_token(make_app: AppFactory) -> None:
    client = make_app("sqlite").test_client()
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404
    assert b"sprintwins_" not in response.get_data()
