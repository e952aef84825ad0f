"""Answers to slash commands through their ``response_url`` (ephemeral, in any channel or DM).

Messages posted with the bot token (``chat.*``) leave through ``integrations.slack.poster``.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from slack_sdk.webhook import WebhookClient

from service.settings import Settings

log = logging.getLogger(__name__)

RESPONSE_TIMEOUT_S = 10


def respond(settings: Settings, response_url: str, text: str) -> None:
    """Answer a slash command ephemerally through its response_url."""
    if not response_url:
        return
    if not trusted_response_url(settings, response_url):
        log.warning("refusing to post to a response_url outside Slack")
        return
    try:
        response = WebhookClient(response_url, timeout=RESPONSE_TIMEOUT_S).send(
            text=text, response_type="ephemeral"
        )
    except OSError as error:
        log.warning("response_url unreachable: %s", type(error).__name__)
        return
    if response.status_code >= 400:
        log.warning("response_url answered %s", response.status_code)


def trusted_response_url(settings: Settings, url: str) -> bool:
    # response_url arrives in a signed request, but it ends up in a job argument: only ever post to Slack
    # (or to the host SPRINTWINS_SLACK_API_URL points at, for proxies and tests).
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname == "hooks.slack.com":
        return True
    if settings.slack_api_url:
        api = urlsplit(settings.slack_api_url)
        return (parts.scheme, parts.netloc) == (api.scheme, api.netloc)
    return False
