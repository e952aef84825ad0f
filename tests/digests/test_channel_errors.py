"""A channel we cannot post to is a clear error, a DM to whoever linked it, and no retry loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from jobs import digests as digest_jobs
from service.models import ChannelLink
from service.models.digests import StoredDigest
from service.web.extensions import runtime_of
from tests.digests.conftest import LINKER, Seed
from tests.standins.slack_api import SlackStandIn

START = datetime(2026, 11, 23, tzinfo=UTC)


def _post(team_id: int, link_id: int, day: int) -> dict[str, object]:
    start = START + timedelta(days=day)
    return digest_jobs.post_digest(
        team_id,
        link_id,
        f"daily:2026-11-{23 + day}",
        start.isoformat(),
        (start + timedelta(days=1)).isoformat(),
        "Since yesterday",
        True,
    )


def _link(app: Flask) -> ChannelLink:
    with runtime_of(app).database.sessions() as session:
        return session.scalars(select(ChannelLink)).one()


@pytest.mark.parametrize(
    ("error", "configure", "dm_says"),
    [
        ("not_in_channel", lambda s: s.not_in_channels.add("C0WINS"), "/invite @Sprint Wins"),
        ("channel_not_found", lambda s: s.missing_channels.add("C0WINS"), "I can't find <#C0WINS>"),
    ],
)
def test_channel_errors_fail_the_digest_note_the_link_and_dm_the_linker_once(
    slack_app: Flask, seed: Seed, standin: SlackStandIn, error: str, configure, dm_says: str
) -> None:
    team_id = seed.team(name="Payments & <Co>")
    seed.win(team_id, "Shipped search", START + timedelta(hours=3))
    link_id = seed.link(team_id)
    configure(standin)

    first = _post(team_id, link_id, 0)  # returns: no exception, so RQ does not retry it
    second = _post(team_id, link_id, 1)

    assert first["state"] == second["state"] == "failed"
    assert str(first["error"]).startswith(f"{error}: ")
    assert _link(slack_app).last_error == first["error"]
    assert standin.messages("C0WINS") == []
    [opened] = standin.calls_to("conversations.open")
    assert opened.params["users"] == LINKER
    [dm] = standin.messages("D0LINKER")  # one DM for the problem, not one per period
    assert dm_says in dm["text"] and "*Payments &amp; &lt;Co&gt;*" in dm["text"]
    with runtime_of(slack_app).database.sessions() as session:
        rows = list(session.scalars(select(StoredDigest).order_by(StoredDigest.id)))
    assert [(r.state, r.attempts) for r in rows] == [("failed", 1), ("failed", 1)]
    assert len(standin.calls_to("chat.postMessage")) == 3  # two refused digests and the DM

    # Once someone fixes the channel, the next period is posted and the error is cleared.
    standin.not_in_channels.clear()
    standin.missing_channels.clear()
    assert _post(team_id, link_id, 2)["state"] == "posted"
    assert _link(slack_app).last_error is None
    # The failed ones stay failed: a retried job does not post them late.
    assert _post(team_id, link_id, 0)["state"] == "failed"
    assert len(standin.messages("C0WINS")) == 1


def test_a_revoked_token_fails_without_a_retry_loop(
    slack_app: Flask, seed: Seed, standin: SlackStandIn
) -> None:
    team_id = seed.team()
    link_id = seed.link(team_id)
    standin.revoked_tokens.add("xoxb-111-222-standinbot")

    result = _post(team_id, link_id, 0)

    assert result["state"] == "failed" and str(result["error"]).startswith("token_revoked")
    assert _post(team_id, link_id, 0)["state"] == "failed"
    assert len(standin.calls_to("chat.postMessage")) == 1
