"""``sprintwins demo``: the whole flow on the embedded default, through the real HTTP endpoint."""

from __future__ import annotations

import copy
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from service.cli.replay import replay_files

PAYLOADS = Path(__file__).parent / "demo_payloads"
CORPUS_ORDER = (
    "webhook-issue-created.json",
    "webhook-issue-updated-started-working.json",
    "webhook-issue-updated-resolved.json",
    "webhook-issue-updated-reopened.json",
    "webhook-issue-updated-sprint.json",
    "webhook-cloud-comment-created.json",
)
PEOPLE = (
    ("5c5f880629be9642ba5293a1", "Ada Lovelace"),
    ("5c5f880629be9642ba5293a2", "Grace Hopper"),
    ("5c5f880629be9642ba5293a3", "Katherine Johnson"),
)
DEMO_ISSUES = (
    ("TES-101", "Onboarding email explains the first step", 3.0, 0),
    ("TES-102", "Search returns results in under 200 ms", 5.0, 1),
    ("TES-103", "Fix the flaky checkout test", 2.0, 2),
    ("TES-104", "Dark mode for the settings page", 3.0, 0),
    ("TES-105", "<!channel> escaping in ticket titles", 1.0, 1),
)


def derived_payloads(today: datetime) -> list[tuple[str, dict[str, Any]]]:
    """Deliveries built from the real resolved payload, dated this week so digests have content.

    The wins land in the hour before ``today`` (rounded down to the hour), so this week's digest has them
    and replaying the demo within the hour is deduplicated.
    """
    template = json.loads((PAYLOADS / "webhook-issue-updated-resolved.json").read_text())
    site = "https://some-instance-test.atlassian.net"
    day = today.replace(minute=0, second=0, microsecond=0)
    sprint = {
        "id": 42,
        "self": f"{site}/rest/agile/1.0/sprint/42",
        "state": "active",
        "name": "Sprint 42",
        "startDate": (day - timedelta(days=4)).isoformat().replace("+00:00", "Z"),
        "endDate": (day + timedelta(days=10)).isoformat().replace("+00:00", "Z"),
        "originBoardId": 1,
        "goal": "Make onboarding delightful",
    }
    out: list[tuple[str, dict[str, Any]]] = [
        (
            "demo-sprint-42-started.json",
            {"timestamp": _ms(day - timedelta(days=4)), "webhookEvent": "sprint_started", "sprint": sprint},
        )
    ]
    for n, (key, summary, points, who) in enumerate(DEMO_ISSUES):
        payload = copy.deepcopy(template)
        account, name = PEOPLE[who]
        when = day - timedelta(minutes=10 * (len(DEMO_ISSUES) - n))
        payload["timestamp"] = _ms(when)
        issue = payload["issue"]
        issue["key"] = key
        issue["id"] = str(20100 + n)
        issue["self"] = f"{site}/rest/api/2/issue/{issue['id']}"
        fields = issue["fields"]
        fields["summary"] = summary
        fields["customfield_10016"] = points
        fields["customfield_10020"] = [{**sprint, "boardId": 1}]
        fields["assignee"] = {"accountId": account, "displayName": name, "active": True}
        out.append((f"demo-{key.lower()}-done.json", payload))
    return out


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def run_demo(*, port: int, exit_after: bool, echo: Callable[[str], None] = print) -> None:
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    secret = env.get("SPRINTWINS_JIRA_WEBHOOK_SECRET") or secrets.token_hex(16)
    env["SPRINTWINS_JIRA_WEBHOOK_SECRET"] = secret
    env.setdefault("SPRINTWINS_PUBLIC_URL", base)
    echo(f"Starting Sprint Wins on {base} (embedded default unless SPRINTWINS_* says otherwise)...")
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli.main", "serve", "--port", str(port), "--threads", "4"], env=env
    )
    try:
        _wait_healthy(base, server)
        with tempfile.TemporaryDirectory(prefix="sprintwins-demo-") as tmp:
            files = [PAYLOADS / name for name in CORPUS_ORDER]
            for name, payload in derived_payloads(datetime.now(UTC)):
                path = Path(tmp) / name
                path.write_text(json.dumps(payload))
                files.append(path)
            echo(f"\nPosting {len(files)} signed Jira deliveries to {base}/webhooks/jira ...")
            replay_files(files, f"{base}/webhooks/jira", secret, echo=echo)
        _wait_processed(base)
        _show_wins(base, echo)
        echo("\nThis week's digest, as it would be posted to the team's Slack channel:\n")
        subprocess.run(
            [sys.executable, "-m", "service.cli.main", "digest", "preview", "tes"], env=env, check=False
        )
        echo(f"\nOpen {base}/api/v1/teams  and  {base}/api/v1/teams/tes/wins")
        if exit_after:
            return
        echo("The service keeps running; press Ctrl-C to stop it.")
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


def _wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}; see the messages above")
        try:
            if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not become ready within {timeout:.0f} s")


def _wait_processed(base: str, timeout: float = 60.0) -> None:
    """Jobs run in the background; the inbox tells us when they have caught up."""
    from service.db import Database
    from service.intake import inbox
    from service.settings import Settings

    database = Database(Settings.from_env().database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with database.sessions() as session:
                if inbox.status(session).counts.get("pending", 0) == 0:
                    return
            time.sleep(0.2)
    finally:
        database.dispose()


def _show_wins(base: str, echo: Callable[[str], None]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    teams = requests.get(f"{base}/api/v1/teams", timeout=5).json()["teams"]
    console = Console()
    for team in teams:
        wins = requests.get(f"{base}/api/v1/teams/{team['slug']}/wins?limit=50", timeout=5).json()["wins"]
        table = Table(title=f"Wins for {team['name']} ({team['slug']})", title_justify="left")
        for column in ("when", "kind", "status", "title", "who", "points"):
            table.add_column(column)
        for win in wins:
            member = win["member"] or {}
            cells = (
                win["occurred_at"][:16].replace("T", " "),
                win["kind"],
                win["status"],
                win["title"],
                member.get("name") or ("a teammate" if member.get("anonymous") else "-"),
                "" if win["points"] is None else f"{win['points']:g}",
            )
            table.add_row(*(Text(cell) for cell in cells))  # Text: titles are data, not markup
        console.print(table)
