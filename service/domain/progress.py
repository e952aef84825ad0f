"""The progress engine: everything streaks, badges, milestones and challenges say about a team.

Two ways in, one answer:

* ``recompute`` looks at the whole history at once. It is the reference, and it is built for
  volume (one sort, column operations, per-day rather than per-win time-zone work).
* ``ProgressState`` follows events one by one for the live path. Fed the same wins in
  (occurred_at, id) order it emits exactly the drafts ``recompute`` returns.

Every draft has a deterministic ``source_key``, so recording drafts again is a no-op.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from service.domain.badges import BadgeTracker, compute_win_badges, sprint_finisher_drafts
from service.domain.calendar import TeamCalendar
from service.domain.challenges import (
    Challenge,
    ChallengeProgress,
    ChallengeTracker,
    challenge_draft,
    track_on_timeline,
)
from service.domain.milestones import first_win_of_sprint_draft, sprint_milestones
from service.domain.progress_inputs import IssueAge, RecordedWin, StreakFreeze, is_counted, sort_key
from service.domain.sprint_scope import SprintScope
from service.domain.sprint_tally import SprintTally
from service.domain.streaks import (
    StreakStats,
    StreakTracker,
    compute_streaks,
    frozen_days_by_member,
    streak_draft,
)
from service.domain.team_rules import TeamRules
from service.domain.win_columns import WinColumns
from service.domain.win_timeline import WinTimeline
from service.domain.wins import WinDraft

DEFAULT_TEAM_REF = "team"


def draft_order(draft: WinDraft) -> tuple[datetime, str, str]:
    return (draft.occurred_at, draft.kind.value, draft.source_key)


@dataclass(frozen=True, slots=True)
class ProgressResult:
    drafts: tuple[WinDraft, ...]  # in draft_order
    member_streaks: Mapping[str, StreakStats]  # every member with a counted win
    team_streak: StreakStats
    challenges: Mapping[int | str, ChallengeProgress]  # by challenge id


def recompute(
    wins: Iterable[RecordedWin] | WinColumns,
    sprints: Sequence[SprintScope],
    calendar: TeamCalendar,
    rules: TeamRules,
    freezes: Iterable[StreakFreeze],
    today: date,
    *,
    challenges: Iterable[Challenge] = (),
    issue_ages: Iterable[IssueAge] = (),
    team_ref: str = DEFAULT_TEAM_REF,
) -> ProgressResult:
    """All drafts and streak stats for a team's whole history, independent of input order.

    ``wins`` is either the wins themselves or the same wins as ``WinColumns``: same result.

    ``today`` is the team's local date; it only affects "current" streaks and challenges
    that can only be judged once their window is over. ``team_ref`` must identify the team
    because source keys are unique across teams (team streaks put it in theirs).
    """
    timeline = WinTimeline.build(wins, calendar, rules)
    streaks = compute_streaks(timeline, calendar, rules, freezes, today, team_ref)
    drafts = streaks.drafts
    drafts += compute_win_badges(timeline, calendar, rules)
    drafts += sprint_drafts(sprints, rules, issue_ages)
    if "first_win_of_sprint" in rules.enabled_milestones:
        names = {s.sprint_ref: s.name for s in sprints}
        refs = timeline.sprint_refs
        # Later entries overwrite earlier ones, so going backwards keeps each sprint's first win.
        first_wins = dict(zip(reversed(refs), range(len(refs) - 1, -1, -1), strict=True))
        drafts += [
            first_win_of_sprint_draft(timeline.wins[i], names.get(ref))
            for ref, i in first_wins.items()
            if ref is not None
        ]
    progress: dict[int | str, ChallengeProgress] = {}
    for challenge in challenges:
        tracker = track_on_timeline(challenge, timeline, calendar, today)
        progress[challenge.id] = tracker.progress()
    drafts += [d for c in challenges if (d := _completed_draft(c, progress[c.id])) is not None]
    drafts.sort(key=draft_order)
    return ProgressResult(tuple(drafts), streaks.member_stats, streaks.team_stats, progress)


def sprint_drafts(
    sprints: Sequence[SprintScope], rules: TeamRules, issue_ages: Iterable[IssueAge]
) -> list[WinDraft]:
    """Everything the sprints alone earn: sprint_finisher badges and the sprint milestones.

    Both read each sprint's finished issues; deriving them is the bulk of a recompute's sprint work,
    so they are derived once per sprint and handed to both.
    """
    tallies = [SprintTally.of(s) for s in sprints]
    return sprint_finisher_drafts(sprints, rules.enabled_badges, tallies=tallies) + sprint_milestones(
        sprints, rules, issue_ages, tallies=tallies
    )


def _completed_draft(challenge: Challenge, progress: ChallengeProgress) -> WinDraft | None:
    return None if progress.completed_at is None else challenge_draft(challenge, progress.completed_at)


class ProgressState:
    """Live, incremental version of ``recompute`` for one team.

    Feed wins with ``apply`` in (occurred_at, id) order: each call is O(active challenges).
    A win that arrives out of order (a late webhook) triggers a replay of the stored history so
    the state stays exact: afterwards ``drafts`` equals what ``recompute`` returns for the same
    wins, whatever the arrival order. ``apply`` returns only identities not emitted before;
    persistence keeps whatever it recorded first.

    Retracting a win does not take back what it earned: badges and streaks are celebrations
    of something that happened. A full ``recompute`` is the tool to audit history.
    """

    def __init__(
        self,
        calendar: TeamCalendar,
        rules: TeamRules,
        *,
        freezes: Iterable[StreakFreeze] = (),
        sprints: Iterable[SprintScope] = (),
        challenges: Iterable[Challenge] = (),
        issue_ages: Iterable[IssueAge] = (),
        team_ref: str = DEFAULT_TEAM_REF,
    ) -> None:
        self.calendar = calendar
        self.rules = rules
        self.team_ref = team_ref
        self._freezes = list(freezes)
        self._sprints: dict[str, SprintScope] = {s.sprint_ref: s for s in sprints}
        self._challenges = list(challenges)
        self._issue_ages = list(issue_ages)
        self._wins: list[RecordedWin] = []  # counted wins applied so far, in sort_key order
        self._ids: set[int] = set()
        self._emitted: dict[tuple[str, str], WinDraft] = {}
        self._ever_emitted: set[tuple[str, str]] = set()  # what apply & co. already handed out
        self._today: date | None = None
        self._reset_trackers()

    def _reset_trackers(self) -> None:
        thresholds = self.rules.streak_thresholds
        self._frozen = frozen_days_by_member(self._freezes)
        self._team = StreakTracker(self.calendar, thresholds)
        self._members: dict[str, StreakTracker] = {}
        self._badges = BadgeTracker(self.calendar, self.rules)
        self._sprints_seen: set[str] = set()
        self._challenge_trackers = [ChallengeTracker(c, self.calendar) for c in self._challenges]

    @property
    def drafts(self) -> tuple[WinDraft, ...]:
        """Every draft emitted so far, in draft_order."""
        return tuple(sorted(self._emitted.values(), key=draft_order))

    def _emit(self, drafts: Iterable[WinDraft]) -> list[WinDraft]:
        new = []
        for draft in drafts:
            identity = (draft.kind.value, draft.source_key)
            if identity not in self._emitted:
                self._emitted[identity] = draft
                new.append(draft)
        return new

    def apply(self, win: RecordedWin) -> list[WinDraft]:
        """Take one new win into account; returns the drafts it newly earns."""
        if win.id in self._ids or not is_counted(win, self.rules):
            return []
        self._ids.add(win.id)
        if (self._wins and sort_key(win) < sort_key(self._wins[-1])) or self._lands_in_judged_window(win):
            insort(self._wins, win, key=sort_key)
            return self._replay()
        self._wins.append(win)
        return self._hand_out(self._emit(self._step(win)))

    def _lands_in_judged_window(self, win: RecordedWin) -> bool:
        # A challenge judged at the end of its window would have been judged differently.
        if not any(t.judged for t in self._challenge_trackers):
            return False
        day = self.calendar.local_date(win.occurred_at).toordinal()
        return any(t.judged and t.accepts(win, day) for t in self._challenge_trackers)

    def _hand_out(self, drafts: list[WinDraft]) -> list[WinDraft]:
        """Drop drafts handed out before (a replay can withdraw a draft and earn it again)."""
        fresh = [d for d in drafts if (d.kind.value, d.source_key) not in self._ever_emitted]
        self._ever_emitted.update((d.kind.value, d.source_key) for d in fresh)
        return fresh

    def _step(self, win: RecordedWin) -> list[WinDraft]:
        day = self.calendar.local_date(win.occurred_at).toordinal()
        out: list[WinDraft] = []
        enabled_streaks = self.rules.enabled_streaks
        for threshold in self._team.add_day(day):
            if "team" in enabled_streaks:
                start = self._team.run_start or day
                out.append(streak_draft("team", self.team_ref, threshold, start, win))
        member = win.member_ref
        if member is not None:
            tracker = self._members.get(member)
            if tracker is None:
                tracker = StreakTracker(
                    self.calendar, self.rules.streak_thresholds, self._frozen.get(member, ())
                )
                self._members[member] = tracker
            for threshold in tracker.add_day(day):
                if "member" in enabled_streaks:
                    out.append(streak_draft("member", member, threshold, tracker.run_start or day, win))
        out += self._badges.apply(win, day)
        sprint_ref = win.sprint_ref
        if sprint_ref is not None and sprint_ref not in self._sprints_seen:
            self._sprints_seen.add(sprint_ref)
            if "first_win_of_sprint" in self.rules.enabled_milestones:
                sprint = self._sprints.get(sprint_ref)
                out.append(first_win_of_sprint_draft(win, sprint.name if sprint else None))
        for challenge in self._challenge_trackers:
            draft = challenge.apply(win, day)
            if draft is not None:
                out.append(draft)
        return out

    def _replay(self) -> list[WinDraft]:
        """Rebuild every tracker from the stored history; ``drafts`` then equals a recompute.

        Returns the drafts whose identity was not emitted before. Costs O(history), which is
        why callers should hand over batches with ``apply_many`` (sorted first) when they can.
        """
        before = self._emitted
        self._emitted = {}
        self._reset_trackers()
        self._emit(self._sprint_drafts())
        for win in self._wins:
            self._emit(self._step(win))
        if self._today is not None:
            self._emit(self._advance(self._today))
        return self._hand_out([d for identity, d in self._emitted.items() if identity not in before])

    def apply_many(self, wins: Iterable[RecordedWin]) -> list[WinDraft]:
        """Apply a batch (e.g. a burst of webhooks) in (occurred_at, id) order."""
        drafts: list[WinDraft] = []
        for win in sorted(wins, key=sort_key):
            drafts += self.apply(win)
        return drafts

    def _sprint_drafts(self) -> list[WinDraft]:
        return sprint_drafts(list(self._sprints.values()), self.rules, self._issue_ages)

    def sync_sprints(self) -> list[WinDraft]:
        """Drafts that follow from the sprints alone (milestones, sprint_finisher); new ones only."""
        return self._hand_out(self._emit(self._sprint_drafts()))

    def update_sprint(self, scope: SprintScope) -> list[WinDraft]:
        """A sprint changed (issue done, sprint closed, goal confirmed): returns newly earned drafts."""
        self._sprints[scope.sprint_ref] = scope
        return self.sync_sprints()

    def add_freeze(self, freeze: StreakFreeze) -> None:
        """Protect a day; only affects streak days still to come."""
        self._freezes.append(freeze)
        self._frozen.setdefault(freeze.member_ref, []).append(freeze.day.toordinal())
        tracker = self._members.get(freeze.member_ref)
        if tracker is not None:
            tracker.add_freeze(freeze.day.toordinal())

    def add_challenge(self, challenge: Challenge) -> list[WinDraft]:
        """Start following a challenge; wins already applied inside its window count."""
        self._challenges.append(challenge)
        tracker = ChallengeTracker(challenge, self.calendar)
        self._challenge_trackers.append(tracker)
        drafts = []
        for win in self._wins:
            draft = tracker.apply(win, self.calendar.local_date(win.occurred_at).toordinal())
            if draft is not None:
                drafts.append(draft)
        if self._today is not None:
            late = tracker.advance_to(self._today)
            if late is not None:
                drafts.append(late)
        return self._hand_out(self._emit(drafts))

    def _advance(self, today: date) -> list[WinDraft]:
        return [d for t in self._challenge_trackers if (d := t.advance_to(today)) is not None]

    def advance_to(self, today: date) -> list[WinDraft]:
        """A new local day began: returns challenges that could only be judged after their window."""
        self._today = today
        return self._hand_out(self._emit(self._advance(today)))

    def challenge_progress(self) -> dict[int | str, ChallengeProgress]:
        return {t.challenge.id: t.progress() for t in self._challenge_trackers}

    def member_streaks(self, today: date) -> dict[str, StreakStats]:
        return {m: t.stats(today) for m, t in self._members.items()}

    def team_streak(self, today: date) -> StreakStats:
        return self._team.stats(today)
