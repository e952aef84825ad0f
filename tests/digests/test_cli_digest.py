"""``sprintwins digest preview|run`` on SQLite, without Slack and with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from service import migrate
from service.cli.main import main
from service.db import Database
from service.models import ChannelLink, Member, Win
from service.models.digests import StoredDigest
from service.teams.registry import create_team
from tests.standins.slack_api import SlackStandIn


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'sprintwins.db'}"
    database = Database(url)
    migrate.upgrade(database)
    now = datetime.now(UTC)
    with database.transaction() as session:
        team = create_team(session, "payments", "Payments")
        quiet = Member(display_name="Quinn", sharing_opt_out=True)
        session.add(quiet)
        session.flush()
        for title, member_id in (("<!channel> fixed the build", None), ("Refactored billing", quiet.id)):
            session.add(
                Win(
                    team_id=team.id,
                    kind="ticket",
                    title=title,
                    member_id=member_id,
                    points=2.0,
                    source="jira",
                    source_key=title,
                    occurred_at=now - timedelta(seconds=1),
                )
            )
    database.dispose()
    return {"SPRINTWINS_DATABASE_URL": url, "SPRINTWINS_REDIS_URL": ""}


def _run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _rows(env: dict[str, str]) -> list[StoredDigest]:
    database = Database(env["SPRINTWINS_DATABASE_URL"])
    with database.sessions() as session:
        rows = list(session.scalars(select(StoredDigest)))
    database.dispose()
    return rows


@pytest.mark.parametrize(
    ("period", "headline"), [("week", "This week: 2 wins, 4 points"), ("day", "Today: 2 wins")]
)
def test_preview_prints_the_digest_and_stores_nothing(
    env: dict[str, str], period: str, headline: str
) -> None:
    out = _run(env, "digest", "preview", "payments", "--period", period)

    assert headline in out
    assert "<!channel> fixed the build" in out  # the console shows the title as written
    assert "Quinn" not in out and "a teammate" in out
    assert _rows(env) == []


def test_run_without_slack_renders_and_stores_once(env: dict[str, str]) -> None:
    first = _run(env, "digest", "run", "payments")
    second = _run(env, "digest", "run", "payments")

    assert "This week: 2 wins" in first and "rendered and stored" in first
    assert "This week: 2 wins" in second
    [row] = _rows(env)
    assert (row.state, row.channel_id) == ("rendered", "console")
    assert "&lt;!channel&gt;" in row.text


def test_run_with_slack_posts_to_the_linked_channel(env: dict[str, str]) -> None:
    database = Database(env["SPRINTWINS_DATABASE_URL"])
    with database.transaction() as session:
        session.add(
            ChannelLink(
                team_id=1,
                slack_team_id="T0STANDIN",
                channel_id="C0WINS",
                linked_by_user_id="U0LINKER",
                schedule="off",
                timezone="UTC",
            )
        )
    database.dispose()
    with SlackStandIn() as standin:
        slack_env = {
            **env,
            "SPRINTWINS_SLACK_BOT_TOKEN": "xoxb-cli",
            "SPRINTWINS_SLACK_SIGNING_SECRET": "s",
            "SPRINTWINS_SLACK_API_URL": standin.url + "/api/",
        }
        out = _run(slack_env, "digest", "run", "payments")
        again = _run(slack_env, "digest", "run", "payments")
        [message] = standin.messages("C0WINS")
    assert out == again == f"posted to C0WINS (ts {message['ts']})\n"


def test_an_unknown_team_is_a_clear_error(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["digest", "preview", "nope"], env=env)
    assert result.exit_code == 1 and "no team with slug 'nope'" in result.output


def test_preview_prints_no_terminal_controls_from_a_ticket_title(env: dict[str, str]) -> None:
    database = Database(env["SPRINTWINS_DATABASE_URL"])
    with database.transaction() as session:
        team_id = session.scalars(select(Win.team_id)).first()
        session.add(
            Win(
                team_id=team_id,
                kind="ticket",
                title="Cleared\x1b[2J the \x1b]0;owned\x07queue\u202e\x9b31m",
                points=1.0,
                source="jira",
                source_key="hostile",
                occurred_at=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
    database.dispose()

    output = _run(env, "digest", "preview", "payments")

    assert "Cleared the queue" in output
    assert not {"\x1b", "\x07", "\u202e", "\x9b"} & set(output)
