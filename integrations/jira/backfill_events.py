"""Jira REST history as the domain events a webhook would have delivered, for the backfill.

Which sprints of a board to import, and each fetched issue (read by ``rest.issue_event``) made sure
to land in the sprint it was fetched from. Sprints become events through ``rest.sprint_events``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from integrations.jira import parse
from service.domain.events import IssueChanged, SprintMove


def select_sprints(raw_sprints: Sequence[dict[str, Any]], closed_count: int) -> list[dict[str, Any]]:
    """The last ``closed_count`` closed sprints (by completion) and every active one, oldest first."""

    def closed_at(sprint: dict[str, Any]) -> tuple[datetime, int]:
        moment = (
            parse.parse_jira_datetime(sprint.get("completeDate"))
            or parse.parse_jira_datetime(sprint.get("endDate"))
            or parse.parse_jira_datetime(sprint.get("startDate"))
        )
        return (moment or datetime.min.replace(tzinfo=UTC), int(sprint.get("id") or 0))

    closed = sorted((s for s in raw_sprints if str(s.get("state")).lower() == "closed"), key=closed_at)
    active = sorted((s for s in raw_sprints if str(s.get("state")).lower() == "active"), key=closed_at)
    return [*closed[-closed_count:], *active] if closed_count > 0 else active


def in_sprint(event: IssueChanged, sprint_id: int) -> IssueChanged:
    """Make sure the issue lands in the sprint we fetched it from, even if no sprint field came back.

    A move adds the membership without replacing the issue's other sprints, as the sprint field would.
    """
    if event.sprints is not None and any(ref.jira_id == sprint_id for ref in event.sprints):
        return event
    return dataclasses.replace(event, sprint_move=SprintMove(added_ids=(sprint_id,)))
