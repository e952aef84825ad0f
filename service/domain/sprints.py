"""What a sprint is in our records: its states, how a Jira event moves it, and its wins' key."""

from __future__ import annotations

import enum

from service.domain.events import SprintAction


class SprintState(enum.StrEnum):
    """Jira's sprint states, plus ``deleted`` for a sprint Jira removed."""

    FUTURE = "future"
    ACTIVE = "active"
    CLOSED = "closed"
    DELETED = "deleted"


def state_after(action: SprintAction, reported: str | None, current: str) -> str:
    """The state a sprint is in after ``action``: the action decides, else what Jira reported."""
    if action is SprintAction.STARTED:
        return SprintState.ACTIVE
    if action is SprintAction.CLOSED:
        return SprintState.CLOSED
    if action is SprintAction.DELETED:
        return SprintState.DELETED
    return reported or current


def sprint_win_key(jira_sprint_id: int | str) -> str:
    """The ``source_key`` of a sprint's started and closed wins: Jira's sprint id, never our row id."""
    return f"sprint:{jira_sprint_id}"
