"""Micro-challenges: small, time-boxed goals a team or a person sets from Slack.

Progress is computed by one ``ChallengeTracker`` whether it is fed a whole history or one
win at a time, so a recompute and the live path can never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import compress, repeat
from operator import eq

from service.domain.calendar import TeamCalendar
from service.domain.digest_periods import current_week
from service.domain.progress_inputs import RecordedWin
from service.domain.team_rules import TeamRules
from service.domain.win_timeline import WinTimeline
from service.domain.wins import WinDraft, WinKind, WinSource

METRICS: tuple[str, ...] = ("wins", "bugs_closed", "points", "estimated_stories", "daily_wins")
TEAM_OWNER = "team"  # a challenge for the whole team, not for one person
MAX_TARGET = 1000


@dataclass(frozen=True, slots=True)
class Challenge:
    id: int | str
    owner: str  # TEAM_OWNER or a member_ref: whose wins count
    title: str
    metric: str  # one of METRICS
    # wins / bugs_closed / points: that many; daily_wins: that many consecutive working days;
    # estimated_stories: a percentage (100) of finished stories that carry points.
    target: float
    starts_on: date  # inclusive, in the team's zone
    ends_on: date  # inclusive

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric: must be one of {', '.join(METRICS)}, got {self.metric!r}")
        if not self.target > 0:
            raise ValueError("target: must be greater than 0")
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on: must not be before starts_on")
        if not self.owner:
            raise ValueError("owner: must be 'team' or a member ref")


@dataclass(frozen=True, slots=True)
class ChallengeProgress:
    done: float
    target: float
    completed_at: datetime | None

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


@dataclass(slots=True)
class ChallengeTracker:
    """Follows one challenge as counted wins arrive in (occurred_at, id) order."""

    challenge: Challenge
    calendar: TeamCalendar
    done: float = 0.0
    completed_at: datetime | None = None
    _first: int = field(init=False)
    _last: int = field(init=False)
    _stories: int = 0
    _estimated: int = 0
    _run_day: int | None = None
    _run_length: int = 0
    judged: bool = False  # the window is over and an end-of-window verdict was taken

    def __post_init__(self) -> None:
        self._first = self.challenge.starts_on.toordinal()
        self._last = self.challenge.ends_on.toordinal()

    def accepts(self, win: RecordedWin, day_ordinal: int) -> bool:
        owner = self.challenge.owner
        return self._first <= day_ordinal <= self._last and (owner == TEAM_OWNER or win.member_ref == owner)

    def apply(self, win: RecordedWin, day_ordinal: int) -> WinDraft | None:
        """Count a win; returns the challenge win if this one completed the challenge."""
        if not self.accepts(win, day_ordinal):
            return None
        metric = self.challenge.metric
        if metric == "wins":
            self.done += 1
        elif metric == "bugs_closed":
            self.done += 1 if win.is_bug else 0
        elif metric == "points":
            self.done += win.points or 0.0
        elif metric == "daily_wins":
            self._add_day(day_ordinal)
        elif win.kind == WinKind.TICKET and (win.issue_type or "").casefold() == "story":
            self._stories += 1
            self._estimated += win.points is not None
            self.done = 100.0 * self._estimated / self._stories
        # "Every story has points" can only be judged once the window is over (see advance_to).
        if self.completed_at is None and metric != "estimated_stories" and self.done >= self.challenge.target:
            self.completed_at = win.occurred_at
            return challenge_draft(self.challenge, win.occurred_at)
        return None

    def _add_day(self, ordinal: int) -> None:
        if not self.calendar.is_working_ordinal(ordinal) or (
            self._run_day is not None and ordinal <= self._run_day
        ):
            return
        continues = (
            self._run_day is not None and self.calendar.working_days_between(self._run_day, ordinal) == 0
        )
        self._run_length = self._run_length + 1 if continues else 1
        self._run_day = ordinal
        self.done = max(self.done, float(self._run_length))

    def advance_to(self, today: date) -> WinDraft | None:
        """Close the window once ``today`` is past it; completes an all-stories-estimated challenge."""
        if self.challenge.metric == "estimated_stories" and today > self.challenge.ends_on:
            self.judged = True
        if (
            self.challenge.metric == "estimated_stories"
            and self.completed_at is None
            and today > self.challenge.ends_on
            and self._stories > 0
            and self._estimated == self._stories
        ):
            self.completed_at = self.calendar.start_of_day(self.challenge.ends_on + timedelta(days=1))
            return challenge_draft(self.challenge, self.completed_at)
        return None

    def progress(self) -> ChallengeProgress:
        return ChallengeProgress(self.done, self.challenge.target, self.completed_at)


def challenge_draft(challenge: Challenge, completed_at: datetime) -> WinDraft:
    return WinDraft(
        kind=WinKind.CHALLENGE,
        source=WinSource.ENGINE,
        source_key=f"challenge:{challenge.id}",
        title=f"Challenge complete: {challenge.title}",
        occurred_at=completed_at,
        member_ref=None if challenge.owner == TEAM_OWNER else challenge.owner,
        details={"challenge_id": challenge.id, "metric": challenge.metric, "target": challenge.target},
    )


def track_on_timeline(
    challenge: Challenge, timeline: WinTimeline, calendar: TeamCalendar, today: date | None
) -> ChallengeTracker:
    """Feed only the window's wins (found by bisection) to a fresh tracker."""
    tracker = ChallengeTracker(challenge, calendar)
    lo = timeline.index_at(calendar.start_of_day(challenge.starts_on))
    hi = timeline.index_at(calendar.start_of_day(challenge.ends_on + timedelta(days=1)))
    positions: Iterable[int] = range(lo, hi)
    if challenge.owner != TEAM_OWNER:
        positions = compress(range(lo, hi), map(eq, timeline.members[lo:hi], repeat(challenge.owner)))
    for i in positions:
        win = timeline.wins[i]
        tracker.apply(win, calendar.local_date(win.occurred_at).toordinal())
    if today is not None:
        tracker.advance_to(today)
    return tracker


def challenge_progress(
    challenge: Challenge,
    wins: Iterable[RecordedWin],
    calendar: TeamCalendar,
    rules: TeamRules | None = None,
    today: date | None = None,
) -> ChallengeProgress:
    """Progress of one challenge over any collection of wins (unordered; filtered like everywhere else).

    Without ``today`` an "every story has points" challenge is never complete, since that
    can only be judged after its window.
    """
    timeline = WinTimeline.build(wins, calendar, rules or TeamRules())
    return track_on_timeline(challenge, timeline, calendar, today).progress()


@dataclass(frozen=True, slots=True)
class ChallengeSpec:
    """What a slash command asked for; the caller gives it an id and an owner."""

    title: str
    metric: str
    target: float
    starts_on: date
    ends_on: date

    def to_challenge(self, id: int | str, owner: str) -> Challenge:
        return Challenge(id, owner, self.title, self.metric, self.target, self.starts_on, self.ends_on)


MAX_SPAN = timedelta(days=3660)  # the longest challenge, as for the rules' day counts

EXAMPLES = (
    "close 5 bugs this week",
    "5 wins by fri",
    "every finished story has points this week",
    "one small win a day for 5 days",
)
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
}
_NUMBER_WORDS |= {"a": 1, "an": 1}
_WEEKDAYS = {
    **dict.fromkeys(("mon", "monday"), 0),
    **dict.fromkeys(("tue", "tues", "tuesday"), 1),
    **dict.fromkeys(("wed", "weds", "wednesday"), 2),
    **dict.fromkeys(("thu", "thur", "thurs", "thursday"), 3),
    **dict.fromkeys(("fri", "friday"), 4),
    **dict.fromkeys(("sat", "saturday"), 5),
    **dict.fromkeys(("sun", "sunday"), 6),
}
_DAILY = re.compile(
    r"(?P<per>\S+) (?:small |little )?wins? (?:a|per|each) day for (?P<n>\S+) (?:working )?days?"
)
_BUGS = re.compile(r"(?:close|fix|squash|kill) (?P<n>\S+) bugs? (?P<when>.+)")
_WINS = re.compile(r"(?:get |land |ship )?(?P<n>\S+) (?:small |little )?wins? (?P<when>.+)")
_POINTS = re.compile(r"(?:score|finish|close|deliver|burn) (?P<n>\S+) (?:story )?points? (?P<when>.+)")
_ESTIMATED = re.compile(
    r"every (?:finished|closed|done) stor(?:y|ies) (?:has|have|gets?) (?:points|an? estimates?) (?P<when>.+)"
)


def _number(word: str) -> int:
    value = _NUMBER_WORDS.get(word)
    if value is None:
        if not word.isdigit():
            raise ValueError(f"{word!r} is not a number")
        value = int(word)
    if not 1 <= value <= MAX_TARGET:
        raise ValueError(f"the number must be between 1 and {MAX_TARGET}, got {value}")
    return value


def _window(when: str, today: date) -> tuple[date, date]:
    if when == "this week":
        # Monday to Sunday of the team's current week, whatever day it is (as a digest's week).
        return current_week(today)
    if when in ("today", "by today"):
        return today, today
    if not when.startswith("by "):
        raise ValueError(f"can't tell when {when!r} ends; say 'this week', 'today' or 'by fri'")
    target = when.removeprefix("by ").strip()
    if target == "tomorrow":
        return today, today + timedelta(days=1)
    if target in _WEEKDAYS:
        return today, today + timedelta(days=(_WEEKDAYS[target] - today.weekday()) % 7)
    try:
        end = date.fromisoformat(target)
    except ValueError:
        raise ValueError(
            f"can't read the day {target!r}; use a weekday like 'fri' or a date like 2024-05-31"
        ) from None
    if end < today:
        raise ValueError(f"{end.isoformat()} is already over")
    if end > today + MAX_SPAN:
        # A challenge is a sprint-sized nudge; one ending in year 9999 would also overflow the date
        # arithmetic of every later recompute.
        raise ValueError(f"a challenge must end within {MAX_SPAN.days} days (about ten years)")
    return today, end


def parse_challenge_spec(text: str, *, today: date, calendar: TeamCalendar | None = None) -> ChallengeSpec:
    """Parse a slash-command challenge such as ``close 5 bugs this week``.

    ``today`` is the team's local date. "This week" is Monday to Sunday of the current week;
    every other window starts today (wins from before the challenge existed don't count towards
    it) and ends on the named day, inclusive.
    """
    cleaned = " ".join(text.strip().rstrip(".!").split())
    phrase = cleaned.casefold()
    if not phrase:
        raise ValueError("say what the challenge is, e.g. " + " · ".join(EXAMPLES))
    title = cleaned[:1].upper() + cleaned[1:]
    if match := _DAILY.fullmatch(phrase):
        if _number(match["per"]) != 1:
            raise ValueError("daily challenges count one win a day; try 'one small win a day for 5 days'")
        days = _number(match["n"])
        last = (calendar or TeamCalendar()).nth_working_day_from(today, days)
        return ChallengeSpec(title, "daily_wins", float(days), today, last)
    if match := _ESTIMATED.fullmatch(phrase):
        return ChallengeSpec(title, "estimated_stories", 100.0, *_window(match["when"], today))
    for pattern, metric in ((_BUGS, "bugs_closed"), (_POINTS, "points"), (_WINS, "wins")):
        if match := pattern.fullmatch(phrase):
            target = _number(match["n"])
            return ChallengeSpec(title, metric, float(target), *_window(match["when"], today))
    raise ValueError(f"can't read {cleaned!r} as a challenge; try one of: " + " · ".join(EXAMPLES))
