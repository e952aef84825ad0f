"""The titles sprint wins carry, composed from what the sprint events and its tickets say.

A ticket's win title is ``service.domain.tickets.ticket_title``; these are the sprint's two.
"""

from __future__ import annotations


def sprint_started_title(sprint_name: str, goal: str | None) -> str:
    """``Sprint 12 started with the goal: Ship`` (the goal part only when the sprint has one)."""
    with_goal = f" with the goal: {goal}" if goal else ""
    return f"{sprint_name} started{with_goal}"


def sprint_closed_title(sprint_name: str, issues_done: int, points_done: float) -> str:
    """``Sprint 12 closed: 3 issues and 8 points done``, counted over the sprint's tickets."""
    noun = "issue" if issues_done == 1 else "issues"
    return f"{sprint_name} closed: {issues_done} {noun} and {format_points(points_done)} points done"


def format_points(points: float) -> str:
    """Whole points without a decimal point (``8``), fractional ones as short as they go (``2.5``)."""
    return str(int(points)) if points == int(points) else f"{points:g}"
