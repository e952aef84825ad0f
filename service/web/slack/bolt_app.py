"""Build the Bolt ``App``: single-workspace (a bot token) or multi-workspace (OAuth), or none at all.

Called by the app factory, never at import: ``App(...)`` calls ``auth.test`` when it is built with
a token, so it must see the configured API URL (the tests' stand-in, or a proxy).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from slack_bolt import App, BoltResponse
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_sdk.oauth.installation_store import Installation

from integrations.slack import installation
from jobs import slack_events
from jobs.queue import QueueUnavailable
from service.db import DATABASE_UNREACHABLE
from service.observability.context import ContextCopyingExecutor
from service.web.errors import RETRY_AFTER_SECONDS
from service.web.slack import listeners, self_service
from service.workspaces.registry import workspace_for_slack

if TYPE_CHECKING:
    from jobs.runtime import Runtime

# Bot scopes asked for at install; slack-app-manifest.yml lists the same ones.
BOT_SCOPES = (
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:write",
    "groups:history",
    "im:history",
    "im:write",
    "reactions:read",
    "users:read",
    "users:read.email",
)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
EVENTS_PATH = "/slack/events"
# What an outage raises: the answer is 503, so Slack retries once we are back.
OUTAGES = (*DATABASE_UNREACHABLE, QueueUnavailable, RedisConnectionError, RedisTimeoutError)

log = logging.getLogger(__name__)


def build_bolt_app(rt: Runtime) -> App | None:
    """The Bolt app for these settings, with every listener registered; None when Slack is not configured."""
    settings = rt.settings
    installation.require_slack_settings(settings)
    if not installation.slack_enabled(settings):
        return None
    if installation.oauth_enabled(settings):
        engine = rt.database.engine
        oauth_settings = OAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(BOT_SCOPES),
            redirect_uri=settings.public_url.rstrip("/") + REDIRECT_PATH,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            installation_store=WorkspaceMakingStore(
                installation.build_installation_store(settings, engine), rt
            ),
            installation_store_bot_only=True,
            state_store=installation.build_state_store(engine),
        )
        bolt = App(
            signing_secret=settings.slack_signing_secret,
            client=installation.web_client(settings),
            oauth_settings=oauth_settings,
            process_before_response=False,
            listener_executor=ContextCopyingExecutor(max_workers=5),  # listeners keep the request id
            name="sprintwins",
        )
    else:
        # The token travels in the client: Bolt ignores ``token=`` when a client is given.
        bolt = App(
            signing_secret=settings.slack_signing_secret,
            client=installation.web_client(settings, settings.slack_bot_token),
            process_before_response=False,
            listener_executor=ContextCopyingExecutor(max_workers=5),  # listeners keep the request id
            name="sprintwins",
        )
    listeners.register(bolt, rt)
    self_service.register(bolt, rt)
    bolt.error(answer_error)
    return bolt


class WorkspaceMakingStore(installation.EncryptedInstallationStore):
    """The encrypted installation store, which also makes (or finds) the installed Slack team's
    workspace when an install is saved, so the workspace exists before the first request.

    An org-wide Enterprise Grid install names no team: a job asks Slack which workspaces it covers
    and makes each one (each would otherwise be made on its first request).
    """

    def __init__(self, store: installation.EncryptedInstallationStore, rt: Runtime) -> None:
        super().__init__(store.inner, store.cipher)
        self.rt = rt

    def save(self, installed: Installation) -> None:
        super().save(installed)
        if installed.team_id:
            with self.rt.database.transaction() as session:
                workspace_for_slack(session, installed.team_id, installed.enterprise_id)
        elif installed.is_enterprise_install and installed.enterprise_id:
            try:
                self.rt.queue.enqueue(slack_events.record_org_workspaces, installed.enterprise_id)
            except QueueUnavailable:
                log.warning("queue unavailable; the org's workspaces are made on their first requests")


def answer_error(
    error: Exception, request: BoltRequest, response: BoltResponse | None
) -> BoltResponse | None:
    """Bolt's answer when a middleware or listener raised: 503 for an outage, else 400.

    The edge refuses the shapes Bolt cannot read before it runs, so what still raises here is a
    request we could not act on; Bolt's default would call it our 500. Once the listener has
    acknowledged, Slack has its answer (Bolt may be sending it from another thread): only the log
    is left.
    """
    outage = isinstance(error, OUTAGES)
    if outage:
        log.error("Slack request not handled, a service is unavailable: %s", type(error).__name__)
    else:
        log.exception("Slack request not handled", exc_info=error)
    if response is None or request.context.ack.response is not None:
        return None
    if outage:
        return BoltResponse(status=503, body="", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return BoltResponse(status=400, body="")
