"""How one win, person, sprint or number reads in a digest: the wording shared by every section.

Every piece of user text (titles, names, goals) is escaped by ``service.domain.mrkdwn`` here, before
it enters a mrkdwn line. The wording is fixed (no random phrases), so the same wins always read the
same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from service.domain.digest_blocks import clamp_percent, one_line, progress_bar
from service.domain.mrkdwn import escape_mrkdwn, is_slack_user_id, link, mention, truncate_plain
from service.domain.wins import WinKind

MAX_TITLE_CHARS = 150
ANONYMOUS = "a teammate"
KIND_EMOJI: Mapping[WinKind, str] = {
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
    """Where a sprint stands: its burn-up, done of committed.

    ``basis`` is how the sprint's progress milestones measure it: by points when the sprint committed
    points and every finished issue carries some, otherwise by issue count.
    """

    name: str
    percent_done: float  # 0-100 on ``basis``; clamped when shown
    done_points: float
    committed_points: float
    done_issues: int
    committed_issues: int
    days_left: int | None = None
    goal: str | None = None
    basis: Literal["points", "count"] = "points"

    @property
    def by_points(self) -> bool:
        return self.basis == "points" and self.committed_points > 0


def id_order(win: DigestWin) -> tuple[int, int, str]:
    """A total order on ids (ints, or strings in tests and previews), so ties never depend on input order."""
    return (0, win.id, "") if isinstance(win.id, int) else (1, 0, win.id)


def time_order(win: DigestWin) -> tuple[datetime, tuple[int, int, str]]:
    """Oldest first, then by id: the order of every list that is not a ranking."""
    return (win.occurred_at, id_order(win))


class NameBook:
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


def win_line(win: DigestWin, names: NameBook) -> str:
    """``• ✅ <url|title> — @alice · 3 pts · 2 🙌``."""
    title = truncate_plain(one_line(win.title), MAX_TITLE_CHARS)
    shown = f"{KIND_EMOJI.get(win.kind, ':sparkles:')} {link(win.url, title)}"
    details = [names.person(win.member_name, win.member_slack_id)] if win.has_person else []
    if win.points:
        details.append(f"{points_text(win.points)} {plural(win.points, 'pt')}")
    if win.cheers:
        details.append(f"{win.cheers} :raised_hands:")
    return f"• {shown} — {' · '.join(details)}" if details else f"• {shown}"


def kudos_line(item: DigestWin, names: NameBook) -> str:
    giver = escape_mrkdwn(one_line(item.kudos_from_name)) if item.kudos_from_name else ANONYMOUS
    recipient = names.person(item.member_name, item.member_slack_id)
    return f"• {giver} → {recipient}: {title_text(item.title)}"


def achievement_line(item: DigestWin, names: NameBook) -> str:
    """A milestone, streak, badge or challenge: ``• 🔥 @alice: 10-day streak``."""
    emoji = KIND_EMOJI.get(item.kind, ":sparkles:")
    if not item.has_person:
        return f"• {emoji} {title_text(item.title)}"
    return f"• {emoji} {names.person(item.member_name, item.member_slack_id)}: {title_text(item.title)}"


def burn_up_line(sprint: SprintProgress) -> str:
    """One sprint's burn-up on one line: done of committed, on the basis its milestones use."""
    name = f"*{escape_mrkdwn(one_line(sprint.name))}*"
    if sprint.by_points:
        done = f"{points_text(sprint.done_points)} of {points_text(sprint.committed_points)} points"
    else:
        done = f"{sprint.done_issues} of {sprint.committed_issues} {plural(sprint.committed_issues, 'issue')}"
    parts = [f"{name} `{progress_bar(sprint.percent_done)}` {percent_text(sprint.percent_done)}", done]
    if sprint.days_left is not None:
        parts.append(f"{sprint.days_left} {plural(sprint.days_left, 'day')} left")
    if sprint.goal:
        parts.append(f"goal: {escape_mrkdwn(one_line(sprint.goal))}")
    return "• " + " · ".join(parts)


def title_text(title: str) -> str:
    return escape_mrkdwn(truncate_plain(one_line(title), MAX_TITLE_CHARS))


def percent_text(percent: float) -> str:
    return f"{round(clamp_percent(percent))}%"


def ratio(done: float, committed: float) -> float:
    return 100.0 * done / committed if committed else 0.0


def points_text(points: float) -> str:
    rounded = round(points, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:g}"


def plural(count: float, word: str) -> str:
    return word if count == 1 else f"{word}s"


def counted(count: int, word: str) -> str:
    """``1 badge``, ``3 milestones``."""
    return f"{count} {plural(count, word)}"
