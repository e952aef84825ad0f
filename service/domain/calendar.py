"""A team's calendar: its time zone, working weekdays and holidays, and the day arithmetic on them.

Days are handled as proleptic ordinals (``date.toordinal()``) inside the engine: integer
arithmetic is what lets a recompute over a million wins stay within its time budget.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MON_TO_FRI: frozenset[int] = frozenset(range(5))

_REMAINDER_WEEKDAYS = (6, 0, 1, 2, 3, 4, 5)  # weekday of ordinal 0, 1, ... 6 (ordinal 1 is a Monday)


@dataclass(frozen=True, slots=True)
class TeamCalendar:
    """The team's time zone and working days; all day-level rules are evaluated in it."""

    timezone: str = "UTC"
    holidays: frozenset[date] = frozenset()
    working_weekdays: frozenset[int] = MON_TO_FRI  # date.weekday() numbers, Monday = 0
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _per_week: int = field(init=False, repr=False, compare=False)
    _remainder: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _holiday_ordinals: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            tz = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone: unknown IANA time zone {self.timezone!r}") from exc
        if not self.working_weekdays or not set(self.working_weekdays) <= set(range(7)):
            raise ValueError("working_weekdays: must be a non-empty set of weekday numbers 0 (Mon)..6 (Sun)")
        object.__setattr__(self, "_tz", tz)
        object.__setattr__(self, "_per_week", len(self.working_weekdays))
        # _remainder[r] = working days among the first r days of a 7-day block starting at ordinal 0.
        remainder = [0]
        for weekday in _REMAINDER_WEEKDAYS:
            remainder.append(remainder[-1] + (weekday in self.working_weekdays))
        object.__setattr__(self, "_remainder", tuple(remainder))
        holidays = sorted(d.toordinal() for d in self.holidays if d.weekday() in self.working_weekdays)
        object.__setattr__(self, "_holiday_ordinals", tuple(holidays))

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    def local_date(self, instant: datetime) -> date:
        if instant.tzinfo is None:
            raise ValueError(f"expected a timezone-aware datetime, got naive {instant.isoformat()}")
        return instant.astimezone(self._tz).date()

    def start_of_day(self, day: date) -> datetime:
        """The first instant of ``day`` in the team's zone, in UTC.

        With fold=0 a midnight skipped by a DST jump resolves to the jump itself, which is
        exactly when that local day starts.
        """
        return datetime.combine(day, time(0), tzinfo=self._tz).astimezone(UTC)

    def is_working_ordinal(self, ordinal: int) -> bool:
        if (ordinal + 6) % 7 not in self.working_weekdays:
            return False
        i = bisect_left(self._holiday_ordinals, ordinal)
        return not (i < len(self._holiday_ordinals) and self._holiday_ordinals[i] == ordinal)

    def is_working_day(self, day: date) -> bool:
        return self.is_working_ordinal(day.toordinal())

    def working_rank(self, ordinal: int) -> int:
        """How many working days lie in [0, ordinal]; differences count working days in O(log h)."""
        weeks, rest = divmod(ordinal + 1, 7)
        return weeks * self._per_week + self._remainder[rest] - bisect_right(self._holiday_ordinals, ordinal)

    def working_days_between(self, first: int, last: int) -> int:
        """Working days strictly between two day ordinals."""
        if last - first <= 1:
            return 0
        return self.working_rank(last - 1) - self.working_rank(first)

    def nth_working_day_from(self, day: date, n: int) -> date:
        """The n-th working day counting ``day`` itself if it is one (n ≥ 1)."""
        ordinal = day.toordinal()
        found = 0
        while True:
            if self.is_working_ordinal(ordinal):
                found += 1
                if found == n:
                    return date.fromordinal(ordinal)
            ordinal += 1
