"""Live celebrations against the Slack stand-in: an app wired to it, and the live rows it stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from service.models.digests import StoredDigest
from service.models.slack import ChannelLink
from service.slack.celebrations import LIVE_KIND
from service.web.extensions import runtime_of
from tests.digests.conftest import BOT_TOKEN, SIGNING_SECRET, Seed
from tests.standins.slack_api import SlackStandIn


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(rate_per_channel_per_s=1.0) as server:
        yield server


@pytest.fixture
def slack_app(make_app: Callable[..., Flask], standin: SlackStandIn) -> Flask:
    return make_app(
        "sqlite",
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=standin.url + "/api/",
    )


@pytest.fixture
def seed(slack_app: Flask) -> Seed:
    return Seed(slack_app)


def just_now() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=5)


def set_live(app: Flask, link_id: int, mode: str) -> None:
    with runtime_of(app).database.transaction() as session:
        session.execute(update(ChannelLink).where(ChannelLink.id == link_id).values(live=mode))


def live_rows(app: Flask) -> list[StoredDigest]:
    with runtime_of(app).database.sessions() as session:
        return list(
            session.scalars(
                select(StoredDigest).where(StoredDigest.kind == LIVE_KIND).order_by(StoredDigest.id)
            )
        )


def age_live_rows(app: Flask, by: timedelta) -> None:
    """As if the channel's live messages were posted ``by`` ago: its gathering window has passed."""
    with runtime_of(app).database.transaction() as session:
        for row in session.scalars(select(StoredDigest).where(StoredDigest.kind == LIVE_KIND)):
            row.created_at = row.created_at - by
