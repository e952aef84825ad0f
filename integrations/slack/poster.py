"""The one Slack poster: every message Sprint Wins sends to a channel or a person goes through here.

It is built on slack_sdk's ``WebClient`` with ``RateLimitErrorRetryHandler`` (a 429 means nothing
was posted, so waiting ``Retry-After`` and trying again is always safe) and ``ServerErrorRetryHandler``.
Connection errors are deliberately *not* retried inside the client: a post whose response was lost
may have been accepted, so the caller gets :class:`PostOutcomeUnknown` and decides, with the message
``metadata`` and ``conversations.history``, whether to post again (see ``jobs.digest_delivery``).

Slack accepts about one message per second per channel. :class:`ChannelPacer` spaces this process's
posts to a channel accordingly, so a burst of digests waits its turn instead of collecting 429s
(each costs ``Retry-After`` plus up to a second of the SDK's jitter); the retry handler remains the
backstop when several processes post to one channel.

Messages are sent as given: the composers escape user text (``service.domain.mrkdwn``), and
``link_names`` is never set, so a title such as ``<!channel>`` or ``@here`` pings no one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

from integrations.slack.installation import api_base_url
from service.observability.metrics import count_slack_rate_limited, count_slack_retry
from service.settings import Settings

log = logging.getLogger(__name__)

# (slack_team_id, enterprise_id) -> bot token; raises installation.SlackNotInstalled when there is none.
TokenLookup = Callable[[str | None, str | None], str]

CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
# Slack answered and nothing was posted, but trying later may work.
TRANSIENT_ERRORS = frozenset({"ratelimited", "request_timeout", "service_unavailable", "team_added_to_org"})
# Slack's own words for these: "some aspect of the operation may have succeeded".
UNCERTAIN_ERRORS = frozenset({"fatal_error", "internal_error"})
HISTORY_PAGE_SIZE = 200
HISTORY_MAX_PAGES = 5
REQUEST_TIMEOUT_S = 15


class PostError(Exception):
    """Slack did not take a message. ``code`` is Slack's error code (or the exception's name)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


class ChannelUnavailable(PostError):
    """The bot is not in the channel, or the channel is gone: retrying cannot help until a person acts."""


class PostRejected(PostError):
    """Slack answered and nothing was posted; ``retryable`` says whether trying later may work."""

    def __init__(self, code: str, detail: str = "", *, retryable: bool) -> None:
        super().__init__(code, detail)
        self.retryable = retryable


class PostOutcomeUnknown(PostError):
    """The request may or may not have been accepted (lost connection, timeout, server error)."""


@dataclass(frozen=True, slots=True)
class Posted:
    channel: str
    ts: str


@dataclass(frozen=True, slots=True)
class FileSent:
    """A file in a person's DM: ``already`` when an earlier attempt had sent it (nothing sent now)."""

    channel: str
    already: bool


class ChannelPacer:
    """Spaces this process's posts to one channel at least ``interval_s`` apart.

    The slot is measured from the *end* of the previous post: Slack stamps a message somewhere
    between request and response, so the next request, sent ``interval_s`` after the response,
    always lands after Slack's window has reopened.
    """

    def __init__(
        self,
        interval_s: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._sleep = sleep
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last_done: dict[str, float] = {}

    @contextmanager
    def slot(self, channel_key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(channel_key, threading.Lock())
        with lock:
            last = self._last_done.get(channel_key)
            if last is not None:
                wait = last + self.interval_s - self._clock()
                if wait > 0:
                    self._sleep(wait)
            try:
                yield
            finally:
                self._last_done[channel_key] = self._clock()


_shared_pacer: ChannelPacer | None = None
_shared_pacer_lock = threading.Lock()


def shared_pacer() -> ChannelPacer:
    """The process-wide pacer: Slack's limit is per channel, whichever token or job posts."""
    global _shared_pacer
    with _shared_pacer_lock:
        if _shared_pacer is None:
            _shared_pacer = ChannelPacer()
        return _shared_pacer


class SlackPoster:
    """Posts messages and direct messages, and finds our own messages again by their metadata."""

    def __init__(
        self,
        settings: Settings,
        token_for: TokenLookup,
        *,
        pacer: ChannelPacer | None = None,
        rate_limit_retries: int = 5,
        server_error_retries: int = 2,
    ) -> None:
        self.base_url = api_base_url(settings)
        self.token_for = token_for
        self.pacer = pacer or shared_pacer()
        self.rate_limit_retries = rate_limit_retries
        self.server_error_retries = server_error_retries
        self._clients: dict[str, WebClient] = {}
        self._clients_lock = threading.Lock()

    def client(self, slack_team_id: str | None, enterprise_id: str | None = None) -> WebClient:
        token = self.token_for(slack_team_id, enterprise_id)
        with self._clients_lock:
            client = self._clients.get(token)
            if client is None:
                client = WebClient(
                    token=token,
                    base_url=self.base_url,
                    timeout=REQUEST_TIMEOUT_S,
                    retry_handlers=[
                        _CountedRateLimitRetries(max_retry_count=self.rate_limit_retries),
                        _CountedServerErrorRetries(max_retry_count=self.server_error_retries),
                    ],
                )
                self._clients[token] = client
        return client

    def post_message(
        self,
        slack_team_id: str | None,
        channel: str,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        metadata: Mapping[str, Any] | None = None,
        enterprise_id: str | None = None,
    ) -> Posted:
        """Post to a channel (or a user id, for a DM); raises a :class:`PostError` subclass."""
        client = self.client(slack_team_id, enterprise_id)
        with self.pacer.slot(f"{slack_team_id}:{channel}"):
            response = _call(
                lambda: client.chat_postMessage(
                    channel=channel,
                    text=text,
                    blocks=blocks,
                    metadata=dict(metadata) if metadata else None,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            )
        return Posted(channel=str(response["channel"]), ts=str(response["ts"]))

    def direct_message(
        self, slack_team_id: str | None, user_id: str, text: str, *, enterprise_id: str | None = None
    ) -> Posted:
        client = self.client(slack_team_id, enterprise_id)
        opened = _call(lambda: client.conversations_open(users=user_id))
        return self.post_message(
            slack_team_id, str(opened["channel"]["id"]), text=text, enterprise_id=enterprise_id
        )

    def send_file_to_person(
        self,
        slack_team_id: str | None,
        user_id: str,
        *,
        filename: str,
        content: str,
        title: str,
        comment: str,
        since: datetime,
        enterprise_id: str | None = None,
    ) -> FileSent:
        """Upload ``content`` as a file into the person's DM (``files.uploadV2``), once per ``filename``.

        The name is the request's own: before uploading, the DM's history since ``since`` is searched
        for a file of that name, so a retried job whose upload went through sends nothing again. When
        the history cannot be read (an install without ``im:history``) the file is sent: a second copy
        of a person's own data to themselves is better than none.
        """
        client = self.client(slack_team_id, enterprise_id)
        opened = _call(lambda: client.conversations_open(users=user_id))
        channel = str(opened["channel"]["id"])
        try:
            if self._file_in_history(client, channel, filename, since):
                return FileSent(channel, already=True)
        except PostRejected as error:
            log.warning("could not read the DM's history before sending a file: %s", error.code)
        with self.pacer.slot(f"{slack_team_id}:{channel}"):
            _call(
                lambda: client.files_upload_v2(
                    channel=channel,
                    content=content,
                    filename=filename,
                    title=title,
                    initial_comment=comment,
                )
            )
        return FileSent(channel, already=False)

    @staticmethod
    def _file_in_history(client: WebClient, channel: str, filename: str, since: datetime) -> bool:
        cursor: str | None = None
        for _ in range(HISTORY_MAX_PAGES):
            page = _call(
                partial(
                    client.conversations_history,
                    channel=channel,
                    oldest=f"{since.timestamp():.6f}",
                    limit=HISTORY_PAGE_SIZE,
                    cursor=cursor,
                )
            )
            for message in page.get("messages") or []:
                if any(f.get("name") == filename for f in message.get("files") or []):
                    return True
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or not cursor:
                return False
        return False

    def find_by_metadata(
        self,
        slack_team_id: str | None,
        channel: str,
        *,
        event_type: str,
        match: Mapping[str, Any],
        oldest: datetime,
        enterprise_id: str | None = None,
    ) -> str | None:
        """The ts of a message in ``channel`` since ``oldest`` whose metadata carries ``match``."""
        client = self.client(slack_team_id, enterprise_id)
        wanted = {key: str(value) for key, value in match.items()}
        cursor: str | None = None
        for _ in range(HISTORY_MAX_PAGES):
            page = _call(
                partial(
                    client.conversations_history,
                    channel=channel,
                    oldest=f"{oldest.timestamp():.6f}",
                    include_all_metadata=True,
                    limit=HISTORY_PAGE_SIZE,
                    cursor=cursor,
                )
            )
            for message in page.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if meta.get("event_type") == event_type and all(
                    str(payload.get(key)) == value for key, value in wanted.items()
                ):
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or not cursor:
                return None
        log.warning("gave up looking for %s in %s after %d pages", event_type, channel, HISTORY_MAX_PAGES)
        return None


# -- replies to one person, with a client the caller already holds ------------------------------------------


def post_ephemeral(
    client: WebClient, channel_id: str, user_id: str, text: str, *, dm_if_refused: bool = True
) -> None:
    """Show ``text`` to one person in a channel; if Slack refuses, a DM (unless ``dm_if_refused`` is off).

    Best effort: a reply that cannot be delivered is logged, never raised.
    """
    try:
        client.chat_postEphemeral(channel=channel_id, user=user_id, text=text)
    except SlackApiError as error:
        if not dm_if_refused:
            log.warning("could not reply to a user: %s", error.response.get("error"))
            return
        # The bot may not be in the channel: a DM reaches the person anywhere.
        log.info("ephemeral reply failed (%s); sending a DM", error.response.get("error"))
        try:
            client.chat_postMessage(channel=user_id, text=text)
        except SlackApiError as dm_error:
            log.warning("could not reply to a user: %s", dm_error.response.get("error"))


def permalink(client: WebClient, channel_id: str, message_ts: str) -> str | None:
    """A message's permalink, or None when Slack will not give one."""
    try:
        found: str | None = client.chat_getPermalink(channel=channel_id, message_ts=message_ts)["permalink"]
        return found
    except SlackApiError as error:
        log.warning("no permalink for a celebrated message: %s", error.response.get("error"))
        return None


class _CountedRateLimitRetries(RateLimitErrorRetryHandler):
    """slack_sdk's rate-limit retries, each one counted (a 429 and a retry) before it waits."""

    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        count_slack_retry("rate_limited")
        super().prepare_for_next_attempt(**kwargs)


class _CountedServerErrorRetries(ServerErrorRetryHandler):
    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        count_slack_retry("server_error")
        super().prepare_for_next_attempt(**kwargs)


def _call(request: Callable[[], Any]) -> Any:
    """Run one Web API call and translate its failure into our error types."""
    try:
        return request()
    except SlackApiError as error:
        raise _classify(error) from error
    except OSError as error:  # URLError, timeouts, resets: the request may have been accepted
        raise PostOutcomeUnknown(type(error).__name__, str(error)) from error
    except SlackRequestError as error:  # a file's upload URL refused it: nothing was shared
        raise PostRejected("upload_failed", str(error)[:200], retryable=True) from error


def _classify(error: SlackApiError) -> PostError:
    status = getattr(error.response, "status_code", 200)
    code = str(error.response.get("error") or f"http_{status}")
    if status == 429:
        count_slack_rate_limited()  # the last 429, after the retries (each retried one is counted there)
    if status == 429 or code in TRANSIENT_ERRORS:
        return PostRejected(code, "Slack rate limit or temporary refusal", retryable=True)
    if status >= 500 or code in UNCERTAIN_ERRORS:
        return PostOutcomeUnknown(code, f"HTTP {status}")
    if code in CHANNEL_ERRORS:
        return ChannelUnavailable(code)
    needed = error.response.get("needed")
    return PostRejected(code, f"needs scope {needed}" if needed else "", retryable=False)
