"""Live celebrations through the real WebClient and the Slack stand-in: gathering, pacing, exactly once."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from slack_sdk import WebClient
from sqlalchemy import select, text, update

from jobs import celebrations as live_jobs
from jobs.digest_delivery import DigestInProgress
from service.models import SlackPost
from service.models.digests import StoredDigest
from service.models.slack import CelebratedWin, ChannelLink
from service.web.extensions import runtime_of
from tests.celebrations.conftest import age_live_rows, just_now, live_rows, set_live
from tests.digests.conftest import BOT_TOKEN, SIGNING_SECRET, Seed
from tests.jobs.helpers import run_jobs
from tests.standins.slack_api import SlackStandIn


def _celebrated(app: Flask, digest_id: int) -> list[int]:
    with runtime_of(app).database.sessions() as session:
        return sorted(
            session.scalars(select(CelebratedWin.win_id).where(CelebratedWin.digest_id == digest_id))
        )


def _posts(app: Flask) -> list[SlackPost]:
    with runtime_of(app).database.sessions() as session:
        return list(session.scalars(select(SlackPost).order_by(SlackPost.id)))


def test_wins_within_a_minute_are_gathered_into_one_message(
    slack_app: Flask, seed: Seed, standin: SlackStandIn
) -> None:
    team_id = seed.team()
    alice = seed.member("Alice", "U0ALICE")
    link_id = seed.link(team_id)
    set_live(slack_app, link_id, "all")
    wins = [
        seed.win(team_id, "Fixed the <!channel> login & logout", just_now(), member_id=alice),
        seed.win(team_id, "Thanks for the review", just_now(), member_id=alice, kind="kudos"),
        seed.win(team_id, "100 tickets done", just_now(), kind="milestone"),
    ]

    result = live_jobs.post_live_celebrations(team_id)

    [message] = standin.messages("C0WINS")
    [delivery] = result["deliveries"]
    assert delivery["state"] == "posted" and delivery["ts"] == message["ts"]
    assert sorted(delivery["win_ids"]) == sorted(wins)
    shown = json.dumps(message["blocks"])
    assert "<@U0ALICE>" in shown and "Thanks for the review" in shown and "100 tickets done" in shown
    assert "<!channel>" not in shown and "&lt;!channel&gt; login &amp; logout" in shown
    [row] = live_rows(slack_app)
    assert (row.state, row.ts) == ("posted", message["ts"])
    assert message["metadata"]["event_payload"]["digest_id"] == row.id
    assert _celebrated(slack_app, row.id) == sorted(wins)
    assert [(p.ts, p.digest_id) for p in _posts(slack_app)] == [(message["ts"], row.id)]

    # Run again: every win was posted, nothing new is.
    assert live_jobs.post_live_celebrations(team_id)["deliveries"] == []
    # A win less than a minute after the last message waits, and goes out once the minute has passed.
    late = seed.win(team_id, "Shipped search", just_now(), member_id=alice)
    assert live_jobs.post_live_celebrations(team_id)["deliveries"] == []
    age_live_rows(slack_app, timedelta(minutes=2))
    [second] = live_jobs.post_live_celebrations(team_id)["deliveries"]

    assert second["win_ids"] == [late]
    assert len(standin.messages("C0WINS")) == 2
    assert "Shipped search" in json.dumps(standin.messages("C0WINS")[1]["blocks"])


def test_milestones_mode_posts_milestones_sprint_starts_and_kudos_only(
    slack_app: Flask, seed: Seed, standin: SlackStandIn
) -> None:
    team_id = seed.team()
    shy = seed.member("Shy Sam", "U0SHY", opt_out=True)
    seed.link(team_id)  # a new link: ``milestones`` by default
    kudos = seed.win(team_id, "Untangled the flaky tests", just_now(), member_id=shy, kind="kudos")
    started = seed.win(team_id, "Sprint 12 started", just_now(), kind="sprint_started")
    seed.win(team_id, "A ticket", just_now(), member_id=shy)
    seed.win(team_id, "Only for me", just_now(), kind="kudos", visibility="private")
    seed.win(team_id, "Reopened", just_now(), kind="milestone", status="retracted")
    seed.win(team_id, "Last week's news", datetime.now(UTC) - timedelta(days=7), kind="milestone")
    seed.win(team_id, "The sprint ended", just_now(), kind="sprint_closed")  # has its own celebration

    [delivery] = live_jobs.post_live_celebrations(team_id)["deliveries"]

    assert sorted(delivery["win_ids"]) == sorted([kudos, started])
    [message] = standin.messages("C0WINS")
    shown = json.dumps(message["blocks"]) + message["text"]
    assert "Untangled the flaky tests" in shown and "Sprint 12 started" in shown
    assert "U0SHY" not in shown and "Shy Sam" not in shown  # opted out: never named
    for hidden in ("A ticket", "Only for me", "Reopened", "Last week", "The sprint ended"):
        assert hidden not in shown


def test_off_or_paused_channels_and_wins_from_before_switching_on_stay_quiet(
    slack_app: Flask, seed: Seed, standin: SlackStandIn
) -> None:
    team_id = seed.team()
    quiet = seed.link(team_id, "C0QUIET")
    set_live(slack_app, quiet, "off")
    seed.link(team_id, "C0PAUSED", paused=True)
    seed.win(team_id, "Before it was switched on", just_now(), kind="kudos")
    late_link = seed.link(team_id, "C0LATE")
    with runtime_of(slack_app).database.transaction() as session:
        session.execute(
            update(ChannelLink).where(ChannelLink.id == late_link).values(live_since=datetime.now(UTC))
        )

    assert live_jobs.post_live_celebrations(team_id)["deliveries"] == []
    assert standin.messages() == []


def test_posts_wait_out_429s_and_are_paced(slack_app: Flask, seed: Seed, standin: SlackStandIn) -> None:
    team_id = seed.team()
    for channel in ("C0ONE", "C0TWO"):
        set_live(slack_app, seed.link(team_id, channel), "all")
        # Another process has just posted there: Slack's one-per-second window is closed.
        WebClient(token=BOT_TOKEN, base_url=standin.url + "/api/").chat_postMessage(
            channel=channel, text="hi"
        )
    seed.win(team_id, "Shipped search", just_now())

    result = live_jobs.post_live_celebrations(team_id)

    assert [d["state"] for d in result["deliveries"]] == ["posted", "posted"]
    assert standin.rejected_429_count() >= 1  # answered 429 with Retry-After, waited out, then accepted
    for channel in ("C0ONE", "C0TWO"):
        hello, live = standin.messages(channel)
        assert live["accepted_at"] - hello["accepted_at"] >= 1.0
        assert "Shipped search" in live["text"]


def test_a_crash_between_posting_and_recording_never_posts_twice(
    slack_app: Flask, seed: Seed, standin: SlackStandIn
) -> None:
    team_id = seed.team()
    set_live(slack_app, seed.link(team_id), "all")
    win_id = seed.win(team_id, "Shipped search", just_now())
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
        live_jobs.post_live_celebrations(team_id)
    with database.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER worker_killed"))
    [message] = standin.messages("C0WINS")
    [row] = live_rows(slack_app)
    assert (row.state, row.ts) == ("posting", None)

    # A retry while the dead worker's claim is young steps back; RQ tries again later.
    with pytest.raises(DigestInProgress):
        live_jobs.post_live_celebrations(team_id)
    with database.transaction() as session:
        session.execute(update(StoredDigest).values(claimed_at=datetime.now(UTC) - timedelta(minutes=3)))
    age_live_rows(slack_app, timedelta(minutes=2))

    [recovered] = live_jobs.post_live_celebrations(team_id)["deliveries"]

    assert recovered == {**recovered, "state": "posted", "ts": message["ts"], "recovered": True}
    assert len(standin.messages("C0WINS")) == 1
    [row] = live_rows(slack_app)
    assert (row.state, row.ts) == ("posted", message["ts"])
    assert _celebrated(slack_app, row.id) == [win_id]
    assert [p.ts for p in _posts(slack_app)] == [message["ts"]]
    assert live_jobs.post_live_celebrations(team_id)["deliveries"] == []


def test_an_uncertain_answer_is_checked_then_posted_once(
    slack_app: Flask, seed: Seed, standin: SlackStandIn
) -> None:
    team_id = seed.team()
    set_live(slack_app, seed.link(team_id), "all")
    seed.win(team_id, "Shipped search", just_now())
    standin.fail_next("chat.postMessage", 500, times=3)  # more than the server-error retries

    with pytest.raises(DigestInProgress):
        live_jobs.post_live_celebrations(team_id)
    [delivery] = live_jobs.post_live_celebrations(team_id)["deliveries"]

    assert delivery["state"] == "posted" and not delivery["recovered"]
    assert len(standin.messages("C0WINS")) == 1
    assert len(standin.calls_to("conversations.history")) == 1
    assert len(live_rows(slack_app)) == 1


def test_the_minute_tick_catches_up_what_waited_and_then_finds_nothing(
    slack_app: Flask, seed: Seed, standin: SlackStandIn
) -> None:
    team_id = seed.team()
    quiet_team = seed.team("search", "Search")
    seed.link(team_id)
    seed.link(quiet_team, "C0SEARCH")
    seed.win(quiet_team, "A ticket: not news in a milestones channel", just_now())
    kudos = seed.win(team_id, "Thanks for the review", just_now(), kind="kudos")

    assert live_jobs.live_celebrations_tick() == {"teams": [team_id], "enqueued": 1}
    run_jobs(slack_app)

    [row] = live_rows(slack_app)
    assert row.state == "posted" and len(standin.messages("C0WINS")) == 1
    assert standin.messages("C0SEARCH") == []
    assert live_jobs.live_celebrations_tick() == {"teams": [], "enqueued": 0}
    assert row.win_id == kudos  # a message of one win names it: reactions on it cheer that win


def test_concurrent_jobs_post_each_win_once_on_postgres(
    make_app: Callable[..., Flask], standin: SlackStandIn
) -> None:
    app = make_app(
        "postgres",
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=standin.url + "/api/",
    )
    seed = Seed(app)
    team_id = seed.team()
    set_live(app, seed.link(team_id), "all")
    wins = sorted(seed.win(team_id, f"Ticket {n}", just_now()) for n in range(3))
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def run() -> None:
        start.wait()
        try:
            deliveries = live_jobs.post_live_celebrations(team_id)["deliveries"]
            outcomes.extend(d["state"] for d in deliveries)
        except DigestInProgress:
            outcomes.append("in_progress")

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(standin.messages("C0WINS")) == 1
    assert "posted" in outcomes and set(outcomes) <= {"posted", "in_progress"}
    [row] = live_rows(app)
    assert row.state == "posted" and _celebrated(app, row.id) == wins
