"""Win streaks: consecutive working days with at least one counted win.

Weekends, holidays and a person's freeze days are transparent: they neither extend nor break
a streak. Days are local dates in the team's zone (DST included): a win at 00:30 on a
Tuesday in Berlin is still Monday in UTC, and it counts for Tuesday.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from service.domain.calendar import TeamCalendar
from service.domain.progress_inputs import RecordedWin, StreakFreeze
from service.domain.team_rules import TeamRules
from service.domain.win_timeline import WinTimeline
from service.domain.wins import WinDraft, WinKind, WinSource


@dataclass(frozen=True, slots=True)
class StreakStats:
    current: int  # 0 when the last run is broken as of ``today``
    best: int
    current_start: date | None
    last_day: date | None  # the last streak day seen, current or not


class StreakTracker:
    """Follows one person's (or the team's) streak as streak days arrive in increasing order."""

    __slots__ = ("_calendar", "_frozen", "_thresholds", "best", "last_day", "run_length", "run_start")

    def __init__(self, calendar: TeamCalendar, thresholds: Iterable[int], frozen: Iterable[int] = ()) -> None:
        self._calendar = calendar
        self._thresholds = frozenset(thresholds)
        # Only frozen *working* days matter: the rest are already transparent.
        self._frozen = sorted({d for d in frozen if calendar.is_working_ordinal(d)})
        self.run_start: int | None = None
        self.run_length = 0
        self.last_day: int | None = None
        self.best = 0

    def add_freeze(self, ordinal: int) -> None:
        if self._calendar.is_working_ordinal(ordinal) and ordinal not in self._frozen:
            insort(self._frozen, ordinal)

    def _bridged(self, first: int, last: int) -> bool:
        """True when every working day strictly between the two days is frozen."""
        gap = self._calendar.working_days_between(first, last)
        if gap == 0:
            return True
        frozen = bisect_left(self._frozen, last) - bisect_right(self._frozen, first)
        return frozen == gap

    def add_day(self, ordinal: int) -> tuple[int, ...]:
        """Record a day with a counted win; returns the thresholds this day reaches.

        Non-working days are ignored. Days must not go backwards (the same day again is fine).
        """
        if not self._calendar.is_working_ordinal(ordinal):
            return ()
        last = self.last_day
        if last is not None and ordinal <= last:
            if ordinal < last:
                raise ValueError("streak days must be added in increasing order")
            return ()
        if last is None or not self._bridged(last, ordinal):
            self.run_start = ordinal
            self.run_length = 1
        else:
            self.run_length += 1
        self.last_day = ordinal
        self.best = max(self.best, self.run_length)
        return (self.run_length,) if self.run_length in self._thresholds else ()

    def stats(self, today: date) -> StreakStats:
        last = self.last_day
        if last is None:
            return StreakStats(0, self.best, None, None)
        today_ordinal = today.toordinal()
        # Today is not over yet, so a streak whose last day is the previous working day is alive.
        alive = last >= today_ordinal or self._bridged(last, today_ordinal)
        return StreakStats(
            current=self.run_length if alive else 0,
            best=self.best,
            current_start=date.fromordinal(self.run_start) if alive and self.run_start is not None else None,
            last_day=date.fromordinal(last),
        )


def streak_draft(owner: str, ref: str, threshold: int, run_start: int, trigger: RecordedWin) -> WinDraft:
    """``owner`` is "member" or "team"; ``ref`` is the member_ref for a personal streak and the team's id
    for a team streak.

    Source keys are unique across all teams, so a team streak's key must name its team. Stored wins
    carry the owner under the details key "scope", as they always have.
    """
    start = date.fromordinal(run_start).isoformat()
    personal = owner == "member"
    return WinDraft(
        kind=WinKind.STREAK,
        source=WinSource.ENGINE,
        source_key=f"streak:{owner}:{ref}:{threshold}:{start}",
        title=f"{threshold}-day win streak" if personal else f"Team {threshold}-day win streak",
        occurred_at=trigger.occurred_at,
        member_ref=ref if personal else None,
        details={"scope": owner, "threshold": threshold, "start_date": start, "trigger_win_id": trigger.id},
    )


def frozen_days_by_member(freezes: Iterable[StreakFreeze]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for freeze in freezes:
        out.setdefault(freeze.member_ref, []).append(freeze.day.toordinal())
    return out


@dataclass(frozen=True, slots=True)
class StreakOutcome:
    drafts: list[WinDraft]
    member_stats: Mapping[str, StreakStats]
    team_stats: StreakStats


def compute_streaks(
    timeline: WinTimeline,
    calendar: TeamCalendar,
    rules: TeamRules,
    freezes: Iterable[StreakFreeze],
    today: date,
    team_ref: str,
) -> StreakOutcome:
    """Every streak draft for the whole history, plus current/best per member and for the team."""
    frozen = frozen_days_by_member(freezes)
    thresholds = rules.streak_thresholds
    member_on = "member" in rules.enabled_streaks
    team_on = "team" in rules.enabled_streaks
    team = StreakTracker(calendar, thresholds)
    trackers: dict[str, StreakTracker] = {
        m: StreakTracker(calendar, thresholds, frozen.get(m, ()))
        for m in set(timeline.members)
        if m is not None
    }
    drafts: list[WinDraft] = []
    wins, members = timeline.wins, timeline.members
    for day in timeline.days:
        if not calendar.is_working_ordinal(day.ordinal):
            continue
        for threshold in team.add_day(day.ordinal):
            if team_on:
                start = team.run_start or day.ordinal
                drafts.append(streak_draft("team", team_ref, threshold, start, wins[day.start]))
        for member in day.members:
            if member is None:
                continue
            tracker = trackers[member]
            for threshold in tracker.add_day(day.ordinal):
                if member_on:
                    first = members.index(member, day.start, day.end)
                    start = tracker.run_start or day.ordinal
                    drafts.append(streak_draft("member", member, threshold, start, wins[first]))
    return StreakOutcome(
        drafts=drafts,
        member_stats={m: t.stats(today) for m, t in trackers.items()},
        team_stats=team.stats(today),
    )
