"""The refs the progress engine knows people, teams and sprints by (they end up in engine wins' source keys).

* a person is ``"<team id>:<member id>"``. People are global but badges and streaks are earned in a
  team: two teams each celebrate someone's first win with them, under distinct keys;
* the team is ``"<team id>"``; a sprint is ``"<sprint id>"``.
"""

from __future__ import annotations


def member_ref(team_id: int, member_id: int) -> str:
    return f"{team_id}:{member_id}"


def member_id_of(ref: str | None) -> int | None:
    """The member id inside a member ref (None for team-level drafts)."""
    if ref is None:
        return None
    _, _, member = ref.partition(":")
    return int(member)


def team_ref(team_id: int) -> str:
    return str(team_id)


def sprint_ref(sprint_id: int) -> str:
    return str(sprint_id)
