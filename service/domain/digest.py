"""Celebration digests composed as Slack Block Kit: what a period's and a sprint's digest say.

Every piece of user text (titles, names, goals, team names) is escaped by ``service.domain.mrkdwn``
before it enters a mrkdwn object or the fallback ``text``; ``plain_text`` objects (header, button)
carry raw text because Slack does not parse markup there. People who opted out of public sharing
arrive with ``member_name=None``: they are shown as "a teammate", but their wins still count.

Composition is O(n log k) in the number of wins: one pass for the totals and ``heapq.nlargest`` for
the top list, so a period with 100,000 wins composes in tens of milliseconds. The block shapes,
Block Kit's limits and the console rendering are ``service.domain.digest_blocks``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service.domain.digest_blocks import (
    MAX_BUTTON_VALUE_CHARS,
    Digest,
    clamp_percent,
    context,
    divider,
    header,
    mrkdwn_text,
    one_line,
    progress_bar,
    section,
)
from service.domain.mrkdwn import escape_mrkdwn, is_slack_user_id, link, mention, truncate_plain
from service.domain.wins import WinKind

TOP_WINS_LIMIT = 8
SIDE_LIST_LIMIT = 10  # kudos, streaks and badges shown before "+N more"
MAX_TITLE_CHARS = 150
SPRINT_GOAL_MET_ACTION_ID = "sprint_goal_met"
ANONYMOUS = "a teammate"

# These kinds have sections of their own, so they never compete for a "top win" slot.
OWN_SECTION_KINDS = frozenset({WinKind.STREAK, WinKind.BADGE, WinKind.KUDOS})
_KIND_EMOJI: Mapping[WinKind, str] = {
    WinKind.TICKET: ":white_check_mark:",
    WinKind.SPRINT_STARTED: ":rocket:",
    WinKind.SPRINT_CLOSED: ":checkered_flag:",
    WinKind.MILESTONE: ":dart:",
    WinKind.STREAK: ":fire:",
    WinKind.BADGE: ":medal:",
    WinKind.MANUAL: ":star2:",
    WinKind.KUDOS: ":clap:",
    WinKind.CHALLENGE: ":trophy:",
}


@dataclass(frozen=True, slots=True)
class DigestWin:
    """One win as a digest shows it.

    ``member_name=None`` means nobody may be named: a person who opted out shows as "a teammate";
    with ``has_person=False`` (a team milestone or streak) no one is shown at all.
    For kudos, ``member_name`` is the recipient and ``kudos_from_name`` the giver.
    """

    id: int | str
    kind: WinKind
    title: str
    occurred_at: datetime
    member_name: str | None = None
    member_slack_id: str | None = None
    points: float | None = None
    url: str | None = None
    cheers: int = 0
    kudos_from_name: str | None = None
    has_person: bool = True


@dataclass(frozen=True, slots=True)
class SprintProgress:
    """Where the active (or just closed) sprint stands."""

    name: str
    percent_done: float  # 0-100; clamped when shown
    done_points: float
    committed_points: float
    done_issues: int
    committed_issues: int
    days_left: int | None = None
    goal: str | None = None


@dataclass(frozen=True, slots=True)
class DigestInput:
    """Everything one digest shows.

    ``wins`` are the period's wins and make the totals; ``new_streaks``, ``new_badges`` and
    ``kudos`` get sections of their own (wins of those kinds inside ``wins`` count in the totals
    but are not repeated in the top list).
    """

    team_name: str
    period_label: str  # "This week", "Today", "Sprint 42"
    period_start: datetime
    period_end: datetime
    wins: Sequence[DigestWin]
    sprint: SprintProgress | None = None
    new_streaks: Sequence[DigestWin] = ()
    new_badges: Sequence[DigestWin] = ()
    kudos: Sequence[DigestWin] = ()


def compose_digest(data: DigestInput, *, post_when_empty: bool = False) -> Digest | None:
    """Compose the period's celebration; None for an empty period unless ``post_when_empty``."""
    win_count, total_points = _totals(data.wins)
    is_empty = win_count == 0 and not (data.new_streaks or data.new_badges or data.kudos)
    if is_empty and not post_when_empty:
        return None
    names = _NameBook()
    blocks: list[dict[str, Any]] = []
    fallback: list[str] = []

    if is_empty:
        headline = f"{data.period_label} was quiet"
        blocks.append(header(f":seedling: {headline}"))
        blocks.append(
            section(
                f"No wins were recorded for *{escape_mrkdwn(data.period_label)}*. Small things count too: "
                "share one with `/win what you did`, or thank someone with `/win @teammate what they did`."
            )
        )
        fallback.append(escape_mrkdwn(f"{data.team_name}: {headline}"))
    else:
        headline = _headline(data.period_label, win_count, total_points, data.sprint)
        blocks.append(header(f":tada: {headline}"))
        fallback.append(escape_mrkdwn(f"{data.team_name}: {headline}"))
        rankable = (win for win in data.wins if win.kind not in OWN_SECTION_KINDS)
        top = heapq.nlargest(TOP_WINS_LIMIT, rankable, key=_rank)
        if top:
            lines = [_win_line(win, names) for win in top]
            blocks.append(section("*Top wins*\n" + "\n".join(lines)))
            fallback.extend(lines)
            hidden = sum(1 for win in data.wins if win.kind not in OWN_SECTION_KINDS) - len(top)
            if hidden > 0:
                blocks.append(context(f"+{hidden} more {_plural(hidden, 'win')} {_period_phrase(data)}"))

    if data.sprint is not None:
        blocks.append(divider())
        sprint_text = _sprint_text(data.sprint)
        blocks.append(section(sprint_text))
        fallback.append(sprint_text)

    if data.kudos:
        lines = [_kudos_line(item, names) for item in data.kudos[:SIDE_LIST_LIMIT]]
        lines += _more_line(len(data.kudos))
        blocks.append(section(":clap: *Kudos*\n" + "\n".join(lines)))

    achievements = [*data.new_streaks, *data.new_badges]
    if achievements:
        lines = [_achievement_line(item, names) for item in achievements[:SIDE_LIST_LIMIT]]
        lines += _more_line(len(achievements))
        blocks.append(section(":fire: *New streaks & badges*\n" + "\n".join(lines)))

    blocks.append(context(_footer(data.team_name, data.period_start, data.period_end)))
    return Digest(text="\n".join(fallback), blocks=blocks, names=names.as_mapping())


def compose_sprint_end(
    sprint: SprintProgress,
    *,
    team_name: str,
    sprint_ref: str,
    wins: Sequence[DigestWin] = (),
) -> Digest:
    """The sprint-end celebration, ending with a "Sprint goal met?" button.

    The button has ``action_id="sprint_goal_met"`` and ``value=sprint_ref`` so the action handler
    knows which sprint was confirmed without trusting anything else in the payload.
    """
    if not sprint_ref or len(sprint_ref) > MAX_BUTTON_VALUE_CHARS:
        raise ValueError(f"sprint_ref must be 1-{MAX_BUTTON_VALUE_CHARS} characters")
    names = _NameBook()
    headline = (
        f"{sprint.name} is done: {sprint.done_issues} {_plural(sprint.done_issues, 'issue')}, "
        f"{_points(sprint.done_points)} {_plural(sprint.done_points, 'point')}"
    )
    goal = f"*Goal:* {escape_mrkdwn(one_line(sprint.goal))}" if sprint.goal else "_No sprint goal was set._"
    blocks: list[dict[str, Any]] = [
        header(f":checkered_flag: {headline}"),
        section(goal),
        {
            "type": "section",
            "fields": [
                mrkdwn_text(
                    f"*Issues done*\n{sprint.done_issues} of {sprint.committed_issues}"
                    f" ({_percent(_ratio(sprint.done_issues, sprint.committed_issues))})"
                ),
                mrkdwn_text(
                    f"*Points done*\n{_points(sprint.done_points)} of {_points(sprint.committed_points)}"
                    f" ({_percent(_ratio(sprint.done_points, sprint.committed_points))})"
                ),
            ],
        },
        section(f"`{progress_bar(sprint.percent_done)}` {_percent(sprint.percent_done)} of the commitment"),
    ]
    fallback = [escape_mrkdwn(f"{team_name}: {headline}"), goal]
    top = heapq.nlargest(TOP_WINS_LIMIT, (w for w in wins if w.kind not in OWN_SECTION_KINDS), key=_rank)
    if top:
        lines = [_win_line(win, names) for win in top]
        blocks.append(section("*Highlights*\n" + "\n".join(lines)))
        fallback.extend(lines)
    blocks.append(divider())
    blocks.append(section("*Sprint goal met?* If you hit it, say so and we'll celebrate."))
    blocks.append(
        {
            "type": "actions",
            "block_id": "sprint_goal",
            "elements": [
                {
                    "type": "button",
                    "action_id": SPRINT_GOAL_MET_ACTION_ID,
                    "text": {"type": "plain_text", "text": "Yes, goal met :tada:", "emoji": True},
                    "style": "primary",
                    "value": sprint_ref,
                }
            ],
        }
    )
    blocks.append(context(f"{escape_mrkdwn(one_line(team_name))} · Sprint Wins"))
    return Digest(text="\n".join(fallback), blocks=blocks, names=names.as_mapping())


class _NameBook:
    """Collects slack id → name for the people mentioned, so a terminal can show names."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def person(self, name: str | None, slack_id: str | None) -> str:
        if name is None:  # opted out (or nobody): never named, never mentioned
            return ANONYMOUS
        if slack_id is not None and is_slack_user_id(slack_id):
            self._names[slack_id] = name
            return mention(slack_id)
        return escape_mrkdwn(one_line(name))

    def as_mapping(self) -> Mapping[str, str]:
        return dict(self._names)


def _totals(wins: Iterable[DigestWin]) -> tuple[int, float]:
    count, points = 0, 0.0
    for win in wins:
        count += 1
        points += win.points or 0.0
    return count, points


def _rank(win: DigestWin) -> tuple[float, int, datetime]:
    # Best first: points, then cheers, then the most recent.
    return (win.points or 0.0, win.cheers, win.occurred_at)


def _headline(label: str, win_count: int, points: float, sprint: SprintProgress | None) -> str:
    headline = f"{label}: {win_count} {_plural(win_count, 'win')}"
    if points:
        headline += f", {_points(points)} {_plural(points, 'point')}"
    if sprint is not None:
        headline += f"; {sprint.name} is {_percent(sprint.percent_done)} done"
    return headline


def _win_line(win: DigestWin, names: _NameBook) -> str:
    title = truncate_plain(one_line(win.title), MAX_TITLE_CHARS)
    parts = [f"{_KIND_EMOJI.get(win.kind, ':sparkles:')} {link(win.url, title)}"]
    details = [names.person(win.member_name, win.member_slack_id)] if win.has_person else []
    if win.points:
        details.append(f"{_points(win.points)} {_plural(win.points, 'pt')}")
    if win.cheers:
        details.append(f"{win.cheers} :raised_hands:")
    return f"• {parts[0]} — {' · '.join(details)}" if details else f"• {parts[0]}"


def _kudos_line(item: DigestWin, names: _NameBook) -> str:
    giver = escape_mrkdwn(one_line(item.kudos_from_name)) if item.kudos_from_name else ANONYMOUS
    recipient = names.person(item.member_name, item.member_slack_id)
    title = escape_mrkdwn(truncate_plain(one_line(item.title), MAX_TITLE_CHARS))
    return f"• {giver} → {recipient}: {title}"


def _achievement_line(item: DigestWin, names: _NameBook) -> str:
    emoji = _KIND_EMOJI.get(item.kind, ":sparkles:")
    title = escape_mrkdwn(truncate_plain(one_line(item.title), MAX_TITLE_CHARS))
    if not item.has_person:
        return f"• {emoji} {title}"
    return f"• {emoji} {names.person(item.member_name, item.member_slack_id)}: {title}"


def _sprint_text(sprint: SprintProgress) -> str:
    lines = [f"*{escape_mrkdwn(one_line(sprint.name))}*"]
    if sprint.goal:
        lines[0] += f" · goal: {escape_mrkdwn(one_line(sprint.goal))}"
    stats = [
        f"`{progress_bar(sprint.percent_done)}` {_percent(sprint.percent_done)}",
        f"{_points(sprint.done_points)} of {_points(sprint.committed_points)} points",
        f"{sprint.done_issues} of {sprint.committed_issues} issues",
    ]
    if sprint.days_left is not None:
        stats.append(f"{sprint.days_left} {_plural(sprint.days_left, 'day')} left")
    lines.append(" · ".join(stats))
    return "\n".join(lines)


def _more_line(total: int) -> list[str]:
    hidden = total - SIDE_LIST_LIMIT
    return [f"_+{hidden} more_"] if hidden > 0 else []


def _period_phrase(data: DigestInput) -> str:
    return f"in {escape_mrkdwn(one_line(data.period_label).lower())}"


def _footer(team_name: str, start: datetime, end: datetime) -> str:
    # ``end`` is exclusive: a week that ends Monday 00:00 is shown as ending on Sunday.
    last = end - timedelta(microseconds=1) if end > start else end
    span = f"{start:%a %d %b}" if start.date() == last.date() else f"{start:%a %d %b} to {last:%a %d %b}"
    return f"{escape_mrkdwn(one_line(team_name))} · {span} · Sprint Wins · give kudos with `/win @teammate …`"


def _percent(percent: float) -> str:
    return f"{round(clamp_percent(percent))}%"


def _ratio(done: float, committed: float) -> float:
    return 100.0 * done / committed if committed else 0.0


def _points(points: float) -> str:
    rounded = round(points, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:g}"


def _plural(count: float, word: str) -> str:
    return word if count == 1 else f"{word}s"
