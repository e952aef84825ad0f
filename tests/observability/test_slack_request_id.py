"""A Slack command's request id reaches the job its listener queues, though Bolt runs it on its own thread."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from flask import Flask

from jobs.job_outcomes import REQUEST_ID_META
from jobs.queue import RQJobQueue
from service.web.extensions import runtime_of
from service.web.slack.routes import SLACK_HANDLER
from tests.conftest import AppFactory
from tests.standins.slack_api import SlackStandIn
from tests.web.slack.conftest import BOT_TOKEN, SIGNING_SECRET, command_fields, signed_headers


@pytest.fixture
def slack_app(make_app: AppFactory, redis_url: str) -> Iterator[Flask]:
    with SlackStandIn(rate_per_channel_per_s=None) as standin:
        app = make_app(
            "sqlite",
            redis=redis_url,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=standin.url + "/api/",
        )
        app.extensions["test.standin"] = standin
        yield app
        app.extensions[SLACK_HANDLER].app.listener_runner.listener_executor.shutdown(wait=True)


@pytest.mark.redis
def test_the_job_a_slack_command_queues_carries_the_request_id(slack_app: Flask) -> None:
    standin: SlackStandIn = slack_app.extensions["test.standin"]
    body = urlencode(
        command_fields(
            "/win", "shipped the metrics page", response_url=standin.response_url("c/1"), trigger_id="1.2.t"
        )
    )
    headers = {**signed_headers(body, "application/x-www-form-urlencoded"), "X-Request-Id": "req-slack-7"}
    response = slack_app.test_client().post("/slack/events", data=body.encode(), headers=headers)
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == "req-slack-7"
    # Bolt's listener (which queues the job) runs on its executor after the ack: let it finish.
    slack_app.extensions[SLACK_HANDLER].app.listener_runner.listener_executor.shutdown(wait=True)

    queue = runtime_of(slack_app).queue
    assert isinstance(queue, RQJobQueue)
    jobs = [queue.rq.fetch_job(job_id) for job_id in queue.rq.job_ids]
    assert jobs
    assert {job.meta.get(REQUEST_ID_META) for job in jobs if job is not None} == {"req-slack-7"}
