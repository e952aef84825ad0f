"""The scheduler tick: due periods per channel in its time zone (DST included), enqueued once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from jobs import digests as digest_jobs
from jobs.schedule import periodic_tasks
from service.models import ChannelLink
from service.models.digests import StoredDigest
from service.web.extensions import runtime_of
from tests.digests.conftest import BOT_TOKEN, SIGNING_SECRET, Seed
from tests.jobs.helpers import run_jobs
from tests.standins.slack_api import SlackStandIn


@pytest.fixture
def rq_app(make_app: Callable[..., Flask], standin: SlackStandIn, redis_url: str) -> Flask:
    return make_app(
        "sqlite",
        redis=redis_url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=standin.url + "/api/",
    )


def _queued(app: Flask) -> list[str]:
    # Only digest jobs: other suites running at the same time may share the Redis test database.
    return [j for j in runtime_of(app).queue.rq.job_ids if j.startswith("digest-")]  # type: ignore[attr-defined]


def _tick(now: str) -> list[str]:
    return digest_jobs.schedule_tick(now)["enqueued"]


@pytest.mark.parametrize(
    ("tz", "schedule", "now", "period_key"),
    [
        # New York moves to daylight time on Sunday 8 March 2026: 09:00 is 14:00Z before, 13:00Z after.
        ("America/New_York", "daily 09:00", "2026-03-06T14:00:30+00:00", "daily:2026-03-06"),
        ("America/New_York", "daily 09:00", "2026-03-09T13:00:30+00:00", "daily:2026-03-09"),
        ("America/New_York", "daily 09:00", "2026-03-09T12:59:00+00:00", None),
        # Berlin leaves daylight time on 25 October 2026: Friday 16:00 is 15:00Z afterwards.
        ("Europe/Berlin", "weekly fri 16:00", "2026-10-30T15:00:30+00:00", "weekly:2026-W44"),
        ("Europe/Berlin", "weekly fri 16:00", "2026-10-30T14:30:00+00:00", None),
        ("Europe/Berlin", "weekly fri 16:00", "2026-10-23T14:00:30+00:00", "weekly:2026-W43"),
        # Weekends are skipped: Saturday 09:30 in Tokyo has no digest.
        ("Asia/Tokyo", "daily 09:30", "2026-11-28T00:30:30+00:00", None),
        ("Asia/Tokyo", "daily 09:30 include-weekends", "2026-11-28T00:30:30+00:00", "daily:2026-11-28"),
        ("UTC", "sprint-end", "2026-11-27T16:00:30+00:00", None),
        ("UTC", "off", "2026-11-27T16:00:30+00:00", None),
    ],
)
def test_due_periods_in_the_channels_time_zone(
    rq_app: Flask, tz: str, schedule: str, now: str, period_key: str | None
) -> None:
    seed = Seed(rq_app)
    team_id = seed.team()
    seed.link(team_id, schedule=schedule, timezone=tz)

    enqueued = _tick(now)

    expected = [digest_jobs.digest_job_id(team_id, "C0WINS", period_key)] if period_key else []
    assert enqueued == expected
    assert _queued(rq_app) == expected
    assert _tick(now) == []  # a second tick (or a second scheduler) in the same period adds nothing


def test_ticks_post_each_period_once_and_empty_periods_post_nothing(
    rq_app: Flask, standin: SlackStandIn
) -> None:
    seed = Seed(rq_app)
    busy, quiet, chatty = seed.team("busy"), seed.team("quiet"), seed.team("chatty")
    seed.win(busy, "Shipped search", datetime(2026, 11, 24, 10, tzinfo=UTC), points=3)
    seed.link(busy, "C0BUSY", schedule="daily 09:00", timezone="Europe/Berlin")
    seed.link(quiet, "C0QUIET", schedule="daily 09:00", timezone="Europe/Berlin")
    seed.link(chatty, "C0CHATTY", schedule="daily 09:00 post-when-empty", timezone="Europe/Berlin")

    _tick("2026-11-25T08:00:10+00:00")  # 09:00 in Berlin: the period from Tuesday 09:00
    _tick("2026-11-25T08:01:10+00:00")
    run_jobs(rq_app)

    [busy_post] = standin.messages("C0BUSY")
    assert "Since yesterday: 1 win, 3 points" in busy_post["blocks"][0]["text"]["text"]
    assert standin.messages("C0QUIET") == []
    [quiet_post] = standin.messages("C0CHATTY")
    assert "was quiet" in quiet_post["blocks"][0]["text"]["text"]
    with runtime_of(rq_app).database.sessions() as session:
        states = dict(session.execute(select(StoredDigest.channel_id, StoredDigest.state)).all())
        last_runs = set(session.scalars(select(ChannelLink.last_run_at)))
    assert states == {"C0BUSY": "posted", "C0QUIET": "skipped", "C0CHATTY": "posted"}
    assert last_runs == {datetime(2026, 11, 25, 8, tzinfo=UTC)}


def test_a_paused_schedule_does_not_replay_what_it_missed(rq_app: Flask) -> None:
    seed = Seed(rq_app)
    team_id = seed.team()
    link_id = seed.link(team_id, schedule="daily 09:00", paused=True)

    for day in range(23, 28):  # a paused week: nothing
        assert _tick(f"2026-11-{day}T09:00:30+00:00") == []
    with runtime_of(rq_app).database.transaction() as session:
        session.execute(update(ChannelLink).where(ChannelLink.id == link_id).values(paused=False))

    assert _tick("2026-11-27T17:00:00+00:00") == []  # resumed later that day: Friday's is stale
    assert _tick("2026-11-30T09:00:30+00:00") == [
        digest_jobs.digest_job_id(team_id, "C0WINS", "daily:2026-11-30")
    ]


def test_the_tick_is_a_periodic_task_of_the_scheduler(rq_app: Flask) -> None:
    tasks = {task.name: task for task in periodic_tasks(runtime_of(rq_app).settings)}
    assert tasks["digests"].func is digest_jobs.schedule_tick
    assert tasks["digests"].interval_seconds == 60


def test_the_tick_resends_a_digest_whose_sender_died(rq_app: Flask, standin: SlackStandIn) -> None:
    seed = Seed(rq_app)
    team_id = seed.team()
    seed.win(team_id, "Shipped search", datetime(2026, 11, 24, 10, tzinfo=UTC))
    seed.link(team_id, schedule="daily 09:00")
    _tick("2026-11-25T09:00:10+00:00")
    runtime_of(rq_app).queue.rq.empty()  # type: ignore[attr-defined]  # the job was lost with its worker
    with runtime_of(rq_app).database.transaction() as session:
        digest = StoredDigest(
            team_id=team_id,
            slack_team_id="T0STANDIN",
            channel_id="C0WINS",
            period_key="daily:2026-11-25",
            state="posting",
            text="lost digest",
            blocks=[],
            attempts=1,
            claimed_at=datetime.now(UTC) - timedelta(minutes=10),
            created_at=datetime.now(UTC) - timedelta(minutes=10),
        )
        session.add(digest)
        session.flush()
        digest_id = digest.id

    assert _tick(datetime.now(UTC).isoformat()) == [f"deliver-digest-{digest_id}"]
    run_jobs(rq_app)

    [message] = standin.messages("C0WINS")
    assert message["text"] == "lost digest"
