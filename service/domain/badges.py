"""Badges: one-off recognitions, each earned at most once per person.

The triggering win is the one that crossed the threshold in (occurred_at, id) order, never
the one that happened to arrive last, so a badge is the same however events trickle in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import compress, count, repeat
from operator import eq

from service.domain.calendar import TeamCalendar
from service.domain.progress_inputs import RecordedWin
from service.domain.sprint_scope import SprintScope
from service.domain.sprint_tally import SprintTally
from service.domain.team_rules import TeamRules
from service.domain.win_timeline import WinTimeline
from service.domain.wins import WinDraft, WinKind, WinSource

BADGE_TITLES: Mapping[str, str] = {
    "first_win": "First win",
    "wins_10": "10 wins",
    "wins_50": "50 wins",
    "wins_100": "100 wins",
    "first_kudos_given": "First kudos given",
    "first_kudos_received": "First kudos received",
    "bug_squasher": "Bug squasher",
    "sprint_finisher": "Sprint finisher",
    "comeback": "Comeback",
}
WIN_COUNT_BADGES: tuple[tuple[str, int], ...] = (
    ("first_win", 1),
    ("wins_10", 10),
    ("wins_50", 50),
    ("wins_100", 100),
)


def badge_draft(
    name: str,
    member_ref: str,
    occurred_at: datetime,
    trigger_win_id: int | None,
    **details: object,
) -> WinDraft:
    return WinDraft(
        kind=WinKind.BADGE,
        source=WinSource.ENGINE,
        source_key=f"badge:{name}:{member_ref}",
        title=BADGE_TITLES[name],
        occurred_at=occurred_at,
        member_ref=member_ref,
        details={"badge": name, "trigger_win_id": trigger_win_id, **details},
    )


def _win_badge(name: str, win: RecordedWin, member_ref: str, **details: object) -> WinDraft:
    return badge_draft(name, member_ref, win.occurred_at, win.id, **details)


def compute_win_badges(timeline: WinTimeline, calendar: TeamCalendar, rules: TeamRules) -> list[WinDraft]:
    """All win-driven badges over the whole history (everything except sprint_finisher)."""
    enabled = rules.enabled_badges
    wins, members = timeline.wins, timeline.members
    drafts: list[WinDraft] = []
    totals = Counter(members)
    for member, total in totals.items():
        if member is None:
            continue
        for name, threshold in WIN_COUNT_BADGES:
            if name in enabled and total >= threshold:
                index = timeline.nth_of_member(member, threshold)
                if index is not None:
                    drafts.append(_win_badge(name, wins[index], member, threshold=threshold))

    if "bug_squasher" in enabled:
        needed = rules.bug_squasher_bugs
        bug_positions = list(compress(count(), timeline.is_bug))
        bug_members = list(map(members.__getitem__, bug_positions))
        for member, bugs in Counter(bug_members).items():
            if member is not None and bugs >= needed:
                at = -1
                for _ in range(needed):
                    at = bug_members.index(member, at + 1)
                drafts.append(_win_badge("bug_squasher", wins[bug_positions[at]], member, threshold=needed))

    if "first_kudos_given" in enabled or "first_kudos_received" in enabled:
        # Positions, not wins: built from columns, a win is only made when a badge names it.
        kudos = list(compress(count(), map(eq, timeline.kinds, repeat(WinKind.KUDOS))))
        backwards = kudos[::-1]  # later entries overwrite earlier ones, so reversing keeps the first
        if "first_kudos_received" in enabled:
            first_received = dict(zip(map(members.__getitem__, backwards), backwards, strict=True))
            drafts += [
                _win_badge("first_kudos_received", wins[i], m)
                for m, i in first_received.items()
                if m is not None
            ]
        if "first_kudos_given" in enabled:
            givers = timeline.kudos_from
            first_given = dict(zip(map(givers.__getitem__, backwards), backwards, strict=True))
            drafts += [
                _win_badge("first_kudos_given", wins[i], m) for m, i in first_given.items() if m is not None
            ]

    if "comeback" in enabled:
        pause = rules.comeback_pause_days
        last_day: dict[str, int] = {}
        came_back: set[str] = set()
        for day in timeline.days:
            for member in day.members:
                if member is None:
                    continue
                previous = last_day.get(member)
                last_day[member] = day.ordinal
                if previous is None or member in came_back:
                    continue
                gap = calendar.working_days_between(previous, day.ordinal)
                if gap >= pause:
                    came_back.add(member)
                    first = members.index(member, day.start, day.end)
                    drafts.append(_win_badge("comeback", wins[first], member, pause_working_days=gap))
    return drafts


def sprint_finisher_drafts(
    sprints: Iterable[SprintScope],
    enabled: frozenset[str],
    *,
    tallies: Sequence[SprintTally] | None = None,
) -> list[WinDraft]:
    """sprint_finisher for everyone who finished all their committed issues of a closed sprint.

    The earliest such sprint (by completion, then ref) is the one that earns it. Its trigger
    is an issue of the sprint report rather than a recorded win, so ``trigger_win_id`` is None
    and ``trigger_issue_key`` names the issue that completed the set. ``tallies`` holds
    ``SprintTally.of`` each sprint, in the same order, when the caller already has them.
    """
    if "sprint_finisher" not in enabled:
        return []
    pairs: Iterable[tuple[SprintScope, SprintTally | None]] = (
        ((s, None) for s in sprints) if tallies is None else zip(sprints, tallies, strict=True)
    )
    closed = sorted(((s, t) for s, t in pairs if s.completed_at is not None), key=_completion_order)
    drafts: list[WinDraft] = []
    awarded: set[str] = set()
    for sprint, tally in closed:
        completed_at = sprint.completed_at
        assert completed_at is not None  # filtered above; narrows the type
        # A member finished all their committed issues (in done, by completion) exactly when they
        # own as many finished committed issues as committed ones; the last of those in (done_at,
        # key) order completed the set.
        for member in (tally or SprintTally.of(sprint)).members:
            if member.member_ref in awarded or member.finished < member.committed:
                continue
            awarded.add(member.member_ref)
            drafts.append(
                badge_draft(
                    "sprint_finisher",
                    member.member_ref,
                    completed_at,
                    None,
                    sprint_ref=sprint.sprint_ref,
                    trigger_issue_key=member.last_key,
                )
            )
    return drafts


def _completion_order(pair: tuple[SprintScope, object]) -> tuple[datetime, str]:
    sprint = pair[0]
    assert sprint.completed_at is not None
    return (sprint.completed_at, sprint.sprint_ref)


class BadgeTracker:
    """Incremental badges: feed counted wins in (occurred_at, id) order with their local day."""

    __slots__ = ("_bugs", "_calendar", "_last_day", "_rules", "_wins", "awarded")

    def __init__(self, calendar: TeamCalendar, rules: TeamRules) -> None:
        self._calendar = calendar
        self._rules = rules
        self._wins: Counter[str] = Counter()
        self._bugs: Counter[str] = Counter()
        self._last_day: dict[str, int] = {}
        self.awarded: set[tuple[str, str]] = set()

    def _award(
        self, out: list[WinDraft], name: str, member: str, win: RecordedWin, **details: object
    ) -> None:
        if name in self._rules.enabled_badges and (name, member) not in self.awarded:
            self.awarded.add((name, member))
            out.append(_win_badge(name, win, member, **details))

    def apply(self, win: RecordedWin, day_ordinal: int) -> list[WinDraft]:
        out: list[WinDraft] = []
        if win.kind == WinKind.KUDOS and win.kudos_from is not None:
            self._award(out, "first_kudos_given", win.kudos_from, win)
        member = win.member_ref
        if member is None:
            return out
        self._wins[member] += 1
        total = self._wins[member]
        for name, threshold in WIN_COUNT_BADGES:
            if total == threshold:
                self._award(out, name, member, win, threshold=threshold)
        if win.is_bug:
            self._bugs[member] += 1
            if self._bugs[member] == self._rules.bug_squasher_bugs:
                self._award(out, "bug_squasher", member, win, threshold=self._rules.bug_squasher_bugs)
        if win.kind == WinKind.KUDOS:
            self._award(out, "first_kudos_received", member, win)
        previous = self._last_day.get(member)
        if previous is not None and day_ordinal > previous:
            gap = self._calendar.working_days_between(previous, day_ordinal)
            if gap >= self._rules.comeback_pause_days:
                self._award(out, "comeback", member, win, pause_working_days=gap)
        if previous is None or day_ordinal > previous:
            self._last_day[member] = day_ordinal
        return out
