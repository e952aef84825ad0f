"""The Slack stand-in's messages, exercised through the real `slack_sdk.WebClient` over real HTTP.

Posting, rate limits, injected server errors, updates and permalinks, DMs, ephemerals, views,
and the stand-in's own reset and shutdown.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from tests.standins.slack_api import SlackStandIn
from tests.standins.slack_clients import BOT_TOKEN, client_for


class FakeClock:
    """A clock the test moves by hand, so rate-limit decisions are deterministic."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_post_message_is_recorded_with_ts_channel_and_parsed_blocks(slack_standin: SlackStandIn) -> None:
    client = client_for(slack_standin)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Shipped* search"}}]

    response = client.chat_postMessage(channel="C0WINS", text="Shipped search", blocks=blocks)

    assert response["ok"] is True
    assert response["channel"] == "C0WINS"
    [message] = slack_standin.messages("C0WINS")
    assert message["ts"] == response["ts"]
    assert message["text"] == "Shipped search"
    assert message["blocks"] == blocks
    assert message["thread_ts"] is None
    [call] = slack_standin.calls_to("chat.postMessage")
    assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"


def test_form_encoded_blocks_are_parsed_like_json_ones(slack_standin: SlackStandIn) -> None:
    # api_call with `params` sends a form body, where blocks travel as a JSON string.
    client = client_for(slack_standin)
    client.api_call(
        "chat.postMessage",
        params={"channel": "C1", "text": "hi", "blocks": '[{"type": "divider"}]', "thread_ts": "1.000100"},
    )

    [message] = slack_standin.messages()
    assert message["blocks"] == [{"type": "divider"}]
    assert message["thread_ts"] == "1.000100"


def test_timestamps_are_unique_and_increasing(slack_standin: SlackStandIn) -> None:
    slack_standin.rate_per_channel_per_s = None
    client = client_for(slack_standin)

    stamps = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(20)]

    assert len(set(stamps)) == 20
    assert [float(ts) for ts in stamps] == sorted(float(ts) for ts in stamps)
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def test_second_post_within_a_second_is_rejected_with_429_and_retry_after(
    slack_standin: SlackStandIn,
) -> None:
    client = client_for(slack_standin)
    client.chat_postMessage(channel="C0WINS", text="first")

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0WINS", text="second")

    assert raised.value.response.status_code == 429
    assert raised.value.response["error"] == "ratelimited"
    assert int(raised.value.response.headers["Retry-After"]) >= 1
    assert slack_standin.accepted_count() == 1
    assert slack_standin.rejected_429_count() == 1


def test_rate_limit_retry_handler_gets_both_posts_through_a_second_apart(slack_standin: SlackStandIn) -> None:
    client = client_for(slack_standin, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])

    client.chat_postMessage(channel="C0WINS", text="first")
    client.chat_postMessage(channel="C0WINS", text="second")

    first, second = slack_standin.messages("C0WINS")
    assert [first["text"], second["text"]] == ["first", "second"]
    assert second["accepted_at"] - first["accepted_at"] >= 0.99
    assert slack_standin.rejected_429_count() == 1


def test_channels_are_limited_independently(slack_standin: SlackStandIn) -> None:
    client = client_for(slack_standin)

    for channel in ("C1", "C2", "C3"):
        client.chat_postMessage(channel=channel, text="hello")

    assert slack_standin.accepted_count() == 3
    assert slack_standin.rejected_429_count() == 0


@pytest.mark.parametrize(
    ("post_times", "expected_accepted"),
    [
        ([0.0, 0.5, 1.0, 1.7, 2.0], [True, False, True, False, True]),
        ([0.0, 0.999, 1.0], [True, False, True]),
        ([0.0, 5.0, 5.2, 10.0], [True, True, False, True]),
    ],
)
def test_next_allowed_time_per_channel(post_times: list[float], expected_accepted: list[bool]) -> None:
    clock = FakeClock()
    with SlackStandIn(clock=clock) as standin:
        client = client_for(standin)
        accepted = []
        for offset in post_times:
            clock.now = 1000.0 + offset
            try:
                client.chat_postMessage(channel="C1", text="x")
                accepted.append(True)
            except SlackApiError as error:
                assert error.response.status_code == 429
                accepted.append(False)
    assert accepted == expected_accepted


@settings(max_examples=25, deadline=None)
@given(
    rate=st.sampled_from([0.5, 1.0, 2.0]),
    gaps=st.lists(st.floats(min_value=0.0, max_value=3.0), min_size=1, max_size=8),
)
def test_accepted_posts_are_never_closer_than_the_rate_allows(rate: float, gaps: list[float]) -> None:
    clock = FakeClock()
    with SlackStandIn(clock=clock, rate_per_channel_per_s=rate) as standin:
        client = client_for(standin)
        for gap in gaps:
            clock.now += gap
            try:
                client.chat_postMessage(channel="C1", text="x")
            except SlackApiError as error:
                assert int(error.response.headers["Retry-After"]) >= 1
        accepted_at = [m["accepted_at"] for m in standin.messages("C1")]
        assert standin.accepted_count() + standin.rejected_429_count() == len(gaps)
    assert all(later - earlier >= 1.0 / rate for earlier, later in itertools.pairwise(accepted_at))


@pytest.mark.parametrize(
    ("configure", "expected_error"),
    [
        (lambda s: s.missing_channels.add("C0GONE"), "channel_not_found"),
        (lambda s: s.not_in_channels.add("C0GONE"), "not_in_channel"),
    ],
)
def test_channel_errors(
    slack_standin: SlackStandIn, configure: Callable[[SlackStandIn], None], expected_error: str
) -> None:
    configure(slack_standin)
    client = client_for(slack_standin)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0GONE", text="hello")

    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == expected_error
    assert slack_standin.accepted_count() == 0


def test_server_errors_are_retried_by_the_server_error_handler(slack_standin: SlackStandIn) -> None:
    slack_standin.fail_next("chat.postMessage", status=500, times=2)
    handler = ServerErrorRetryHandler(
        max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(fixed_internal=0.01)
    )
    client = client_for(slack_standin, retry_handlers=[handler])

    response = client.chat_postMessage(channel="C1", text="after two failures")

    assert response["ok"] is True
    assert len(slack_standin.calls_to("chat.postMessage")) == 3
    assert slack_standin.accepted_count() == 1


def test_server_errors_surface_without_a_retry_handler(slack_standin: SlackStandIn) -> None:
    slack_standin.fail_next("chat.postMessage", status=503)

    with pytest.raises(SlackApiError) as raised:
        client_for(slack_standin).chat_postMessage(channel="C1", text="x")

    assert raised.value.response.status_code == 503
    # The fault is consumed: the next call goes through.
    assert client_for(slack_standin).chat_postMessage(channel="C1", text="x")["ok"] is True


def test_update_and_permalink_refer_to_the_posted_message(slack_standin: SlackStandIn) -> None:
    client = client_for(slack_standin)
    ts = client.chat_postMessage(channel="C1", text="draft")["ts"]

    client.chat_update(channel="C1", ts=ts, text="final")
    permalink = client.chat_getPermalink(channel="C1", message_ts=ts)["permalink"]

    assert slack_standin.messages("C1")[0]["text"] == "final"
    assert permalink == f"https://sprintwinstest.slack.com/archives/C1/p{ts.replace('.', '')}"
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C1", ts="1.000000", text="nope")
    assert raised.value.response["error"] == "message_not_found"


def test_direct_messages_go_to_the_dm_channel_conversations_open_returns(slack_standin: SlackStandIn) -> None:
    client = client_for(slack_standin)

    dm = client.conversations_open(users="U0ADA")["channel"]["id"]
    posted = client.chat_postMessage(channel="U0ADA", text="you shipped it")

    assert dm.startswith("D")
    assert posted["channel"] == dm
    assert slack_standin.messages(dm)[0]["text"] == "you shipped it"


def test_ephemeral_messages_and_conversation_membership(slack_standin: SlackStandIn) -> None:
    slack_standin.not_in_channels.add("C0OUT")
    client = client_for(slack_standin)

    client.chat_postEphemeral(channel="C1", user="U0ADA", text="only you")

    assert slack_standin.ephemeral_messages("C1")[0]["user"] == "U0ADA"
    assert slack_standin.accepted_count() == 0
    assert client.conversations_info(channel="C1")["channel"]["is_member"] is True
    assert client.conversations_info(channel="C0OUT")["channel"]["is_member"] is False


def test_views_publish_open_and_update(slack_standin: SlackStandIn) -> None:
    client = client_for(slack_standin)
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Wins"}, "blocks": []}

    client.views_publish(user_id="U0ADA", view=home)
    view_id = client.views_open(trigger_id="123.456", view=modal)["view"]["id"]
    client.views_update(view_id=view_id, view={**modal, "blocks": [{"type": "divider"}]})

    assert slack_standin.published_views()["U0ADA"]["blocks"] == home["blocks"]
    assert slack_standin.opened_views()[0]["blocks"] == [{"type": "divider"}]
    with pytest.raises(SlackApiError) as raised:
        client.views_update(view_id="V0MISSING", view=modal)
    assert raised.value.response["error"] == "not_found"


def test_reset_forgets_traffic_and_rate_limit_windows(slack_standin: SlackStandIn) -> None:
    client = client_for(slack_standin)
    client.chat_postMessage(channel="C1", text="x")

    slack_standin.reset()
    started = time.monotonic()
    client.chat_postMessage(channel="C1", text="y")

    assert time.monotonic() - started < 0.9
    assert [m["text"] for m in slack_standin.messages()] == ["y"]
    assert len(slack_standin.calls) == 1


def test_stop_releases_the_port() -> None:
    standin = SlackStandIn().start()
    url = standin.url
    standin.stop()

    with pytest.raises(RuntimeError):
        _ = standin.url
    with pytest.raises(Exception):  # noqa: B017 - any connection failure proves the port is closed
        WebClient(token=BOT_TOKEN, base_url=url + "/api/", timeout=1, retry_handlers=[]).auth_test()
