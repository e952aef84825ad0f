"""Each digest is posted exactly once: under retries, duplicates, crashes and uncertain answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from jobs import digests as digest_jobs
from service.models import SlackPost
from service.models.digests import StoredDigest
from service.web.extensions import runtime_of
from tests.digests.conftest import BOT_TOKEN, SIGNING_SECRET, Seed
from tests.jobs.helpers import run_jobs
from tests.standins.slack_api import SlackStandIn

WEEK_START = datetime(2026, 11, 23, tzinfo=UTC)
WEEK_END = datetime(2026, 11, 27, 16, tzinfo=UTC)


def _digest_args(team_id: int, link_id: int, key: str = "weekly:2026-W48") -> tuple[Any, ...]:
    return (team_id, link_id, key, WEEK_START.isoformat(), WEEK_END.isoformat(), "This week")


def _linked_team_with_wins(seed: Seed) -> tuple[int, int]:
    team_id = seed.team()
    alice = seed.member("Alice", "U0ALICE")
    seed.win(
        team_id,
        "<!channel> fixed the login & the <b>logout</b>",
        WEEK_START + timedelta(days=1),
        member_id=alice,
        points=5,
    )
    seed.win(team_id, "Shipped search", WEEK_START + timedelta(days=2), member_id=alice, points=3)
    return team_id, seed.link(team_id)


def _rows(app: Flask) -> list[StoredDigest]:
    with runtime_of(app).database.sessions() as session:
        return list(session.scalars(select(StoredDigest).order_by(StoredDigest.id)))


def _posts(app: Flask) -> list[SlackPost]:
    with runtime_of(app).database.sessions() as session:
        return list(session.scalars(select(SlackPost)))


def test_a_retried_job_posts_once_and_records_the_post(
    slack_app: Flask, seed: Seed, standin: SlackStandIn
) -> None:
    team_id, link_id = _linked_team_with_wins(seed)

    first = digest_jobs.post_digest(*_digest_args(team_id, link_id))
    again = digest_jobs.post_digest(*_digest_args(team_id, link_id))

    [message] = standin.messages("C0WINS")
    assert first["state"] == again["state"] == "posted"
    assert first["ts"] == again["ts"] == message["ts"]
    [row] = _rows(slack_app)
    assert (row.state, row.ts, row.attempts, row.period_key) == (
        "posted",
        message["ts"],
        1,
        "weekly:2026-W48",
    )
    assert message["metadata"] == {
        "event_type": "sprintwins_digest",
        "event_payload": {"digest_id": row.id, "period_key": "weekly:2026-W48"},
    }
    [post] = _posts(slack_app)
    assert (post.channel_id, post.ts, post.digest_id, post.win_id) == ("C0WINS", message["ts"], row.id, None)


def test_user_text_is_escaped_and_never_pings(slack_app: Flask, seed: Seed, standin: SlackStandIn) -> None:
    team_id, link_id = _linked_team_with_wins(seed)

    digest_jobs.post_digest(*_digest_args(team_id, link_id))

    [message] = standin.messages("C0WINS")
    blocks = json.dumps(message["blocks"])
    for shown in (message["text"], blocks):
        assert "<!channel>" not in shown and "<b>" not in shown
        assert "&lt;!channel&gt; fixed the login &amp; the &lt;b&gt;logout&lt;/b&gt;" in shown
    assert "<@U0ALICE>" in blocks  # our own mention markup is kept
    [call] = standin.calls_to("chat.postMessage")
    assert "link_names" not in call.params


def test_a_duplicate_enqueue_is_refused_by_job_id(
    make_app: Callable[..., Flask], standin: SlackStandIn, redis_url: str
) -> None:
    app = make_app(
        "postgres",
        redis=redis_url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=standin.url + "/api/",
    )
    seed = Seed(app)
    team_id, link_id = _linked_team_with_wins(seed)
    queue = runtime_of(app).queue
    job_id = digest_jobs.digest_job_id(team_id, "C0WINS", "weekly:2026-W48")

    assert queue.enqueue_unique(digest_jobs.post_digest, *_digest_args(team_id, link_id), job_id=job_id)
    assert not queue.enqueue_unique(digest_jobs.post_digest, *_digest_args(team_id, link_id), job_id=job_id)
    # A duplicate that slips past the job id (another id, same period) still finds the row.
    queue.enqueue(digest_jobs.post_digest, *_digest_args(team_id, link_id), job_id="stray-duplicate")
    run_jobs(app)

    assert len(standin.messages("C0WINS")) == 1
    assert [r.state for r in _rows(app)] == ["posted"]


def test_concurrent_senders_post_once_on_postgres(
    make_app: Callable[..., Flask], standin: SlackStandIn
) -> None:
    app = make_app(
        "postgres",
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=standin.url + "/api/",
    )
    team_id, link_id = _linked_team_with_wins(Seed(app))
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def send() -> None:
        start.wait()
        try:
            outcomes.append(digest_jobs.post_digest(*_digest_args(team_id, link_id))["state"])
        except digest_jobs.DigestInProgress:
            outcomes.append("in_progress")

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(standin.messages("C0WINS")) == 1
    assert "posted" in outcomes and set(outcomes) <= {"posted", "in_progress"}
    assert [r.attempts for r in _rows(app)] == [1]


def test_a_crash_between_posting_and_recording_is_recovered_without_reposting(
    slack_app: Flask, seed: Seed, standin: SlackStandIn
) -> None:
    team_id, link_id = _linked_team_with_wins(seed)
    database = runtime_of(slack_app).database
    # The worker dies after Slack accepted the post, before the database heard of it.
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER worker_killed BEFORE UPDATE OF state ON digests WHEN NEW.state = 'posted' "
                "BEGIN SELECT RAISE(ABORT, 'worker killed'); END"
            )
        )
    with pytest.raises(Exception, match="worker killed"):
        digest_jobs.post_digest(*_digest_args(team_id, link_id))
    with database.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER worker_killed"))
    [message] = standin.messages("C0WINS")
    [row] = _rows(slack_app)
    assert (row.state, row.ts) == ("posting", None)

    # While the dead worker's claim is young, a retry steps back rather than guess.
    with pytest.raises(digest_jobs.DigestInProgress):
        digest_jobs.post_digest(*_digest_args(team_id, link_id))
    with database.transaction() as session:
        session.execute(update(StoredDigest).values(claimed_at=datetime.now(UTC) - timedelta(minutes=3)))

    result = digest_jobs.post_digest(*_digest_args(team_id, link_id))

    assert result == {**result, "state": "posted", "ts": message["ts"], "recovered": True}
    assert len(standin.messages("C0WINS")) == 1
    [history] = standin.calls_to("conversations.history")
    assert history.params["channel"] == "C0WINS" and history.params["include_all_metadata"] in {"1", "true"}
    [row] = _rows(slack_app)
    assert (row.state, row.ts) == ("posted", message["ts"])
    assert [p.ts for p in _posts(slack_app)] == [message["ts"]]


def test_an_uncertain_answer_is_checked_in_history_then_posted_once(
    slack_app: Flask, seed: Seed, standin: SlackStandIn
) -> None:
    team_id, link_id = _linked_team_with_wins(seed)
    standin.fail_next("chat.postMessage", 500, times=3)  # more than the server-error retries

    with pytest.raises(digest_jobs.DigestInProgress):
        digest_jobs.post_digest(*_digest_args(team_id, link_id))
    [row] = _rows(slack_app)
    assert row.state == "posting" and row.claimed_at is None and row.error == "fatal_error: HTTP 500"

    result = digest_jobs.post_digest(*_digest_args(team_id, link_id))

    assert result["state"] == "posted" and not result["recovered"]
    assert len(standin.messages("C0WINS")) == 1
    assert len(standin.calls_to("conversations.history")) == 1
