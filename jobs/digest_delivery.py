"""Sending one stored digest row to Slack exactly once.

Exactly once, step by step (``deliver``):

1. The message is composed once and stored in a ``digests`` row, unique on (team, channel, period).
   A duplicated job finds the row and sends what it holds; it never composes a second message.
2. A sender *claims* the row (``pending`` → ``posting``, with a timestamp) before calling Slack, and
   posts with ``metadata`` naming the row. Only one sender can claim it; a second one, while the
   claim is young, steps back and lets RQ retry it later.
3. On success the ts is recorded (``posted``) with a ``slack_posts`` entry.
4. A sender that found the row ``posting`` with no live claim (its predecessor was killed, or lost
   the answer) first looks in the channel's recent history for the metadata. Found: record that
   ts and post nothing. Not found: post.

Errors that people must fix (``not_in_channel``, ``channel_not_found``) mark the row ``failed``,
note the error on the channel link and DM the person who linked it (once per new error). They do
not raise, so RQ does not retry them in a loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from integrations.slack import installation
from integrations.slack.poster import (
    ChannelUnavailable,
    PostError,
    PostOutcomeUnknown,
    PostRejected,
    SlackPoster,
    TokenLookup,
)
from jobs import runtime
from service.digests import posting
from service.digests.stored import stored_digest
from service.domain.digest_blocks import Digest, render_console
from service.domain.digest_notices import channel_error, linker_notice
from service.models import utcnow
from service.models.digests import DigestKind, DigestState, StoredDigest
from service.observability.metrics import count_slack_post

log = logging.getLogger(__name__)

DIGEST_EVENT_TYPE = "sprintwins_digest"
# How long a sender may hold a row before others assume it died. Longer than one post can take
# (timeout plus rate-limit waits), shorter than RQ's later retry intervals (60 s, 300 s).
CLAIM_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
# Slack stamps a message with its own clock; look a little before our row was made.
HISTORY_SLACK = timedelta(minutes=5)


class DigestInProgress(RuntimeError):
    """Another sender holds this digest, or Slack's answer was uncertain: RQ retries the job later."""


@dataclass(frozen=True, slots=True)
class PostOutcome:
    """What happened to one digest row: its state, the ts, the error, and the console rendering."""

    digest_id: int
    channel_id: str
    state: str
    ts: str | None = None
    error: str | None = None
    rendered: str | None = None
    recovered: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "digest_id": self.digest_id,
            "channel": self.channel_id,
            "state": self.state,
            "ts": self.ts,
            "error": self.error,
            "recovered": self.recovered,
        }


def deliver(rt: runtime.Runtime, digest_id: int, composed: Digest | None = None) -> PostOutcome:
    """Send the row unless it is settled; ``composed`` (this process's digest) is logged when rendered."""
    now = utcnow()
    claim = posting.claim_for_posting(
        rt.database, digest_id, now=now, lease=CLAIM_LEASE, max_attempts=MAX_ATTEMPTS
    )
    if isinstance(claim, posting.NotClaimed):
        if claim.state == DigestState.POSTING:
            raise DigestInProgress(f"digest {digest_id} is being sent by another worker")
        return _settled(rt, digest_id, composed)
    row = claim.digest
    with rt.database.sessions() as session:
        enterprise_id = posting.enterprise_of(session, row)
    poster = SlackPoster(rt.settings, _token_lookup(rt))
    try:
        if claim.maybe_sent:
            ts = poster.find_by_metadata(
                row.slack_team_id,
                row.channel_id,
                event_type=DIGEST_EVENT_TYPE,
                match={"digest_id": row.id},
                oldest=row.created_at - HISTORY_SLACK,
                enterprise_id=enterprise_id,
            )
            if ts is not None:
                _record_posted(rt, row, ts)
                count_slack_post(row.kind, "posted")  # by the attempt whose answer was lost
                log.info(
                    "digest %s was already in %s (ts %s): recorded, not reposted", row.id, row.channel_id, ts
                )
                return PostOutcome(row.id, row.channel_id, DigestState.POSTED.value, ts=ts, recovered=True)
    except (PostError, installation.SlackNotInstalled) as error:
        # Without the history we cannot know whether it was posted: never risk a duplicate here.
        return _after_failure(rt, row, error, maybe_sent=True, enterprise_id=enterprise_id)
    try:
        posted = poster.post_message(
            row.slack_team_id,
            row.channel_id,
            text=row.text,
            blocks=row.blocks or None,
            metadata={
                "event_type": DIGEST_EVENT_TYPE,
                "event_payload": {"digest_id": row.id, "period_key": row.period_key},
            },
            enterprise_id=enterprise_id,
        )
    except (PostError, installation.SlackNotInstalled) as error:
        return _after_failure(rt, row, error, maybe_sent=False, enterprise_id=enterprise_id)
    _record_posted(rt, row, posted.ts)
    count_slack_post(row.kind, "posted")
    return PostOutcome(row.id, row.channel_id, DigestState.POSTED.value, ts=posted.ts)


def _settled(rt: runtime.Runtime, digest_id: int, composed: Digest | None) -> PostOutcome:
    with rt.database.sessions() as session:
        row = stored_digest(session, digest_id)
        rendered = None
        if row.state == DigestState.RENDERED:
            digest = composed or Digest(text=row.text, blocks=list(row.blocks or []))
            rendered = render_console(digest)
            if composed is not None:
                log.info("digest for %s (%s):\n%s", row.channel_id, row.period_key, rendered)
        return PostOutcome(row.id, row.channel_id, row.state, ts=row.ts, error=row.error, rendered=rendered)


def _record_posted(rt: runtime.Runtime, row: StoredDigest, ts: str) -> None:
    now = utcnow()
    with rt.database.transaction() as session:
        posting.record_posted(session, row, row.channel_id, ts, now=now)


def _after_failure(
    rt: runtime.Runtime,
    row: StoredDigest,
    error: Exception,
    *,
    maybe_sent: bool,
    enterprise_id: str | None,
) -> PostOutcome:
    text = str(error) if isinstance(error, PostError) else f"{type(error).__name__}: {error}"
    count_slack_post(row.kind, "failed")  # every failed attempt, retried by RQ or not
    if isinstance(error, ChannelUnavailable):
        return _channel_unavailable(rt, row, error, enterprise_id)
    retryable = isinstance(error, PostOutcomeUnknown) or (isinstance(error, PostRejected) and error.retryable)
    if retryable:
        with rt.database.transaction() as session:
            posting.release(
                session, row.id, maybe_sent=maybe_sent or isinstance(error, PostOutcomeUnknown), error=text
            )
        raise DigestInProgress(f"digest {row.id} not confirmed ({text}); RQ will retry") from error
    # Not installed, token revoked, a missing scope, a malformed message: retrying cannot help.
    if maybe_sent:
        text = f"could not check whether it was already posted, so it was not posted again ({text})"
    with rt.database.transaction() as session:
        posting.mark_failed(session, row.id, text)
    log.error("digest %s to %s failed: %s", row.id, row.channel_id, text)
    return PostOutcome(row.id, row.channel_id, DigestState.FAILED.value, error=text)


def _channel_unavailable(
    rt: runtime.Runtime, row: StoredDigest, error: ChannelUnavailable, enterprise_id: str | None
) -> PostOutcome:
    text = channel_error(error.code)
    with rt.database.transaction() as session:
        problem = posting.mark_channel_unavailable(session, row, text)
    log.warning("digest %s to %s failed: %s", row.id, row.channel_id, text)
    if problem.notify_user_id:
        notice = linker_notice(
            error.code, row.channel_id, problem.team_name, sprint_end=row.kind == DigestKind.SPRINT_END
        )
        try:
            SlackPoster(rt.settings, _token_lookup(rt)).direct_message(
                row.slack_team_id, problem.notify_user_id, notice, enterprise_id=enterprise_id
            )
        except (PostError, installation.SlackNotInstalled) as dm_error:
            log.warning("could not DM %s about digest %s: %s", problem.notify_user_id, row.id, dm_error)
    return PostOutcome(row.id, row.channel_id, DigestState.FAILED.value, error=text)


def _token_lookup(rt: runtime.Runtime) -> TokenLookup:
    def token_for(slack_team_id: str | None, enterprise_id: str | None) -> str:
        return installation.bot_token_for(rt.settings, rt.database.engine, slack_team_id, enterprise_id)

    return token_for
