"""``sprintwins demo``, played for real (a live server on a free port, SQLite in a tmp dir, output piped),
and the history it generates, on every day of the week."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from integrations.jira.parse import parse_event
from service.cli import demo_history
from service.cli.main import main

BORROWED = ("test1", "Test User", "TES-", "Sprint 1", "Sprint 2", "some-instance-test", "Unit test summary")
LOG_MARKERS = ("INFO", "WARNING", "ERROR", "DEBUG", '"level"', "[INFO]", "gunicorn", "Traceback")
README = Path(__file__).parents[2] / "README.md"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str, str]:
    """The demo's stdout and stderr, and the environment that reaches its database."""
    tmp = tmp_path_factory.mktemp("demo")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SPRINTWINS_")},
        "SPRINTWINS_DATABASE_URL": f"sqlite:///{tmp / 'sprintwins.db'}",
        "SPRINTWINS_REDIS_URL": "",
        "TMPDIR": str(tmp),
    }
    done = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "demo", "--exit", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return env, done.stdout, done.stderr


def _flat(text: str) -> str:
    """Wrapped lines joined again, so phrases can be found whatever the width."""
    return " ".join(text.split())


def test_the_demo_shows_live_streaks_badges_every_milestone_kudos_cheers_and_a_challenge(
    played: tuple[dict[str, str], str, str],
) -> None:
    _, out, _ = played
    streaks = re.findall(r"^  (\S.*?)\s+(\d+)\s+(\d+)$", out.split("Streaks:")[1].split("\n\n")[0], re.M)
    people = {name: int(current) for name, current, _ in streaks if name != "The whole team"}
    assert set(people) == {p.name for p in demo_history.PEOPLE}
    assert max(people.values()) >= 5, streaks
    flat = _flat(out)
    for milestone in (
        "the oldest open ticket",
        "first win (",
        "25/50/75/100% of the committed scope done",
        "all committed scope done before the sprint ends",
        "best velocity in 2 sprints",
        "sprint goal met",
    ):
        assert milestone in flat, milestone
    assert "5-day win streak" in flat
    badges = out.split("\nBadges\n")[1].split("\n\n")[0]
    assert "First win" in badges and "First kudos given" in badges
    assert "Jonas Weber to Amara Okafor: untangled the flaky CI job" in flat
    assert re.search(r"\b[1-9]\d* cheers on the post celebrating Web 24", flat)
    assert "Close 3 bugs this week" in out.split("\nChallenges\n")[1]


def test_the_demo_prints_where_to_post_and_the_secret(played: tuple[dict[str, str], str, str]) -> None:
    _, out, _ = played
    webhook = re.search(r"^Jira webhook: (http://127\.0\.0\.1:\d+/webhooks/jira)$", out, re.M)
    secret = re.search(r"^Its secret \(made up for this run\): ([0-9a-f]{32})$", out, re.M)
    assert webhook and secret
    assert f"SPRINTWINS_JIRA_WEBHOOK_SECRET={secret.group(1)}" in out
    assert f"sprintwins events replay --url {webhook.group(1)} FILE..." in out
    assert re.search(r"(\d+) of \1 accepted", out)
    assert "/api/v1/teams/web/wins" in out
    assert re.search(r"^  The dashboard: +http://127\.0\.0\.1:\d+/teams/web$", out, re.M)
    assert "This week's digest" in out


def test_the_demo_output_is_plain_80_columns_without_log_lines_or_borrowed_names(
    played: tuple[dict[str, str], str, str],
) -> None:
    _, out, err = played
    too_wide = [line for line in out.splitlines() if len(line) > 80]
    assert too_wide == []
    assert err == ""
    for marker in LOG_MARKERS:
        assert marker not in out, marker
    for name in BORROWED:
        assert name not in out, name
    assert "\x1b" not in out  # no colours or cursor moves when piped


def _readme_commands() -> list[str]:
    """The README's `sprintwins ...` lines in its bash blocks that work on a team's data."""
    blocks = re.findall(r"^```bash\n(.*?)^```", README.read_text(), re.M | re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [
        line
        for line in lines
        if re.match(r"sprintwins (rules|challenge|member|team|recompute|digest) ", line)
    ]


def test_the_readme_command_examples_work_on_the_demo_data(played: tuple[dict[str, str], str, str]) -> None:
    env, _, _ = played
    examples = _readme_commands()
    assert any("--member 4" in example for example in examples)
    assert len(examples) >= 8, examples
    for example in examples:
        result = CliRunner().invoke(main, shlex.split(example, comments=True)[1:], env=env)
        assert result.exit_code == 0, f"{example}\n{result.output}"
    listed = CliRunner().invoke(main, ["member", "list", "--team", "web", "--json"], env=env)
    people = {row["name"]: row for row in json.loads(listed.output)["members"]}
    assert set(people) == {p.name for p in demo_history.PEOPLE}
    assert people["Amara Okafor"]["id"] == 4  # as the README says
    assert all(row["jira_account_id"] and row["slack_user_id"] for row in people.values())
    shown = CliRunner().invoke(main, ["member", "list", "--team", "web"], env=env).output
    assert "Amara Okafor" in shown and "slack  U0DEMO0001 in workspace T0DEMO0001" in shown


def test_the_demo_output_in_the_readme_is_what_the_demo_prints(
    played: tuple[dict[str, str], str, str],
) -> None:
    _, out, _ = played
    readme = README.read_text()
    for heading in (
        "Streaks: working days in a row",
        "Sprint milestones",
        "From Slack: kudos, wins and cheers",
    ):
        assert heading in out and heading in readme


@pytest.mark.parametrize("days_later", range(7))
def test_the_history_is_weekdays_up_to_now_with_a_five_day_streak_on_any_day(days_later: int) -> None:
    zone = ZoneInfo(demo_history.TEAM_TIMEZONE)
    now = datetime(2026, 11, 30, 8, 30, tzinfo=zone).astimezone(UTC) + timedelta(days=days_later)
    deliveries = demo_history.history(now)
    assert deliveries and all(d.at <= now for d in deliveries)
    assert all(d.at.astimezone(zone).weekday() < 5 for d in deliveries)
    events = [parse_event(d.payload, received_at_ms=0) for d in deliveries]
    assert all(event is not None for event in events)
    sprints = {d.payload["sprint"]["name"] for d in deliveries if "sprint" in d.payload}
    assert sprints == set(demo_history.sprint_names())
    amara = demo_history.PEOPLE[0]
    her_days = sorted(
        {
            d.at.astimezone(zone).date()
            for d in deliveries
            if d.name.endswith("-done.json")
            and d.payload["issue"]["fields"]["assignee"]["accountId"] == amara.account_id
        }
    )
    working = [day for day in demo_history.working_days(now.astimezone(zone).date()) if day <= her_days[-1]]
    assert her_days == working[working.index(her_days[0]) :]  # every working day, none missed
    assert len(her_days) >= 5
    hostile = {
        d.payload["issue"]["key"] for d in deliveries if demo_history.HOSTILE_TITLE in json.dumps(d.payload)
    }
    assert len(hostile) == 1  # one ordinary ticket
    assert demo_history.history(now) == deliveries  # the same day, the same deliveries


def test_the_demo_signs_with_the_configured_secret_when_there_is_one(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SPRINTWINS_")},
        "SPRINTWINS_DATABASE_URL": f"sqlite:///{tmp_path / 'sprintwins.db'}",
        "SPRINTWINS_REDIS_URL": "",
        "SPRINTWINS_JIRA_WEBHOOK_SECRET": "our-own-secret",
        "TMPDIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "demo", "--exit", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Its secret (SPRINTWINS_JIRA_WEBHOOK_SECRET): our-own-secret" in done.stdout
    accepted = re.search(r"^  (\d+) of (\d+) accepted$", done.stdout, re.M)
    assert accepted and accepted.group(1) == accepted.group(2) != "0"
