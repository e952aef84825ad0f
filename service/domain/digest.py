"""Celebration digests composed as Slack Block Kit: what a period's and a sprint's digest say.

A digest leads with progress: each sprint's burn-up, the milestones crossed in the period and the
streaks that grew. The headline counts the wins people made (tickets, manual wins, kudos, as
``COUNTED_KINDS`` says); milestones, streaks, badges and challenges are counted on their own, and
milestones are never folded into "+N more". Then come the top wins, the most cheered ones, kudos,
and new badges and challenges.

The caller hands over only what the team's rules let count, with "only me" wins left out; people
who opted out of being named arrive with ``member_name=None`` and show as "a teammate". Every list
has a fixed order and every ranking a total one (ties end on the win id), so the same period always
composes the same digest. User text is escaped in ``service.domain.digest_lines``; block shapes and
Block Kit's limits are ``service.domain.digest_blocks``.

Composition is O(n log k) in the number of wins: one pass to group them, ``heapq.nlargest`` for the
rankings, so a period with 100,000 wins composes in tens of milliseconds.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from service.domain.digest_blocks import (
    MAX_BLOCKS,
    MAX_BUTTON_VALUE_CHARS,
    Digest,
    context,
    divider,
    header,
    mrkdwn_text,
    one_line,
    packed_sections,
    progress_bar,
    section,
)
from service.domain.digest_lines import (
    ANONYMOUS,
    DigestWin,
    NameBook,
    SprintProgress,
    achievement_line,
    burn_up_line,
    counted,
    id_order,
    kudos_line,
    percent_text,
    plural,
    points_text,
    ratio,
    time_order,
    win_line,
)
from service.domain.mrkdwn import escape_mrkdwn
from service.domain.wins import COUNTED_KINDS, WinKind

__all__ = [
    "ANONYMOUS",
    "MOST_CHEERED_LIMIT",
    "SIDE_LIST_LIMIT",
    "SPRINT_GOAL_MET_ACTION_ID",
    "TOP_WINS_LIMIT",
    "DigestInput",
    "DigestWin",
    "SprintProgress",
    "compose_digest",
    "compose_sprint_end",
]

TOP_WINS_LIMIT = 8
SIDE_LIST_LIMIT = 10  # kudos, streaks, badges and challenges shown before "+N more"
MOST_CHEERED_LIMIT = 3
SPRINT_GOAL_MET_ACTION_ID = "sprint_goal_met"
# The wins people made that compete for a "top win" slot; kudos have a section of their own.
RANKED_KINDS = frozenset({WinKind.TICKET, WinKind.MANUAL})


@dataclass(frozen=True, slots=True)
class DigestInput:
    """Everything one digest shows.

    ``wins`` are every win the period lists, of any kind; composition sorts them into sections.
    ``sprints`` are the burn-ups to show (the active sprints, and those that closed in the period).
    """

    team_name: str
    period_label: str  # "This week", "Today", "Sprint 42"
    period_start: datetime
    period_end: datetime
    wins: Sequence[DigestWin]
    sprints: Sequence[SprintProgress] = ()


@dataclass(slots=True)
class _Sections:
    """A period's wins sorted into the sections that show them."""

    made: list[DigestWin] = field(default_factory=list)  # tickets and manual wins, ranked
    kudos: list[DigestWin] = field(default_factory=list)
    milestones: list[DigestWin] = field(default_factory=list)  # with the sprints' started and closed
    streaks: list[DigestWin] = field(default_factory=list)
    badges: list[DigestWin] = field(default_factory=list)  # with completed challenges
    people_count: int = 0
    people_points: float = 0.0

    @classmethod
    def of(cls, wins: Sequence[DigestWin]) -> _Sections:
        out = cls()
        by_kind = {
            WinKind.TICKET: out.made,
            WinKind.MANUAL: out.made,
            WinKind.KUDOS: out.kudos,
            WinKind.MILESTONE: out.milestones,
            WinKind.SPRINT_STARTED: out.milestones,
            WinKind.SPRINT_CLOSED: out.milestones,
            WinKind.STREAK: out.streaks,
            WinKind.BADGE: out.badges,
            WinKind.CHALLENGE: out.badges,
        }
        for win in wins:
            by_kind[win.kind].append(win)
            if win.kind in COUNTED_KINDS:
                out.people_count += 1
                out.people_points += win.points or 0.0
        for side in (out.kudos, out.milestones, out.streaks, out.badges):
            side.sort(key=time_order)
        return out

    def side_counts(self) -> list[str]:
        """What people's wins earned, counted apart from them: ``2 milestones``, ``1 streak``…"""
        milestones = sum(1 for win in self.milestones if win.kind is WinKind.MILESTONE)
        challenges = sum(1 for win in self.badges if win.kind is WinKind.CHALLENGE)
        pairs = (
            (milestones, "milestone"),
            (len(self.streaks), "streak"),
            (len(self.badges) - challenges, "badge"),
            (challenges, "challenge"),
        )
        return [counted(n, word) for n, word in pairs if n]


def compose_digest(data: DigestInput, *, post_when_empty: bool = False) -> Digest | None:
    """Compose the period's celebration; None for an empty period unless ``post_when_empty``."""
    if not data.wins and not post_when_empty:
        return None
    sections = _Sections.of(data.wins)
    names = NameBook()
    footer = context(_footer(data.team_name, data.period_start, data.period_end))
    if not data.wins:
        headline = f"{data.period_label} was quiet"
        blocks = [
            header(f":seedling: {headline}"),
            section(
                f"No wins were recorded for *{escape_mrkdwn(data.period_label)}*. Small things count too: "
                "share one with `/win what you did`, or thank someone with `/win @teammate what they did`."
            ),
        ]
        progress = _progress_lines(data.sprints, sections, names)
        blocks += packed_sections(":chart_with_upwards_trend: *Progress*", progress) if progress else []
        fallback = [escape_mrkdwn(f"{data.team_name}: {headline}"), *progress]
        return Digest(text="\n".join(fallback), blocks=[*blocks, footer], names=names.as_mapping())

    side_counts = sections.side_counts()
    headline = _headline(data.period_label, sections, data.sprints, side_counts)
    blocks = [header(f":tada: {headline}")]
    fallback = [escape_mrkdwn(f"{data.team_name}: {headline}")]
    if sections.people_count and side_counts:
        blocks.append(context("Also: " + " · ".join(side_counts)))

    progress = _progress_lines(data.sprints, sections, names)
    if progress:
        blocks += packed_sections(":chart_with_upwards_trend: *Progress*", progress)
        fallback += progress

    top = heapq.nlargest(TOP_WINS_LIMIT, sections.made, key=_rank)
    if top:
        lines = [win_line(win, names) for win in top]
        blocks.append(section("*Top wins*\n" + "\n".join(lines)))
        fallback += lines
        hidden = len(sections.made) - len(top)
        if hidden > 0:
            blocks.append(context(f"+{hidden} more {plural(hidden, 'win')} {_period_phrase(data)}"))

    cheered = heapq.nlargest(MOST_CHEERED_LIMIT, (w for w in data.wins if w.cheers > 0), key=_cheer_rank)
    if cheered:
        blocks.append(
            section(":raised_hands: *Most cheered*\n" + "\n".join(win_line(w, names) for w in cheered))
        )

    if sections.kudos:
        lines = [kudos_line(item, names) for item in sections.kudos[:SIDE_LIST_LIMIT]]
        blocks.append(section(":clap: *Kudos*\n" + "\n".join(lines + _more_line(len(sections.kudos)))))

    if sections.badges:
        lines = [achievement_line(item, names) for item in sections.badges[:SIDE_LIST_LIMIT]]
        lines += _more_line(len(sections.badges))
        title = (
            "New badges & challenges"
            if any(w.kind is WinKind.CHALLENGE for w in sections.badges)
            else "New badges"
        )
        blocks.append(section(f":medal: *{title}*\n" + "\n".join(lines)))

    # Progress leads, so if the blocks ever outgrow Block Kit it is the later lists that give way.
    blocks = [*blocks[: MAX_BLOCKS - 1], footer]
    shown = [
        *sections.milestones,
        *sections.streaks[:SIDE_LIST_LIMIT],
        *top,
        *cheered,
        *sections.kudos[:SIDE_LIST_LIMIT],
        *sections.badges[:SIDE_LIST_LIMIT],
    ]
    return Digest(text="\n".join(fallback), blocks=blocks, names=names.as_mapping(), win_ids=_ids(shown))


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
    names = NameBook()
    headline = (
        f"{sprint.name} is done: {sprint.done_issues} {plural(sprint.done_issues, 'issue')}, "
        f"{points_text(sprint.done_points)} {plural(sprint.done_points, 'point')}"
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
                    f" ({percent_text(ratio(sprint.done_issues, sprint.committed_issues))})"
                ),
                mrkdwn_text(
                    f"*Points done*\n{points_text(sprint.done_points)}"
                    f" of {points_text(sprint.committed_points)}"
                    f" ({percent_text(ratio(sprint.done_points, sprint.committed_points))})"
                ),
            ],
        },
        section(
            f"`{progress_bar(sprint.percent_done)}` {percent_text(sprint.percent_done)} of the commitment"
        ),
    ]
    fallback = [escape_mrkdwn(f"{team_name}: {headline}"), goal]
    top = heapq.nlargest(TOP_WINS_LIMIT, (w for w in wins if w.kind in RANKED_KINDS), key=_rank)
    if top:
        lines = [win_line(win, names) for win in top]
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
    return Digest(text="\n".join(fallback), blocks=blocks, names=names.as_mapping(), win_ids=_ids(top))


def _progress_lines(sprints: Sequence[SprintProgress], sections: _Sections, names: NameBook) -> list[str]:
    """Each sprint's burn-up, every milestone of the period (never cut short), then the streaks."""
    lines = [burn_up_line(sprint) for sprint in sprints]
    lines += [achievement_line(win, names) for win in sections.milestones]
    lines += [achievement_line(win, names) for win in sections.streaks[:SIDE_LIST_LIMIT]]
    return lines + _more_line(len(sections.streaks), "streak")


def _ids(wins: Sequence[DigestWin]) -> tuple[int | str, ...]:
    unique = {id_order(win): win.id for win in wins}
    return tuple(unique[key] for key in sorted(unique))


def _rank(win: DigestWin) -> tuple[float, int, datetime, tuple[int, int, str]]:
    # Best first: points, then cheers, then the most recent, then the id (ties never depend on order).
    return (win.points or 0.0, win.cheers, win.occurred_at, id_order(win))


def _cheer_rank(win: DigestWin) -> tuple[int, float, datetime, tuple[int, int, str]]:
    return (win.cheers, win.points or 0.0, win.occurred_at, id_order(win))


def _headline(
    label: str, sections: _Sections, sprints: Sequence[SprintProgress], side_counts: list[str]
) -> str:
    if not sections.people_count:
        # Nobody's own win yet, but something moved: say what did rather than "0 wins".
        return f"{label}: {', '.join(side_counts or ['sprint news'])}"
    headline = f"{label}: {counted(sections.people_count, 'win')}"
    if sections.people_points:
        headline += f", {points_text(sections.people_points)} {plural(sections.people_points, 'point')}"
    if len(sprints) == 1:
        headline += f"; {sprints[0].name} is {percent_text(sprints[0].percent_done)} done"
    return headline


def _more_line(total: int, word: str = "") -> list[str]:
    hidden = total - SIDE_LIST_LIMIT
    if hidden <= 0:
        return []
    return [f"_+{hidden} more {plural(hidden, word)}_" if word else f"_+{hidden} more_"]


def _period_phrase(data: DigestInput) -> str:
    return f"in {escape_mrkdwn(one_line(data.period_label).lower())}"


def _footer(team_name: str, start: datetime, end: datetime) -> str:
    # ``end`` is exclusive: a week that ends Monday 00:00 is shown as ending on Sunday.
    last = end - timedelta(microseconds=1) if end > start else end
    span = f"{start:%a %d %b}" if start.date() == last.date() else f"{start:%a %d %b} to {last:%a %d %b}"
    return f"{escape_mrkdwn(one_line(team_name))} · {span} · Sprint Wins · give kudos with `/win @teammate …`"
