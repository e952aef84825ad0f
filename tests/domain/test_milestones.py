from datetime import UTC, datetime, timedelta

import pytest

from service.domain.milestones import (
    confirm_sprint_goal,
    oldest_open_closings,
    progress_basis,
    sprint_milestones,
)
from service.domain.progress_inputs import IssueAge
from service.domain.sprint_scope import SprintScope
from service.domain.team_rules import MILESTONE_NAMES, TeamRules
from service.domain.wins import WinDraft

T0 = datetime(2024, 6, 3, 9, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def scope(
    ref: str = "S1",
    committed: dict[str, float | None] | None = None,
    done: dict[str, float] | None = None,  # issue -> hours after T0
    committed_points: float | None = None,
    end_hours: float = 240,
    completed_hours: float | None = None,
    extra_done: dict[str, tuple[float, float | None]] | None = None,
) -> SprintScope:
    committed = committed if committed is not None else {"A": 1, "B": 1, "C": 1, "D": 1}
    points_total = (
        committed_points if committed_points is not None else sum(p or 0 for p in committed.values())
    )
    finished = {k: (at(h), committed[k]) for k, h in (done or {}).items()}
    finished |= {k: (at(h), p) for k, (h, p) in (extra_done or {}).items()}
    return SprintScope(
        ref,
        f"Sprint {ref}",
        T0,
        at(end_hours),
        None if completed_hours is None else at(completed_hours),
        frozenset(committed),
        points_total,
        finished,
        dict.fromkeys(committed, "ann"),
    )


def by_name(drafts: list[WinDraft]) -> dict[str, WinDraft]:
    return {str(d.details["milestone"]): d for d in drafts}


@pytest.mark.parametrize(
    ("committed", "done", "basis", "expected"),
    [
        # By points: the 8-point issue alone is 80%.
        (
            {"A": 8, "B": 1, "C": 1},
            {"A": 1},
            "points",
            {"progress_25": 1, "progress_50": 1, "progress_75": 1},
        ),
        (
            {"A": 8, "B": 1, "C": 1},
            {"B": 1, "C": 2, "A": 3},
            "points",
            {
                "progress_25": 3,
                "progress_50": 3,
                "progress_75": 3,
                "progress_100": 3,
                "scope_done_early": 3,
            },
        ),
        # A finished issue without points switches to counting issues: 1 of 3 is 33%.
        ({"A": 8, "B": None, "C": 1}, {"A": 1, "B": 2}, "count", {"progress_25": 1, "progress_50": 2}),
        # Exactly 3 of 4 is 75% (no float noise).
        (
            {"A": 1, "B": 1, "C": 1, "D": 1},
            {"A": 1, "B": 2, "C": 3},
            "points",
            {
                "progress_25": 1,
                "progress_50": 2,
                "progress_75": 3,
            },
        ),
        ({"A": None, "B": None}, {"B": 4}, "count", {"progress_25": 4, "progress_50": 4}),
    ],
)
def test_progress_milestones_by_points_or_count(
    committed: dict[str, float | None], done: dict[str, float], basis: str, expected: dict[str, float]
) -> None:
    sprint = scope(committed=committed, done=done)
    assert progress_basis(sprint) == basis
    drafts = by_name(sprint_milestones([sprint], TeamRules()))
    assert {name: d.occurred_at for name, d in drafts.items()} == {n: at(h) for n, h in expected.items()}
    assert drafts["progress_25"].source_key == "milestone:S1:progress_25"


def test_scope_done_after_the_end_is_not_early_and_after_completion_does_not_count() -> None:
    late = scope(done={"A": 1, "B": 2, "C": 3, "D": 250}, end_hours=240)
    assert "scope_done_early" not in by_name(sprint_milestones([late], TeamRules()))
    assert "progress_100" in by_name(sprint_milestones([late], TeamRules()))
    closed = scope(done={"A": 1, "B": 2, "C": 3, "D": 250}, completed_hours=245)
    assert "progress_100" not in by_name(sprint_milestones([closed], TeamRules()))


def test_added_scope_does_not_count_towards_committed_progress() -> None:
    sprint = scope(done={"A": 1}, extra_done={"X": (2, 50.0)})
    assert set(by_name(sprint_milestones([sprint], TeamRules()))) == {"progress_25"}


def closed_sprint(ref: str, day: int, points: float) -> SprintScope:
    return scope(ref, {"A": points}, {"A": 24 * day - 1}, completed_hours=24 * day)


@pytest.mark.parametrize(
    ("velocities", "window", "best_refs"),
    [
        ([10], 6, []),  # needs at least one previous sprint
        ([10, 12], 6, ["S1"]),
        ([10, 10], 6, []),  # a tie is not a record
        ([20, 5, 10, 15], 6, []),
        ([20, 5, 10, 15], 2, ["S3"]),  # only the previous two count
        ([5, 8, 13], 6, ["S1", "S2"]),
    ],
)
def test_velocity_best(velocities: list[float], window: int, best_refs: list[str]) -> None:
    sprints = [closed_sprint(f"S{i}", i + 1, v) for i, v in enumerate(velocities)]
    drafts = sprint_milestones(sprints[::-1], TeamRules(velocity_window=window))
    best = [d for d in drafts if d.details["milestone"] == "velocity_best"]
    assert sorted(d.details["sprint_ref"] for d in best) == best_refs
    for draft in best:
        assert draft.occurred_at == at(24 * (int(str(draft.details["sprint_ref"])[1:]) + 1))


def test_oldest_open_closed() -> None:
    ages = [
        IssueAge("OLD-1", at(-500), at(5)),  # oldest, closed in S1 while OLD-2 is still open
        IssueAge("OLD-2", at(-400), at(3)),  # closed first, but OLD-1 was older and open then
        IssueAge("NEW-1", at(-10), at(6)),  # oldest open once OLD-1 closed
        IssueAge("NEW-2", at(-5), None),
    ]
    assert oldest_open_closings(ages) == {"OLD-1": at(5), "NEW-1": at(6)}
    sprint = scope(committed={"OLD-1": 1, "OLD-2": 1, "NEW-1": 1}, done={"OLD-2": 3, "OLD-1": 5, "NEW-1": 6})
    drafts = by_name(sprint_milestones([sprint], TeamRules(), ages))
    assert drafts["oldest_open_closed"].details["issue_key"] == "OLD-1"
    assert drafts["oldest_open_closed"].occurred_at == at(5)


def test_sprint_goal_confirmation_is_a_domain_action_and_idempotent() -> None:
    sprint = scope()
    assert "sprint_goal_met" not in by_name(sprint_milestones([sprint], TeamRules()))
    confirmed = confirm_sprint_goal(sprint, "bob", at(50))
    assert confirm_sprint_goal(confirmed, "cat", at(60)) is confirmed
    draft = by_name(sprint_milestones([confirmed], TeamRules()))["sprint_goal_met"]
    assert (draft.occurred_at, draft.details["confirmed_by"]) == (at(50), "bob")
    assert draft.source_key == "milestone:S1:sprint_goal_met"
    with pytest.raises(ValueError, match="timezone-aware"):
        confirm_sprint_goal(sprint, "bob", datetime(2024, 1, 1))


def test_disabled_milestones_are_skipped() -> None:
    sprint = confirm_sprint_goal(scope(done={"A": 1, "B": 1, "C": 1, "D": 1}), "bob", at(2))
    rules = TeamRules(enabled_milestones=MILESTONE_NAMES - {"progress_100", "sprint_goal_met"})
    assert set(by_name(sprint_milestones([sprint], rules))) == {
        "progress_25",
        "progress_50",
        "progress_75",
        "scope_done_early",
    }
