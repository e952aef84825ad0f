import pytest

from service.domain.team_rules import BADGE_NAMES, TeamRules, TeamRulesError


def test_defaults_count_every_ticket_and_enable_everything() -> None:
    rules = TeamRules()
    assert rules.counts_every_ticket
    assert rules.counts("Sub-task", ["anything"], "ANY", None, True)
    assert rules.enabled_badges == BADGE_NAMES
    assert rules.streak_thresholds == (5, 10, 30)


def test_mapping_round_trip() -> None:
    data = {
        "issue_types": ["Story", "Bug"],
        "required_labels": ["team-a"],
        "excluded_labels": ["chore"],
        "projects": ["APP"],
        "min_points": 1,
        "count_subtasks": False,
        "enabled_badges": ["first_win", "comeback"],
        "streak_thresholds": [10, 3],
        "comeback_pause_days": 7,
        "velocity_window": 4,
        "bug_squasher_bugs": 3,
    }
    rules = TeamRules.from_mapping(data)
    assert rules.streak_thresholds == (3, 10)
    assert rules.min_points == 1.0
    assert TeamRules.from_mapping(rules.to_mapping()) == rules


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"min_points": -1}, "min_points: must be a number ≥ 0"),
        ({"min_points": "3"}, "min_points: must be a number ≥ 0"),
        ({"min_points": True}, "min_points: must be a number ≥ 0"),
        ({"count_subtasks": "yes"}, "count_subtasks: must be true or false"),
        ({"issue_types": "Story"}, "issue_types: must be a list of strings"),
        ({"required_labels": ["ok", ""]}, "required_labels[1]: must be a non-empty string"),
        ({"streak_thresholds": [5, 0]}, "streak_thresholds[1]: must be a positive integer"),
        ({"streak_thresholds": []}, "streak_thresholds: must not be empty"),
        ({"comeback_pause_days": 0}, "comeback_pause_days: must be a positive integer"),
        ({"velocity_window": 2.5}, "velocity_window: must be a positive integer"),
        ({"enabled_badges": ["first_win", "gold_star"]}, "enabled_badges: unknown name 'gold_star'"),
        ({"colour": "red"}, "unknown setting 'colour'; known: issue_types, "),
    ],
)
def test_invalid_settings_are_reported_with_their_path(data: dict[str, object], expected: str) -> None:
    with pytest.raises(TeamRulesError) as caught:
        TeamRules.from_mapping(data)
    assert any(problem.startswith(expected) for problem in caught.value.problems), caught.value.problems
    assert isinstance(caught.value, ValueError)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(TeamRulesError) as caught:
        TeamRules.from_mapping({"min_points": -2, "velocity_window": 0, "nope": 1})
    assert len(caught.value.problems) == 3
    assert "min_points" in str(caught.value) and "velocity_window" in str(caught.value)


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(TeamRulesError, match="bug_squasher_bugs"):
        TeamRules(bug_squasher_bugs=0)


STRICT = TeamRules.from_mapping(
    {
        "issue_types": ["story", "Bug"],
        "required_labels": ["team-a", "team-b"],
        "excluded_labels": ["chore"],
        "projects": ["APP"],
        "min_points": 2,
        "count_subtasks": False,
    }
)


@pytest.mark.parametrize(
    ("issue_type", "labels", "project", "points", "subtask", "expected"),
    [
        ("Story", ["team-a"], "APP", 3.0, False, True),
        ("BUG", ["team-b", "x"], "APP", 2.0, False, True),  # issue types compare case-insensitively
        ("Task", ["team-a"], "APP", 3.0, False, False),
        ("Story", [], "APP", 3.0, False, False),  # needs one of the required labels
        ("Story", ["team-a", "chore"], "APP", 3.0, False, False),
        ("Story", ["team-a"], "WEB", 3.0, False, False),
        ("Story", ["team-a"], None, 3.0, False, False),
        ("Story", ["team-a"], "APP", 1.0, False, False),
        ("Story", ["team-a"], "APP", None, False, False),  # unestimated is below any minimum
        ("Story", ["team-a"], "APP", 3.0, True, False),
        (None, ["team-a"], "APP", 3.0, False, False),
    ],
)
def test_counts(
    issue_type: str | None,
    labels: list[str],
    project: str | None,
    points: float | None,
    subtask: bool,
    expected: bool,
) -> None:
    assert not STRICT.counts_every_ticket
    assert STRICT.counts(issue_type, labels, project, points, subtask) is expected
