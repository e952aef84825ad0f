"""``POST /webhooks/jira`` through Flask's test client, with signed requests."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from service.app import create_app
from service.models import InboundEvent
from service.settings import Settings, SettingsError
from service.web.extensions import runtime_of
from tests.conftest import SECRET, AppFactory, load_jira, post_jira


def inbox_rows(app: Flask) -> list[InboundEvent]:
    with runtime_of(app).database.sessions() as session:
        return list(session.scalars(select(InboundEvent).order_by(InboundEvent.id)))


def test_signed_delivery_is_stored_and_accepted(app: Flask, client: FlaskClient) -> None:
    response = post_jira(client, load_jira("webhook-issue-updated-resolved.json"), delivery_id="d-1")
    assert response.status_code == 202
    assert response.json["status"] == "accepted"
    rows = inbox_rows(app)
    assert [(r.delivery_id, r.event_type) for r in rows] == [("d-1", "jira:issue_updated")]
    assert json.loads(rows[0].body)["issue"]["key"] == "TES-41"


def test_redelivery_is_a_duplicate(app: Flask, client: FlaskClient) -> None:
    payload = load_jira("webhook-issue-created.json")
    answers = [post_jira(client, payload, delivery_id="same").json["status"] for _ in range(3)]
    assert answers == ["accepted", "duplicate", "duplicate"]
    assert len(inbox_rows(app)) == 1


def test_without_delivery_id_the_body_hash_deduplicates(app: Flask, client: FlaskClient) -> None:
    payload = load_jira("webhook-issue-created.json")
    assert post_jira(client, payload).json["status"] == "accepted"
    assert post_jira(client, payload).json["status"] == "duplicate"
    other = dict(payload, timestamp=payload["timestamp"] + 1)
    assert post_jira(client, other).json["status"] == "accepted"
    assert all(r.delivery_id.startswith("sha256:") for r in inbox_rows(app))


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "sha1=abc", "sha256=nothex"],
)
def test_bad_signatures_are_refused_and_nothing_is_stored(
    app: Flask, client: FlaskClient, signature: str | None
) -> None:
    body = json.dumps(load_jira("webhook-issue-created.json")).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature"] = signature
    response = client.post("/webhooks/jira", data=body, headers=headers)
    assert response.status_code == 401
    assert "X-Hub-Signature" in response.json["error"]
    assert inbox_rows(app) == []


def test_signature_with_another_secret_is_refused(client: FlaskClient) -> None:
    response = post_jira(client, load_jira("webhook-issue-created.json"), secret="not-the-secret")
    assert response.status_code == 401


def test_during_a_rotation_both_secrets_verify_and_nothing_else(make_app: AppFactory) -> None:
    app = make_app("sqlite", jira_webhook_secret="new-secret", jira_webhook_previous_secret="old-secret")
    client = app.test_client()
    payload = load_jira("webhook-issue-created.json")
    assert post_jira(client, payload, delivery_id="r-1", secret="new-secret").status_code == 202
    assert post_jira(client, payload, delivery_id="r-2", secret="old-secret").status_code == 202
    assert post_jira(client, payload, delivery_id="r-3", secret="another").status_code == 401
    assert post_jira(client, payload, delivery_id="r-4", secret=None).status_code == 401


@pytest.mark.parametrize("blank", [" ", "\t\n", "   "])
@pytest.mark.parametrize(
    "name", ["JIRA_WEBHOOK_SECRET", "API_TOKEN", "SLACK_SIGNING_SECRET", "METRICS_TOKEN"]
)
def test_a_blank_secret_refuses_to_start(name: str, blank: str) -> None:
    with pytest.raises(SettingsError, match=f"SPRINTWINS_{name} is blank"):
        Settings.from_env({"SPRINTWINS_ENV": "production", f"SPRINTWINS_{name}": blank})


def test_tampered_body_is_refused(client: FlaskClient) -> None:
    from integrations.jira.signature import sign

    body = json.dumps(load_jira("webhook-issue-created.json")).encode()
    headers = {"X-Hub-Signature": sign(SECRET, body), "Content-Type": "application/json"}
    response = client.post("/webhooks/jira", data=body.replace(b"TES-41", b"TES-42"), headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2, 3]", "JSON object"),
        (b'"a string"', "JSON object"),
        (b"{}", "webhookEvent"),
        (b'{"webhookEvent": 7}', "webhookEvent"),
    ],
)
def test_bad_bodies_get_400_with_a_message(
    app: Flask, client: FlaskClient, body: bytes, message: str
) -> None:
    response = post_jira(client, body)
    assert response.status_code == 400
    assert message in response.json["error"]
    assert inbox_rows(app) == []


def test_oversized_body_gets_413(make_app: AppFactory) -> None:
    app = make_app("sqlite", max_body_bytes=4096)
    payload = load_jira("webhook-issue-created.json")
    payload["issue"]["fields"]["description"] = "x" * 10_000
    response = post_jira(app.test_client(), payload)
    assert response.status_code == 413
    assert "4096" in response.json["error"]
    assert inbox_rows(app) == []


def test_unknown_event_type_is_recorded_as_ignored(app: Flask, client: FlaskClient) -> None:
    response = post_jira(
        client, {"webhookEvent": "board_configuration_changed", "timestamp": 1}, delivery_id="b-1"
    )
    assert response.status_code == 202
    assert response.json["state"] == "ignored"
    [row] = inbox_rows(app)
    assert row.state == "ignored"


def test_no_secret_configured_accepts_unsigned_in_development(make_app: AppFactory) -> None:
    app = make_app("sqlite", jira_webhook_secret=None)
    response = post_jira(app.test_client(), load_jira("webhook-issue-created.json"), secret=None)
    assert response.status_code == 202


def test_production_refuses_to_start_without_a_secret(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.from_env({}, env="production", database_url=f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(SettingsError, match="JIRA_WEBHOOK_SECRET"):
        create_app(settings)


def test_unreachable_database_answers_503_so_jira_retries(make_app: AppFactory) -> None:
    app = make_app("sqlite")
    runtime_of(app).database.engine.dispose()
    from service.db import Database

    runtime_of(app).database = Database("postgresql://nobody@127.0.0.1:1/none")
    response = post_jira(app.test_client(), load_jira("webhook-issue-created.json"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"


def test_wrong_method_and_path_are_json_errors(client: FlaskClient) -> None:
    assert client.get("/webhooks/jira").status_code == 405
    missing = client.get("/nope")
    assert missing.status_code == 404 and missing.json["status"] == 404


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["database"] == "ok"


def test_readiness_reports_redis_down(make_app: AppFactory) -> None:
    # Ready means "can acknowledge": deliveries are stored while Redis is down and swept later.
    app = make_app("sqlite", redis="redis://127.0.0.1:1/0")
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "degraded"
    assert ready.json["checks"]["redis"].startswith("unavailable")


def test_inbox_row_count_matches(make_app: AppFactory) -> None:
    app = make_app("sqlite")
    client = app.test_client()
    for n in range(5):
        post_jira(
            client,
            {"webhookEvent": "sprint_created", "timestamp": n, "sprint": {"id": n + 1}},
            delivery_id=f"s{n}",
        )
    with runtime_of(app).database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundEvent)) == 5


# -- bad values at the edge: a 400 naming the field, never a 5xx, on either database ----------------------

RESOLVED = "webhook-issue-updated-resolved.json"


def _with(**changes: object) -> dict[str, object]:
    payload = load_jira(RESOLVED)
    payload.update(changes)
    return payload


BAD_ENVELOPES = [
    pytest.param(_with(timestamp="²"), "timestamp", id="superscript-digit"),
    pytest.param(_with(timestamp=2**63), "timestamp", id="2^63"),
    pytest.param(_with(timestamp=2**64 - 1), "timestamp", id="2^64-1"),
    pytest.param(_with(timestamp=253_402_300_800_000), "timestamp", id="year-10000"),
    pytest.param(_with(timestamp=-1), "timestamp", id="negative"),
    pytest.param(_with(timestamp=1e300), "timestamp", id="huge-float"),
    pytest.param(_with(timestamp="soon"), "timestamp", id="word"),
    pytest.param(_with(timestamp=True), "timestamp", id="boolean"),
    pytest.param(_with(timestamp={"ms": 1}), "timestamp", id="object"),
    pytest.param(_with(webhookEvent="jira:issue_updated\x00"), "webhookEvent", id="nul-known"),
    pytest.param(_with(webhookEvent="\x00"), "webhookEvent", id="nul-only"),
    pytest.param(_with(webhookEvent="e" * 101), "webhookEvent", id="event-too-long"),
]
BACKENDS = ["sqlite", "postgres"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("payload", "field"), BAD_ENVELOPES)
def test_bad_envelope_values_get_400_naming_the_field(
    make_app: AppFactory, backend: str, payload: dict[str, object], field: str
) -> None:
    app = make_app(backend)
    response = post_jira(app.test_client(), payload, delivery_id="bad-1")
    assert response.status_code == 400, response.json
    assert field in response.json["error"]
    assert inbox_rows(app) == []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("delivery_id", "problem"),
    [("d\x00-1", "control characters"), ("d\x1b[2J", "control characters"), ("d" * 201, "longer than 200")],
)
def test_bad_delivery_ids_get_400_naming_the_header(
    make_app: AppFactory, backend: str, delivery_id: str, problem: str
) -> None:
    app = make_app(backend)
    response = post_jira(app.test_client(), load_jira(RESOLVED), delivery_id=delivery_id)
    assert response.status_code == 400
    assert "X-Atlassian-Webhook-Identifier" in response.json["error"]
    assert problem in response.json["error"]
    assert inbox_rows(app) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_values_at_the_bounds_are_accepted(make_app: AppFactory, backend: str) -> None:
    app = make_app(backend)
    client = app.test_client()
    latest = post_jira(client, _with(timestamp=253_402_300_799_999), delivery_id="d" * 200)
    as_text = post_jira(client, _with(timestamp="1550286940507"), delivery_id="text")
    untimed = post_jira(client, _with(timestamp=None), delivery_id="untimed")
    unknown = post_jira(client, _with(webhookEvent="e" * 100), delivery_id="unknown-event")
    assert [r.status_code for r in (latest, as_text, untimed, unknown)] == [202] * 4
    rows = {row.delivery_id: row for row in inbox_rows(app)}
    assert rows["d" * 200].payload_ts_ms == 253_402_300_799_999
    assert rows["text"].payload_ts_ms == 1550286940507
    assert rows["untimed"].payload_ts_ms is None
    assert rows["unknown-event"].state == "ignored"


@pytest.mark.parametrize("backend", BACKENDS)
def test_poison_deliveries_never_fail_their_concurrent_neighbours(make_app: AppFactory, backend: str) -> None:
    """Good and bad deliveries at once: every good one is stored and answered 202, every bad one 400."""
    from concurrent.futures import ThreadPoolExecutor

    app = make_app(backend)
    good = load_jira(RESOLVED)
    poisons = [
        (_with(timestamp=2**63), None),
        (_with(timestamp="²"), None),
        (_with(webhookEvent="jira:issue_updated\x00"), None),
        (good, "nul\x00id"),
    ]
    work: list[tuple[dict[str, object], str | None, bool]] = [(good, f"good-{n}", True) for n in range(60)]
    for n, (payload, delivery_id) in enumerate(poisons * 5):
        work.insert(n * 3, (payload, delivery_id or f"bad-{n}", False))

    def post(item: tuple[dict[str, object], str | None, bool]) -> tuple[bool, int]:
        payload, delivery_id, is_good = item
        return is_good, post_jira(app.test_client(), payload, delivery_id=delivery_id).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(post, work))
    assert [status for is_good, status in answers if is_good] == [202] * 60
    assert [status for is_good, status in answers if not is_good] == [400] * 20
    assert sorted(row.delivery_id for row in inbox_rows(app)) == sorted(f"good-{n}" for n in range(60))
