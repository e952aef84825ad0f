"""A Slack Web API stand-in, apps wired to it (or to no Slack at all), and seeding helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from service.models import ChannelLink, Member, Sprint, Ticket, Win, sprint_tickets
from service.teams.registry import create_team
from service.web.extensions import runtime_of
from tests.standins.slack_api import SlackStandIn

SIGNING_SECRET = "test-slack-signing-secret"
BOT_TOKEN = "xoxb-111-222-standinbot"
WORKSPACE = "T0STANDIN"  # the stand-in's default workspace, which any xoxb- token belongs to
LINKER = "U0LINKER"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(rate_per_channel_per_s=1.0) as server:
        server.add_user(LINKER, tz="Europe/Berlin", real_name="Linda Linker")
        yield server


@pytest.fixture
def slack_app(make_app: Callable[..., Flask], standin: SlackStandIn) -> Flask:
    return make_app(
        "sqlite",
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=standin.url + "/api/",
    )


class Seed:
    """Rows written straight into the database, as the pipeline and the Slack commands would."""

    def __init__(self, app: Flask) -> None:
        self.database = runtime_of(app).database

    def team(self, slug: str = "payments", name: str = "Payments", timezone: str = "UTC") -> int:
        with self.database.transaction() as session:
            return create_team(session, slug, name, timezone).id

    def member(self, name: str, slack_user_id: str | None = None, *, opt_out: bool = False) -> int:
        with self.database.transaction() as session:
            member = Member(
                display_name=name,
                slack_team_id=WORKSPACE if slack_user_id else None,
                slack_user_id=slack_user_id,
                sharing_opt_out=opt_out,
            )
            session.add(member)
            session.flush()
            return member.id

    def link(
        self,
        team_id: int,
        channel: str = "C0WINS",
        *,
        schedule: str = "weekly fri 16:00",
        timezone: str = "UTC",
        paused: bool = False,
        last_run_at: datetime | None = None,
    ) -> int:
        with self.database.transaction() as session:
            link = ChannelLink(
                team_id=team_id,
                slack_team_id=WORKSPACE,
                channel_id=channel,
                linked_by_user_id=LINKER,
                schedule=schedule,
                timezone=timezone,
                paused=paused,
                last_run_at=last_run_at,
            )
            session.add(link)
            session.flush()
            return link.id

    def win(
        self,
        team_id: int,
        title: str,
        occurred_at: datetime,
        *,
        member_id: int | None = None,
        points: float | None = None,
        kind: str = "ticket",
        status: str = "active",
        visibility: str = "team",
        details: dict[str, Any] | None = None,
        source_key: str | None = None,
    ) -> int:
        with self.database.transaction() as session:
            win = Win(
                team_id=team_id,
                kind=kind,
                status=status,
                title=title,
                member_id=member_id,
                points=points,
                source="jira" if kind in {"ticket", "sprint_closed"} else "slack",
                source_key=source_key or f"{kind}:{title}:{occurred_at.isoformat()}",
                url=f"https://example.atlassian.net/browse/{abs(hash(title)) % 1000}",
                visibility=visibility,
                occurred_at=occurred_at,
                details=details or {},
            )
            session.add(win)
            session.flush()
            return win.id

    def closed_sprint(
        self, team_id: int, jira_id: int, *, done: int, open_: int, completed_at: datetime, goal: str | None
    ) -> int:
        with self.database.transaction() as session:
            sprint = Sprint(
                team_id=team_id,
                jira_id=jira_id,
                name=f"Sprint {jira_id}",
                state="closed",
                goal=goal,
                start_at=datetime(2026, 11, 9, 9, tzinfo=UTC),
                end_at=completed_at,
                completed_at=completed_at,
            )
            session.add(sprint)
            session.flush()
            for n in range(done + open_):
                ticket = Ticket(
                    team_id=team_id,
                    issue_key=f"PAY-{jira_id}{n}",
                    project_key="PAY",
                    points=3.0,
                    done=n < done,
                )
                session.add(ticket)
                session.flush()
                session.execute(sprint_tickets.insert().values(sprint_id=sprint.id, ticket_id=ticket.id))
            return sprint.id


@pytest.fixture
def seed(slack_app: Flask) -> Seed:
    return Seed(slack_app)
