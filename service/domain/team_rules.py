"""A team's own settings for what counts as a win and which celebrations are switched on.

Teams keep these as a small JSON mapping; ``TeamRules.from_mapping`` is the one place that
turns such a mapping into a validated value, reporting every problem at once with its field
path so the settings page (or the slash command) can show all of them in one go.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

STREAK_SCOPES: frozenset[str] = frozenset({"member", "team"})
BADGE_NAMES: frozenset[str] = frozenset(
    {
        "first_win",
        "wins_10",
        "wins_50",
        "wins_100",
        "first_kudos_given",
        "first_kudos_received",
        "bug_squasher",
        "sprint_finisher",
        "comeback",
    }
)
MILESTONE_NAMES: frozenset[str] = frozenset(
    {
        "progress_25",
        "progress_50",
        "progress_75",
        "progress_100",
        "scope_done_early",
        "velocity_best",
        "first_win_of_sprint",
        "oldest_open_closed",
        "sprint_goal_met",
    }
)


# Upper bounds, so a value such as 2**50 is refused when the rules are written instead of overflowing a
# date or a loop in a later recompute. Each one is far above any sensible setting.
MAX_POINTS = 1_000_000  # the same ceiling the Jira reader puts on a ticket's story points
MAX_DAYS = 3_660  # about ten years: streak thresholds and the comeback pause, in days
MAX_VELOCITY_WINDOW = 100  # closed sprints
MAX_BUG_SQUASHER_BUGS = 100_000
MAX_STREAK_THRESHOLDS = 50
MAX_NAMES = 500  # entries in one list of issue types, labels, projects or celebrations
MAX_NAME_LENGTH = 255  # Jira's own limit for a label


class TeamRulesError(ValueError):
    """The settings mapping is invalid; ``problems`` lists each one as ``"path: message"``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid team rules: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class TeamRules:
    # Ticket filters. They only apply to ticket wins: a manual win or kudos is always a win.
    issue_types: frozenset[str] | None = None  # casefolded; None = every issue type counts
    required_labels: frozenset[str] = frozenset()  # a ticket must carry at least one of these
    excluded_labels: frozenset[str] = frozenset()  # a ticket carrying any of these never counts
    projects: frozenset[str] | None = None  # None = every project counts
    min_points: float = 0.0  # > 0 also excludes unestimated tickets
    count_subtasks: bool = True
    # Celebrations that are switched on.
    enabled_milestones: frozenset[str] = MILESTONE_NAMES
    enabled_badges: frozenset[str] = BADGE_NAMES
    enabled_streaks: frozenset[str] = STREAK_SCOPES
    streak_thresholds: tuple[int, ...] = (5, 10, 30)
    comeback_pause_days: int = 10  # working days without a win before a win is a comeback
    velocity_window: int = 6  # previous closed sprints velocity_best compares against
    bug_squasher_bugs: int = 5
    _permissive: bool = field(init=False, repr=False, compare=False, default=False)

    def __post_init__(self) -> None:
        problems = _problems(self.to_mapping())
        if problems:
            raise TeamRulesError(problems)
        object.__setattr__(self, "issue_types", _casefolded(self.issue_types))
        object.__setattr__(self, "streak_thresholds", tuple(sorted(set(self.streak_thresholds))))
        permissive = (
            self.issue_types is None
            and not self.required_labels
            and not self.excluded_labels
            and self.projects is None
            and self.min_points == 0
            and self.count_subtasks
        )
        object.__setattr__(self, "_permissive", permissive)

    @property
    def counts_every_ticket(self) -> bool:
        """True when no ticket filter is set, so callers can skip ``counts`` entirely."""
        return self._permissive

    def counts(
        self,
        issue_type: str | None,
        labels: Iterable[str],
        project_key: str | None,
        points: float | None,
        is_subtask: bool,
    ) -> bool:
        """Whether a closed ticket with these attributes counts as a win for this team."""
        if self._permissive:
            return True
        if is_subtask and not self.count_subtasks:
            return False
        if self.issue_types is not None and (issue_type or "").casefold() not in self.issue_types:
            return False
        if self.projects is not None and project_key not in self.projects:
            return False
        label_set = labels if isinstance(labels, frozenset | set) else frozenset(labels)
        if self.required_labels and self.required_labels.isdisjoint(label_set):
            return False
        if self.excluded_labels and not self.excluded_labels.isdisjoint(label_set):
            return False
        return not (self.min_points > 0 and (points is None or points < self.min_points))

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> TeamRules:
        """Validate a settings mapping (missing keys take their defaults)."""
        if not isinstance(data, Mapping):
            raise TeamRulesError([f"<root>: must be a mapping, got {type(data).__name__}"])
        problems = _problems(data)
        if problems:
            raise TeamRulesError(problems)
        kwargs: dict[str, object] = {}
        for key, value in data.items():
            if key in _SET_OR_NONE_FIELDS:
                kwargs[key] = None if value is None else frozenset(value)  # type: ignore[call-overload]
            elif key in _SET_FIELDS:
                kwargs[key] = frozenset(value)  # type: ignore[call-overload]
            elif key == "streak_thresholds":
                kwargs[key] = tuple(value)  # type: ignore[arg-type]
            elif key == "min_points":
                kwargs[key] = float(value)  # type: ignore[arg-type]
            else:
                kwargs[key] = value
        return cls(**kwargs)  # type: ignore[arg-type]

    def to_mapping(self) -> dict[str, object]:
        """A JSON-ready mapping that ``from_mapping`` turns back into an equal value."""
        out: dict[str, object] = {}
        for name in _KNOWN_KEYS:
            value = getattr(self, name)
            if isinstance(value, frozenset):
                value = sorted(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out


_SET_OR_NONE_FIELDS = ("issue_types", "projects")
_SET_FIELDS = (
    "required_labels",
    "excluded_labels",
    "enabled_milestones",
    "enabled_badges",
    "enabled_streaks",
)
_POSITIVE_INT_FIELDS = {
    "comeback_pause_days": MAX_DAYS,
    "velocity_window": MAX_VELOCITY_WINDOW,
    "bug_squasher_bugs": MAX_BUG_SQUASHER_BUGS,
}
_KNOWN_KEYS = tuple(f.name for f in fields(TeamRules) if not f.name.startswith("_"))
_ALLOWED_NAMES = {
    "enabled_milestones": MILESTONE_NAMES,
    "enabled_badges": BADGE_NAMES,
    "enabled_streaks": STREAK_SCOPES,
}


def _casefolded(values: frozenset[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(v.casefold() for v in values)


def _is_int(value: object) -> bool:
    # bool is an int subclass, but `true` in a settings file is never meant as 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _string_collection_problems(path: str, value: object) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        return [f"{path}: must be a list of strings"]
    items = list(value)
    if len(items) > MAX_NAMES:
        return [f"{path}: must hold at most {MAX_NAMES} entries"]
    problems: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            problems.append(f"{path}[{i}]: must be a non-empty string")
        elif len(item) > MAX_NAME_LENGTH:
            problems.append(f"{path}[{i}]: must be at most {MAX_NAME_LENGTH} characters")
    return problems


def _problems(data: Mapping[str, object]) -> list[str]:
    problems: list[str] = []
    for key in data:
        if key not in _KNOWN_KEYS:
            problems.append(f"unknown setting {key!r}; known: {', '.join(_KNOWN_KEYS)}")
    for key, value in data.items():
        if key in _SET_OR_NONE_FIELDS:
            if value is not None:
                problems += _string_collection_problems(key, value)
        elif key in _SET_FIELDS:
            found = _string_collection_problems(key, value)
            problems += found
            allowed = _ALLOWED_NAMES.get(key)
            if allowed is not None and not found:
                for item in value:  # type: ignore[attr-defined]
                    if item not in allowed:
                        problems.append(f"{key}: unknown name {item!r}; known: {', '.join(sorted(allowed))}")
        elif key == "min_points":
            ok = (_is_int(value) or isinstance(value, float)) and value == value and value >= 0  # type: ignore[operator]
            if not ok or value == float("inf"):
                problems.append("min_points: must be a number ≥ 0")
            elif value > MAX_POINTS:  # type: ignore[operator]
                problems.append(f"min_points: must be at most {MAX_POINTS}")
        elif key == "count_subtasks":
            if not isinstance(value, bool):
                problems.append("count_subtasks: must be true or false")
        elif key == "streak_thresholds":
            if isinstance(value, str) or not isinstance(value, Iterable):
                problems.append("streak_thresholds: must be a list of positive integers")
            else:
                items = list(value)
                if not items:
                    problems.append("streak_thresholds: must not be empty")
                elif len(items) > MAX_STREAK_THRESHOLDS:
                    problems.append(f"streak_thresholds: must hold at most {MAX_STREAK_THRESHOLDS} entries")
                else:
                    problems += _positive_int_problems("streak_thresholds", items, MAX_DAYS)
        elif key in _POSITIVE_INT_FIELDS:
            problems += _positive_int_problems(key, [value], _POSITIVE_INT_FIELDS[key], indexed=False)
    return problems


def _positive_int_problems(
    path: str, items: list[object], maximum: int, *, indexed: bool = True
) -> list[str]:
    problems: list[str] = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]" if indexed else path
        if not _is_int(item) or item < 1:  # type: ignore[operator]
            problems.append(f"{where}: must be a positive integer")
        elif item > maximum:  # type: ignore[operator]
            problems.append(f"{where}: must be at most {maximum}")
    return problems


def rules_or_defaults(stored: object) -> TeamRules:
    """The team's rules; a stored mapping that no longer validates falls back to the defaults.

    Writes are validated, so this only happens if the rules grew stricter since; the recompute
    must not stop for it (the CLI's ``rules show`` reports the problems).
    """
    try:
        return TeamRules.from_mapping(stored if isinstance(stored, dict) else {})
    except TeamRulesError:
        return TeamRules()
