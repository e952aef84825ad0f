"""Posting under Slack's one-message-per-second-per-channel limit, through the real WebClient."""

from __future__ import annotations

import itertools
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from integrations.slack.poster import ChannelPacer, ChannelUnavailable, PostRejected, SlackPoster
from service.settings import Settings
from tests.standins.slack_api import SlackStandIn


def _poster(standin: SlackStandIn, pacer: ChannelPacer) -> SlackPoster:
    settings = Settings.from_env({}, slack_api_url=standin.url + "/api/")
    return SlackPoster(settings, lambda team, enterprise: "xoxb-rate-test", pacer=pacer)


def test_429s_are_waited_out_and_every_message_is_delivered(standin: SlackStandIn) -> None:
    poster = _poster(standin, ChannelPacer(interval_s=0))  # no pacing: only the retry handler helps

    sent = [poster.post_message("T1", "C0BUSY", text=f"message {n}") for n in range(3)]

    delivered = standin.messages("C0BUSY")
    assert [m["ts"] for m in delivered] == [p.ts for p in sent]
    assert standin.rejected_429_count() >= 2
    gaps = [b["accepted_at"] - a["accepted_at"] for a, b in itertools.pairwise(delivered)]
    assert all(gap >= 1.0 for gap in gaps)


def test_pacing_spaces_posts_so_slack_never_answers_429(standin: SlackStandIn) -> None:
    poster = _poster(standin, ChannelPacer(interval_s=1.0))
    started = time.monotonic()

    for n in range(3):
        poster.post_message("T1", "C0CALM", text=f"message {n}")
        poster.post_message("T1", f"C0OTHER{n}", text="other channels are not held up")

    assert standin.rejected_429_count() == 0
    assert len(standin.messages("C0CALM")) == 3
    assert 2.0 <= time.monotonic() - started < 3.0


def test_the_default_client_loses_rate_limited_messages(standin: SlackStandIn) -> None:
    # The baseline the poster is measured against: a WebClient with no rate-limit handler.
    client = WebClient(token="xoxb-rate-test", base_url=standin.url + "/api/")
    client.chat_postMessage(channel="C0LOSSY", text="first")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0LOSSY", text="second")
    assert raised.value.response.status_code == 429
    assert len(standin.messages("C0LOSSY")) == 1


@pytest.mark.parametrize(
    ("configure", "expected", "retryable"),
    [
        (lambda s: s.not_in_channels.add("C0X"), ChannelUnavailable, None),
        (lambda s: s.missing_channels.add("C0X"), ChannelUnavailable, None),
        (lambda s: s.revoked_tokens.add("xoxb-rate-test"), PostRejected, False),
    ],
)
def test_errors_are_classified(standin: SlackStandIn, configure, expected, retryable) -> None:
    configure(standin)
    with pytest.raises(expected) as raised:
        _poster(standin, ChannelPacer(interval_s=0)).post_message("T1", "C0X", text="hi")
    if retryable is not None:
        assert raised.value.retryable is retryable
