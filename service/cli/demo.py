"""``sprintwins demo``: a believable team's last weeks, played through the real HTTP endpoint.

The history comes from :mod:`service.cli.demo_history` (signed Jira Cloud deliveries, generated
relative to now), the team's Slack side from :mod:`service.cli.demo_slack`, and what it all adds up
to is printed by :mod:`service.cli.demo_report`, 80 columns wide when piped.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from datetime import time as clock
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import requests

from service.cli import demo_history, demo_slack
from service.cli import demo_report as report
from service.cli.processes import ChildProcesses, stop_on_signals
from service.cli.replay import describe, replay_files

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from service.db import Database

SERVER_LOG = "sprintwins-demo-server.log"
# (spec, whose: an index into PEOPLE, or None for the team), set as the current sprint starts.
CHALLENGES = (
    ("close 3 bugs this week", None),
    ("one small win a day for 5 days", 0),
)


def run_demo(*, port: int, exit_after: bool, echo: Callable[[str], None] = print) -> None:
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    given = env.get("SPRINTWINS_JIRA_WEBHOOK_SECRET")
    secret = given or secrets.token_hex(16)
    env["SPRINTWINS_JIRA_WEBHOOK_SECRET"] = secret
    env.setdefault("SPRINTWINS_PUBLIC_URL", base)
    log_path = Path(tempfile.gettempdir()) / SERVER_LOG
    echo(f"Starting Sprint Wins on {base}")
    echo(f"  its log: {log_path}")
    command = [sys.executable, "-m", "service.cli.main", "serve", "--port", str(port), "--threads", "4"]
    with stop_on_signals(), ChildProcesses() as children:
        try:
            with _children_write_to(log_path):
                server = children.start(command, env)
            _wait_healthy(base, server, log_path)
            origin = "SPRINTWINS_JIRA_WEBHOOK_SECRET" if given else "made up for this run"
            _play(base, secret, origin, echo)
            if exit_after:
                return
            echo("The service keeps running; press Ctrl-C to stop it.")
            server.wait()
        except KeyboardInterrupt:
            pass


@contextlib.contextmanager
def _children_write_to(path: Path) -> Iterator[None]:
    """Processes started in the block write to ``path``: their log lines never land between ours."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with path.open("ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _play(base: str, secret: str, secret_origin: str, echo: Callable[[str], None]) -> None:
    """The demo itself, once the server answers: the team, its history, its Slack side, the report."""
    from service.db import Database
    from service.settings import Settings

    now = datetime.now(UTC)
    database = Database(Settings.from_env().database_url)
    try:
        with database.transaction() as session:
            _ensure_team(session)
        deliveries = demo_history.history(now)
        webhook = f"{base}/webhooks/jira"
        echo("")
        echo(f"Jira webhook: {webhook}")
        echo(f"Its secret ({secret_origin}): {secret}")
        echo(
            f"Posting {len(deliveries)} signed Jira Cloud deliveries: four weeks of the "
            f"{demo_history.TEAM_NAME} team's work"
        )
        with tempfile.TemporaryDirectory(prefix="sprintwins-demo-") as tmp:
            files = []
            for delivery in deliveries:
                path = Path(tmp) / delivery.name
                path.write_text(json.dumps(delivery.payload))
                files.append(path)
            results = replay_files(files, webhook, secret, echo=lambda _line: None)
        refused = [r for r in results if not r.accepted]
        echo(f"  {len(results) - len(refused)} of {len(results)} accepted")
        for result in refused:
            echo(f"  {result.path.name}: {describe(result)}")
        _wait_processed(database)
        summary = _team_activity(database, now)
        report.show(base, demo_history.TEAM_SLUG, summary, echo)
        echo("")
        echo("This week's digest, as it would be posted to the team's Slack channel:")
        echo("")
        for line in report.fitted(_digest_preview(demo_history.TEAM_SLUG).splitlines()):
            echo(line)
        echo("")
        for line in report.try_it(base, webhook, secret):
            echo(line)
    finally:
        database.dispose()


def _digest_preview(slug: str) -> str:
    """What `sprintwins digest preview SLUG` prints, to be fitted to the demo's width."""
    from service.cli.digest import preview

    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        preview.main([slug], standalone_mode=False)
    return captured.getvalue()


def _ensure_team(session: Session) -> None:
    """The demo team as `sprintwins team create` and `team attach` make it, once."""
    from service.teams import registry

    if not any(t.slug == demo_history.TEAM_SLUG for t in registry.list_teams(session)):
        registry.create_team(
            session, demo_history.TEAM_SLUG, demo_history.TEAM_NAME, demo_history.TEAM_TIMEZONE
        )
    team = registry.get_team(session, demo_history.TEAM_SLUG)
    if demo_history.PROJECT_KEY not in registry.team_summary(team)["jira_projects"]:
        registry.attach(session, demo_history.TEAM_SLUG, "project", demo_history.PROJECT_KEY)


def _team_activity(database: Database, now: datetime) -> demo_slack.SlackSummary:
    """The team's Slack side and its challenges, then a recompute so streaks and badges include them."""
    from service.progress import admin as progress_admin
    from service.teams.members import member_id_for_jira

    zone = ZoneInfo(demo_history.TEAM_TIMEZONE)
    days = demo_history.working_days(now.astimezone(zone).date())
    # Slack's part happened at 15:00 on the last working day that has reached 15:00.
    at = max(moment for d in days if (moment := datetime.combine(d, clock(15, 0), zone)) <= now)
    current_sprint_start = days[2 * demo_history.SPRINT_WORKING_DAYS]
    closed_sprint_id = demo_history.SPRINT_IDS[-2]
    with database.transaction() as session:
        summary = demo_slack.play_slack(
            session, team_slug=demo_history.TEAM_SLUG, sprint_jira_id=closed_sprint_id, at=at, now=now
        )
        existing = {c["title"] for c in progress_admin.list_challenges(session, demo_history.TEAM_SLUG)}
        for spec, who in CHALLENGES:
            person = None if who is None else demo_history.PEOPLE[who]
            member_id = None if person is None else member_id_for_jira(session, person.account_id)
            if spec[:1].upper() + spec[1:] not in existing:
                progress_admin.add_challenge(
                    session,
                    demo_history.TEAM_SLUG,
                    spec,
                    member_id,
                    today=current_sprint_start,
                    recompute=False,
                )
        progress_admin.recompute_slug(session, demo_history.TEAM_SLUG)
    return summary


def _wait_healthy(base: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace").splitlines()[-5:]
            raise SystemExit(
                f"the server exited with status {server.returncode}; the end of its log ({log}):\n"
                + "\n".join(tail)
            )
        try:
            if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not become ready within {timeout:.0f} s")


def _wait_processed(database: Database, timeout: float = 120.0) -> None:
    """Jobs run in the background; the inbox tells us when they have caught up."""
    from service.intake import inbox

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.sessions() as session:
            if inbox.status(session).counts.get("pending", 0) == 0:
                return
        time.sleep(0.2)
