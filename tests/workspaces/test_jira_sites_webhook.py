"""``POST /webhooks/jira/<site key>``: each Jira site's signed deliveries land in its own workspace."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from integrations.jira import signature
from service.models import DEFAULT_WORKSPACE_ID, InboundEvent, Team
from service.observability.metrics import metrics
from service.web.extensions import runtime_of
from tests.conftest import SECRET, AppFactory, load_jira, post_jira
from tests.jobs.helpers import issue_payload, run_jobs
from tests.workspaces.test_jira_sites_cli import (
    BACKENDS,
    AddedSite,
    add_site,
    jira_cli,
    make_workspace,
    site_app,
)

RESOLVED = "webhook-issue-updated-resolved.json"
T0 = 1_763_900_000_000


def post_to_site(
    client: FlaskClient,
    path: str,
    payload: dict[str, Any] | bytes,
    *,
    secret: str | None,
    delivery_id: str | None = None,
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature"] = signature.sign(secret, body)
    if delivery_id is not None:
        headers["X-Atlassian-Webhook-Identifier"] = delivery_id
    return client.post(path, data=body, headers=headers)


def inbox(app: Flask) -> list[tuple[str, int]]:
    with runtime_of(app).database.sessions() as session:
        rows = session.execute(
            select(InboundEvent.delivery_id, InboundEvent.workspace_id).order_by(InboundEvent.id)
        )
        return [(delivery_id, workspace_id) for delivery_id, workspace_id in rows]


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_sites_with_the_same_project_land_in_two_workspaces(
    make_app: AppFactory, backend: str, request: pytest.FixtureRequest
) -> None:
    redis = request.getfixturevalue("redis_url") if backend == "postgres" else None
    app = site_app(make_app, backend, redis=redis)
    acme_id, globex_id = make_workspace(app, "acme"), make_workspace(app, "globex")
    acme, globex = add_site(app, "acme"), add_site(app, "globex", "https://globex.atlassian.net")
    client = app.test_client()
    # The same issue key, project and delivery id from both sites: two deliveries, not a duplicate.
    payload = issue_payload(RESOLVED, key="ORB-7", timestamp=T0)

    answers = [
        post_to_site(client, acme.path, payload, secret=acme.secret, delivery_id="same-id"),
        post_to_site(client, globex.path, payload, secret=globex.secret, delivery_id="same-id"),
        post_to_site(client, acme.path, payload, secret=acme.secret, delivery_id="same-id"),
    ]

    assert [(a.status_code, a.json["status"]) for a in answers] == [
        (202, "accepted"),
        (202, "accepted"),
        (202, "duplicate"),
    ]
    assert sorted(inbox(app)) == sorted([("same-id", acme_id), ("same-id", globex_id)])
    run_jobs(app)
    with runtime_of(app).database.sessions() as session:
        teams = session.execute(select(Team.workspace_id, Team.slug).order_by(Team.workspace_id))
        assert [(workspace_id, slug) for workspace_id, slug in teams] == [
            (acme_id, "orb"),
            (globex_id, "orb"),
        ]


def test_the_plain_route_still_lands_in_the_implicit_workspace(make_app: AppFactory) -> None:
    app = site_app(make_app)
    make_workspace(app, "acme")
    add_site(app, "acme")
    response = post_jira(app.test_client(), load_jira(RESOLVED), delivery_id="plain-1")
    assert response.status_code == 202
    assert inbox(app) == [("plain-1", DEFAULT_WORKSPACE_ID)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_wrong_or_missing_signature_is_401_and_nothing_is_stored(
    make_app: AppFactory, backend: str
) -> None:
    app = site_app(make_app, backend)
    make_workspace(app, "acme")
    make_workspace(app, "globex")
    acme, globex = add_site(app, "acme"), add_site(app, "globex")
    client = app.test_client()
    payload = load_jira(RESOLVED)
    for secret in (None, "not-the-secret", globex.secret, SECRET):  # another site's, the plain route's
        response = post_to_site(client, acme.path, payload, secret=secret, delivery_id="x")
        assert response.status_code == 401, secret
        assert "X-Hub-Signature" in response.json["error"]
    assert inbox(app) == []


HOSTILE_KEYS = [
    pytest.param("unknownkey123", id="unknown"),
    pytest.param("a" * 64, id="longest-shape"),
    pytest.param("k" * 10_000, id="10kB"),
    pytest.param("\x00", id="nul"),
    pytest.param("ab\x00cd", id="nul-inside"),
    pytest.param("%00", id="encoded-nul"),
    pytest.param("ключ", id="cyrillic"),
    pytest.param("🔑" * 50, id="emoji"),
    pytest.param("\uff41\uff42\uff43", id="fullwidth"),
    pytest.param("a%2Fb", id="encoded-slash"),
    pytest.param("..", id="dots"),
    pytest.param("' OR '1'='1", id="quote"),
    pytest.param("%ff%fe", id="bad-utf8"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_site_keys_are_404_never_5xx(make_app: AppFactory, backend: str, key: str) -> None:
    app = site_app(make_app, backend)
    make_workspace(app, "acme")
    acme = add_site(app, "acme")
    response = post_to_site(
        app.test_client(), f"/webhooks/jira/{key}", load_jira(RESOLVED), secret=acme.secret, delivery_id="h"
    )
    assert response.status_code == 404
    assert response.is_json and response.json["status"] == 404
    assert inbox(app) == []


def test_the_site_route_has_the_same_checks_as_the_plain_one(make_app: AppFactory) -> None:
    app = site_app(make_app, max_body_bytes=16_384)
    make_workspace(app, "acme")
    acme = add_site(app, "acme")
    client = app.test_client()
    big = load_jira(RESOLVED)
    big["issue"]["fields"]["description"] = "x" * 20_000
    assert post_to_site(client, acme.path, big, secret=acme.secret).status_code == 413
    not_a_webhook = post_to_site(client, acme.path, b'{"webhookEvent": 7}', secret=acme.secret)
    assert not_a_webhook.status_code == 400 and "webhookEvent" in not_a_webhook.json["error"]
    bad_id = post_to_site(client, acme.path, load_jira(RESOLVED), secret=acme.secret, delivery_id="d\x1b[2J")
    assert bad_id.status_code == 400 and "X-Atlassian-Webhook-Identifier" in bad_id.json["error"]
    ignored = post_to_site(
        client, acme.path, {"webhookEvent": "board_created", "timestamp": 1}, secret=acme.secret
    )
    assert ignored.status_code == 202 and ignored.json["state"] == "ignored"
    assert client.get(acme.path).status_code == 405


@pytest.mark.parametrize("backend", BACKENDS)
def test_rotation_accepts_the_old_secret_until_the_grace_ends(make_app: AppFactory, backend: str) -> None:
    app = site_app(make_app, backend)
    make_workspace(app, "acme")
    acme = add_site(app, "acme")
    client = app.test_client()
    payload = load_jira(RESOLVED)
    assert post_to_site(client, acme.path, payload, secret=acme.secret, delivery_id="r-0").status_code == 202

    new_secret = _rotated(app, acme, "3s")
    # At once, although this process holds the site's secrets from before the rotation.
    assert post_to_site(client, acme.path, payload, secret=new_secret, delivery_id="r-1").status_code == 202
    assert post_to_site(client, acme.path, payload, secret=acme.secret, delivery_id="r-2").status_code == 202
    _sleep_until_grace_ends(app, acme)
    assert post_to_site(client, acme.path, payload, secret=acme.secret, delivery_id="r-3").status_code == 401
    assert post_to_site(client, acme.path, payload, secret=new_secret, delivery_id="r-4").status_code == 202
    assert [delivery_id for delivery_id, _ in inbox(app)] == ["r-0", "r-1", "r-2", "r-4"]


def _rotated(app: Flask, site: AddedSite, grace: str) -> str:
    output = jira_cli(app, "rotate", site.key, "--grace", grace).output
    return next(line.split()[-1] for line in output.splitlines() if "New secret:" in line)


def _sleep_until_grace_ends(app: Flask, site: AddedSite) -> None:
    from tests.workspaces.test_jira_sites_cli import stored_site

    stored = stored_site(app, site.key)
    assert stored is not None and stored.previous_valid_until is not None
    time.sleep(max(0.0, (stored.previous_valid_until - datetime.now(UTC)).total_seconds()) + 0.05)


def test_a_removed_site_is_refused_once_its_cached_secrets_expire(make_app: AppFactory) -> None:
    from service.web.jira_webhook import SITE_SECRETS

    app = site_app(make_app)
    make_workspace(app, "acme")
    acme = add_site(app, "acme")
    client = app.test_client()
    payload = load_jira(RESOLVED)
    assert post_to_site(client, acme.path, payload, secret=acme.secret, delivery_id="g-1").status_code == 202
    jira_cli(app, "remove", acme.key)
    cache = app.extensions[SITE_SECRETS]
    cache.TTL_SECONDS = 0.2  # the same expiry, sooner: this test must not wait half a minute
    time.sleep(0.25)
    assert post_to_site(client, acme.path, payload, secret=acme.secret, delivery_id="g-2").status_code == 404


@contextmanager
def site_queries(app: Flask) -> Iterator[list[str]]:
    """The statements that read ``jira_sites`` while the block runs."""
    seen: list[str] = []
    engine = runtime_of(app).database.engine

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "jira_sites" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_site_costs_one_lookup_and_the_plain_route_none(make_app: AppFactory) -> None:
    app = site_app(make_app)
    make_workspace(app, "acme")
    acme = add_site(app, "acme")
    client = app.test_client()
    with site_queries(app) as seen:
        for n in range(5):
            response = post_to_site(
                client, acme.path, issue_payload(RESOLVED, timestamp=T0 + n), secret=acme.secret
            )
            assert response.status_code == 202
    assert len(seen) == 1  # the first delivery reads the site; the next ones use the process's copy
    with site_queries(app) as seen:
        for n in range(3):
            assert post_jira(client, issue_payload(RESOLVED, timestamp=T0 + 10 + n)).status_code == 202
    assert seen == []


def test_bad_signatures_cannot_make_every_delivery_a_query(make_app: AppFactory) -> None:
    app = site_app(make_app)
    make_workspace(app, "acme")
    acme = add_site(app, "acme")
    client = app.test_client()
    with site_queries(app) as seen:
        answers = [
            post_to_site(client, acme.path, load_jira(RESOLVED), secret="forged").status_code
            for _ in range(20)
        ]
    assert answers == [401] * 20
    assert len(seen) <= 2  # the first read, then at most one re-read a second after a miss


def test_a_process_without_the_encryption_key_answers_503_so_jira_retries(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = site_app(make_app, token_encryption_key=None)
    make_workspace(app, "acme")
    acme = add_site(app, "acme")  # the command line has the key; this web process does not
    response = post_to_site(app.test_client(), acme.path, load_jira(RESOLVED), secret=acme.secret)
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "SPRINTWINS_TOKEN_ENCRYPTION_KEY" in caplog.text
    assert inbox(app) == []


def test_site_deliveries_are_counted_as_jira_webhooks(make_app: AppFactory) -> None:
    app = site_app(make_app)
    make_workspace(app, "acme")
    acme = add_site(app, "acme")
    received = metrics().webhooks_received.labels("jira")
    signature_refused = metrics().webhooks.labels("jira", "rejected", "signature")
    before = received._value.get(), signature_refused._value.get()
    client = app.test_client()
    post_to_site(client, acme.path, load_jira(RESOLVED), secret=acme.secret)
    post_to_site(client, acme.path, load_jira(RESOLVED), secret="forged")
    assert received._value.get() - before[0] == 2
    assert signature_refused._value.get() - before[1] == 1


def test_no_secret_reaches_the_logs_during_deliveries(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = site_app(make_app, log_requests=True)
    make_workspace(app, "acme")
    acme = add_site(app, "acme")
    client = app.test_client()
    post_to_site(client, acme.path, load_jira(RESOLVED), secret=acme.secret, delivery_id="l-1")
    post_to_site(client, acme.path, load_jira(RESOLVED), secret="forged", delivery_id="l-2")
    new_secret = _rotated(app, acme, "1h")
    post_to_site(client, acme.path, load_jira(RESOLVED), secret=new_secret, delivery_id="l-3")
    run_jobs(app)
    logged = caplog.text + "".join(repr(record.args) + repr(record.__dict__) for record in caplog.records)
    assert acme.secret not in logged and new_secret not in logged
    # Nor the site's key, half of what lets a delivery in: the request line names the route instead.
    assert acme.key not in logged
    assert "/webhooks/jira/<site_key>" in logged
