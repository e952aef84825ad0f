"""What the demo prints once its history is in: streaks, badges, milestones, kudos, cheers, challenges.

Everything is read back through the JSON API a user would open, and laid out in at most
:data:`WIDTH` columns so that it reads the same in a terminal, a pipe or the README.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

from service.cli import demo_history
from service.cli.demo_slack import SlackSummary

WIDTH = 80
LATEST_WINS = 12
_SHOWN_ABOVE = frozenset({"streak", "badge", "milestone"})
_STEP = " of the committed scope done"
_KIND_LABELS = {"sprint_started": "sprint", "sprint_closed": "sprint"}


def urls(base: str, slug: str) -> list[tuple[str, str]]:
    """Where to look next: the one list of addresses the demo prints."""
    return [
        ("The dashboard", f"{base}/teams/{slug}"),
        ("All teams", f"{base}/"),
        ("The team's wins", f"{base}/api/v1/teams/{slug}/wins"),
        ("Its streaks", f"{base}/api/v1/teams/{slug}/streaks"),
        ("Its sprints", f"{base}/api/v1/teams/{slug}/sprints"),
        ("Its challenges", f"{base}/api/v1/teams/{slug}/challenges"),
        ("Every team", f"{base}/api/v1/teams"),
    ]


def show(base: str, slug: str, slack: SlackSummary, echo: Callable[[str], None]) -> None:
    api = f"{base}/api/v1/teams/{slug}"
    wins = _all_wins(f"{api}/wins")
    streaks = requests.get(f"{api}/streaks", timeout=10).json()
    challenges = requests.get(f"{api}/challenges", timeout=10).json()["challenges"]
    for line in fitted(_lines(slug, wins, streaks, challenges, slack)):
        echo(line)


def fitted(lines: Iterable[str], width: int = WIDTH) -> Iterator[str]:
    """Each line within ``width`` columns: long ones wrap under their own indent (URLs are cut)."""
    for line in lines:
        if len(line) <= width:
            yield line
            continue
        indent = " " * (len(line) - len(line.lstrip()))
        yield from textwrap.wrap(
            line,
            width=width,
            subsequent_indent=indent + "  ",
            break_long_words=True,
            break_on_hyphens=False,
        )


def _all_wins(url: str) -> list[dict[str, Any]]:
    wins: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
        page = requests.get(url, params=params, timeout=10).json()
        wins += page["wins"]
        cursor = page.get("next_cursor")
        if not cursor:
            return [w for w in wins if w["status"] == "active"]


def _who(win: dict[str, Any]) -> str:
    member = win.get("member") or {}
    return str(member.get("name") or ("a teammate" if member.get("anonymous") else "the team"))


def _lines(
    slug: str,
    wins: list[dict[str, Any]],
    streaks: dict[str, Any],
    challenges: list[dict[str, Any]],
    slack: SlackSummary,
) -> Iterator[str]:
    zone = ZoneInfo(demo_history.TEAM_TIMEZONE)
    today = datetime.now(zone)
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for win in wins:
        by_kind[win["kind"]].append(win)
    yield ""
    team = f"The {demo_history.TEAM_NAME} team ({slug}), {demo_history.TEAM_TIMEZONE}"
    yield f"{team}: today is {today:%A %d %B %Y}"
    yield (
        f"{len(by_kind['ticket'])} tickets done by {len(demo_history.PEOPLE)} people in "
        f"{len(demo_history.SPRINT_GOALS)} sprints; {len(wins)} wins in all"
    )
    yield ""
    yield "Streaks: working days in a row with a win. Weekends and holidays don't break"
    yield "them; a streak whose last win was on the previous working day is still alive."
    yield f"  {'':<26}{'now':>5}{'best':>6}"
    for row in streaks.get("members", []):
        name = (row["member"] or {}).get("name") or "a teammate"
        yield f"  {name[:26]:<26}{row['current']:>5}{row['best']:>6}"
    if streaks.get("team"):
        yield f"  {'The whole team':<26}{streaks['team']['current']:>5}{streaks['team']['best']:>6}"
    yield ""
    yield "Streak celebrations"
    for win in sorted(by_kind["streak"], key=lambda w: w["occurred_at"])[-6:]:
        yield f"  {_day(win, zone)}  {_who(win)}: {win['title']}"
    yield ""
    yield "Badges"
    badges: dict[str, list[str]] = defaultdict(list)
    for win in sorted(by_kind["badge"], key=lambda w: w["occurred_at"]):
        badges[_who(win)].append(win["title"])
    for who, titles in badges.items():
        yield f"  {who}: {', '.join(titles)}"
    yield ""
    yield "Sprint milestones"
    yield from _milestones(by_kind["milestone"])
    yield ""
    yield "From Slack: kudos, wins and cheers"
    for giver, receiver, text in slack.kudos:
        yield f"  {giver} to {receiver}: {text}"
    for who, text in slack.own_wins:
        yield f"  {who}, own win: {text}"
    if slack.cheers:
        yield f"  {slack.cheers} cheers on the post celebrating {slack.cheered}"
    if slack.goal_confirmed:
        yield f"  The team confirmed that {slack.goal_confirmed} met its sprint goal"
    yield ""
    yield "Challenges"
    for row in challenges:
        who = (row.get("member") or {}).get("name") or "The team"
        state = "done" if row.get("completed_at") else f"{row['progress']:g} of {row['target']:g} so far"
        yield f"  {who}: {row['title']} ({row['starts_on']} to {row['ends_on']}): {state}"
    yield ""
    yield "Latest wins (streaks, badges and milestones are above)"
    latest = [w for w in wins if w["kind"] not in _SHOWN_ABOVE][:LATEST_WINS]
    for win in latest:
        kind = _KIND_LABELS.get(win["kind"], win["kind"])
        title = win["title"] if len(win["title"]) <= 40 else win["title"][:39] + "…"
        yield f"  {_day(win, zone)} {kind:<9} {_who(win)[:16]:<16} {title}"


def _day(win: dict[str, Any], zone: ZoneInfo) -> str:
    moment = datetime.fromisoformat(win["occurred_at"].replace("Z", "+00:00")).astimezone(zone)
    return f"{moment:%a %d %b}"


def _milestones(milestones: list[dict[str, Any]]) -> Iterator[str]:
    """One paragraph per sprint, oldest sprint first, milestones in the order they happened."""
    for name in demo_history.sprint_names():
        reached: list[str] = []
        for win in sorted(milestones, key=lambda w: w["occurred_at"]):
            title = win["title"]
            if title.startswith(f"{name}: "):
                reached.append(title.removeprefix(f"{name}: "))
            elif title == f"First win of {name}":
                reached.append(f"first win ({_who(win)})")
        if reached:
            yield f"  {name}: " + "; ".join(_steps_together(reached))


def _steps_together(reached: list[str]) -> list[str]:
    """ "25% of the committed scope done", "50% of ..." read as one "25/50% of ..."."""
    steps = [title.split("%", 1)[0] for title in reached if title.endswith(_STEP)]
    out: list[str] = []
    for title in reached:
        if not title.endswith(_STEP):
            out.append(title)
        elif title.startswith(f"{steps[0]}%"):
            out.append("/".join(steps) + "%" + _STEP)
    return out


def try_it(base: str, webhook: str, secret: str) -> list[str]:
    lines = [
        "Look around",
        *(f"  {label + ':':<17} {url}" for label, url in urls(base, demo_history.TEAM_SLUG)),
    ]
    lines += [
        "",
        "Post your own Jira payloads (each file one delivery), signed with the secret:",
        f"  SPRINTWINS_JIRA_WEBHOOK_SECRET={secret} \\",
        f"    sprintwins events replay --url {webhook} FILE...",
        "",
        "And on the command line:",
        f"  sprintwins member list --team {demo_history.TEAM_SLUG}",
        f"  sprintwins challenge list {demo_history.TEAM_SLUG}",
        f"  sprintwins digest preview {demo_history.TEAM_SLUG} --period sprint",
    ]
    return list(fitted(lines))
