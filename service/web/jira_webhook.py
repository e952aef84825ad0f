"""``POST /webhooks/jira[/<site key>]``: verify, store once, request processing, acknowledge. Nothing else.

``/webhooks/jira`` is the implicit workspace's, signed with ``SPRINTWINS_JIRA_WEBHOOK_SECRET``;
``/webhooks/jira/<key>`` is one Jira site's (``sprintwins jira add``), signed with that site's secret,
and its deliveries land in the site's workspace. Both take the same road once the signature holds.

The delivery goes down and never comes back up: parsing and recording happen in the job the
drain request starts (jobs.inbox), which answers to nobody here.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import orjson
from flask import Blueprint, Flask, Response, current_app, request

from integrations.jira import signature
from integrations.jira.envelope import NotAWebhook, read_envelope
from integrations.slack.installation import TokenCipher
from jobs.inbox import drain_requests
from jobs.queue import QueueUnavailable
from jobs.runtime import Runtime
from service.db import DATABASE_UNREACHABLE
from service.intake.inbox import DELIVERY_ID_MAX, Delivery
from service.models import DEFAULT_WORKSPACE_ID, InboxState
from service.settings import SettingsError
from service.web.errors import json_error, unavailable
from service.web.extensions import runtime_of
from service.web.metrics import counted_webhook, note_webhook_outcome
from service.workspaces import jira_sites
from service.workspaces.jira_sites import SecretCipher, SecretsUnreadable, SiteSecrets

log = logging.getLogger(__name__)
bp = Blueprint("jira_webhook", __name__)

DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
SIGNATURE_HEADER = "X-Hub-Signature"
DRAIN_REQUESTS = "sprintwins.drain_requests"
SITE_SECRETS = "sprintwins.jira_site_secrets"
BAD_SIGNATURE = "missing or invalid X-Hub-Signature (expected sha256=<hex HMAC-SHA256 of the body>)"


def init_app(app: Flask, rt: Runtime) -> None:
    app.extensions[DRAIN_REQUESTS] = drain_requests(rt)
    app.extensions[SITE_SECRETS] = SiteSecretCache(_site_secrets_loader(rt))
    app.register_blueprint(bp)


@bp.post("/webhooks/jira")
@counted_webhook("jira")
def receive() -> tuple[Response, int]:
    """The implicit workspace's deliveries: the hot path, verified from settings without a query."""
    rt = runtime_of(current_app)
    body = request.get_data(cache=False)  # raises 413 past MAX_CONTENT_LENGTH
    secret = rt.settings.jira_webhook_secret
    previous = rt.settings.jira_webhook_previous_secret  # accepted while a rotation is under way
    if secret and not _signed_with_any(body, (secret, previous)):
        return json_error(401, BAD_SIGNATURE)
    return _intake(rt, body, DEFAULT_WORKSPACE_ID)


@bp.post("/webhooks/jira/<site_key>")
@counted_webhook("jira")
def receive_for_site(site_key: str) -> tuple[Response, int]:
    """One Jira site's deliveries, into its workspace. An unknown key is a 404 before the body is read."""
    rt = runtime_of(current_app)
    cache: SiteSecretCache = current_app.extensions[SITE_SECRETS]
    try:
        secrets = cache.get(site_key)
        if secrets is None:
            return _unknown_site()
        body = request.get_data(cache=False)  # raises 413 past MAX_CONTENT_LENGTH
        now = datetime.now(UTC)
        if not _signed_with_any(body, secrets.accepted(now)):
            reread = cache.reloaded_after_miss(site_key, secrets)
            if reread is None:
                return _unknown_site()
            if reread is secrets or not _signed_with_any(body, reread.accepted(now)):
                return json_error(401, BAD_SIGNATURE)
            secrets = reread
    except SecretsUnreadable as error:
        log.error("Jira site deliveries cannot be verified: %s", error)
        return unavailable("this Jira site's secret cannot be read here; retry later")
    return _intake(rt, body, secrets.workspace_id)


def _unknown_site() -> tuple[Response, int]:
    return json_error(404, "no Jira site has this webhook URL; see `sprintwins jira list`")


def _signed_with_any(body: bytes, secrets: Iterable[str | None]) -> bool:
    header = request.headers.get(SIGNATURE_HEADER)
    return any(secret and signature.verify(secret, body, header) for secret in secrets)


def _intake(rt: Runtime, body: bytes, workspace_id: int) -> tuple[Response, int]:
    """The one road of a verified delivery: envelope checks, the inbox row, a drain request, 202."""
    try:
        envelope = read_envelope(body)
    except NotAWebhook as error:
        return json_error(400, str(error))
    delivery_id = request.headers.get(DELIVERY_HEADER)
    if delivery_id is not None and (problem := _delivery_id_problem(delivery_id)):
        return json_error(400, f"{DELIVERY_HEADER} {problem}")

    delivery = Delivery.received(
        "jira",
        delivery_id,
        body,
        envelope.event_name,
        envelope.timestamp_ms,
        known=envelope.known,
        workspace_id=workspace_id,
    )
    try:
        stored = rt.inbox_writer.store(delivery)  # returns once the row is committed
    except DATABASE_UNREACHABLE as error:
        # Only an outage: the input was checked above, so any other error is ours, a logged 500.
        log.error("inbox unavailable: %s", type(error).__name__)
        return unavailable("storage is unavailable; retry later")

    if delivery.state == InboxState.PENDING and stored.state == InboxState.PENDING:
        try:
            current_app.extensions[DRAIN_REQUESTS]()
        except QueueUnavailable:
            # Stored is what matters: the sweeper enqueues it once the queue is back.
            log.warning("queue unavailable; inbox row %s waits for the sweeper", stored.id)
    answer = {
        "status": "accepted" if stored.new else "duplicate",
        "id": stored.id,
        "event": envelope.event_name,
        "state": delivery.state,
    }
    note_webhook_outcome("accepted" if stored.new else "duplicate")
    return Response(orjson.dumps(answer), status=202, mimetype="application/json"), 202


def _delivery_id_problem(delivery_id: str) -> str | None:
    """Why the delivery id cannot key an inbox row, if it cannot: it must fit, and be printable.

    Cutting a long id would make two deliveries one; a NUL cannot be stored in a text column.
    """
    if len(delivery_id) > DELIVERY_ID_MAX:
        return f"is longer than {DELIVERY_ID_MAX} characters"
    if not delivery_id.isprintable():
        return "must not contain control characters"
    return None


# -- each site's secrets, kept briefly in the process ----------------------------------------------------


class SiteSecretCache:
    """Each site's decrypted secrets for ``TTL_SECONDS``, so a delivery costs no query and no decryption.

    Why this is safe for a rotation: a delivery whose signature fails against the cached secrets
    has them read again before it is refused, so a new secret is accepted as soon as
    ``jira rotate`` has committed. Such re-reads happen at most once per ``MISS_RELOAD_SECONDS``
    a site, so forged signatures cannot make each delivery a query. The old secret's grace is
    checked against its end time at each delivery, so caching never stretches it; only an entry
    read before the rotation still holds the old secret as current, for at most ``TTL_SECONDS``
    (which matters only with ``--grace 0s``). A removed site is refused within ``TTL_SECONDS``.
    Unknown keys are not cached: each costs one indexed lookup, as a real delivery's first does.
    """

    TTL_SECONDS = 30.0
    MISS_RELOAD_SECONDS = 1.0
    MAX_ENTRIES = 10_000  # far more sites than a deployment has; a bound all the same

    def __init__(
        self,
        load: Callable[[str], SiteSecrets | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._clock = clock
        self._entries: dict[str, tuple[float, SiteSecrets]] = {}
        self._missed_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> SiteSecrets | None:
        """The site's secrets, or None when no site has ``key`` (junk keys cost no query)."""
        if not jira_sites.is_site_key(key):
            return None
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < self.TTL_SECONDS:
            return entry[1]
        return self._reload(key)

    def reloaded_after_miss(self, key: str, seen: SiteSecrets) -> SiteSecrets | None:
        """The site's secrets read again after a signature missed ``seen``, unless one was just now."""
        entry = self._entries.get(key)
        if entry is not None and entry[1] is not seen:
            return entry[1]  # another delivery has read them again meanwhile
        now = self._clock()
        last = self._missed_at.get(key)
        if last is not None and now - last < self.MISS_RELOAD_SECONDS:
            return seen
        self._missed_at[key] = now
        return self._reload(key)

    def _reload(self, key: str) -> SiteSecrets | None:
        secrets = self._load(key)
        with self._lock:
            if secrets is None:
                self._entries.pop(key, None)
                self._missed_at.pop(key, None)
            else:
                if len(self._entries) >= self.MAX_ENTRIES:
                    self._entries.clear()
                    self._missed_at.clear()
                self._entries[key] = (self._clock(), secrets)
        return secrets


def _site_secrets_loader(rt: Runtime) -> Callable[[str], SiteSecrets | None]:
    @functools.cache
    def cipher() -> SecretCipher | None:
        # Built on first use: a process that serves no site never needs the key at all.
        key = rt.settings.token_encryption_key
        return TokenCipher(key) if key else None

    def load(key: str) -> SiteSecrets | None:
        with rt.database.sessions() as session:
            try:
                return jira_sites.site_secrets(session, key, cipher())
            except SettingsError as error:  # a malformed key: the operator's to fix
                raise SecretsUnreadable(str(error)) from None

    return load
