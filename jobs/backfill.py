"""Import a board's recent sprints and their issues from Jira REST, so a new team starts with history.

Jira is asked before each sprint's transaction opens, never inside one: the REST data is turned into
domain events (``integrations.jira.backfill_events``), then stored in one transaction per sprint
(``service.intake.backfill`` records the events, the sprint scope is refreshed beside them). An
interrupted run keeps the sprints it finished; a second run writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from jira import JIRA

from integrations.jira import rest
from integrations.jira.backfill_events import in_sprint, select_sprints
from jobs import scope as scope_jobs
from service.db import Database
from service.intake.backfill import record_history, team_slugs_of_sprints
from service.models import DEFAULT_WORKSPACE_ID
from service.progress.recompute import recompute_teams
from service.progress.sprint_scope import sprint_by_jira_id


class BackfillProgress(Protocol):
    """What a caller shows while the backfill runs (the CLI draws a progress bar)."""

    def planned(self, sprints: int) -> None: ...

    def sprint_done(self, name: str, issues: int) -> None: ...


@dataclass
class BackfillReport:
    board_id: int
    points_field: str | None
    sprints: list[str] = field(default_factory=list)
    issues_seen: int = 0
    issues_recorded: int = 0  # new, or newer in Jira than what we held
    ticket_wins: int = 0  # issues that became (or became again) an active win
    sprint_events_recorded: int = 0
    scope_rows_changed: int = 0
    teams: list[str] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return bool(self.issues_recorded or self.sprint_events_recorded or self.scope_rows_changed)


def backfill_board(
    database: Database,
    client: JIRA,
    site: str,
    board_id: int,
    sprint_count: int,
    *,
    configured_points_field: str | None = None,
    progress: BackfillProgress | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> BackfillReport:
    """Import the board's history into ``workspace_id``, the workspace whose Jira site ``client`` reads."""
    fields = client.fields()
    points_field = scope_jobs.points_field_for(
        database, client, site, board_id, configured=configured_points_field, fields=fields
    )
    sprint_field = rest.sprint_field_from_list(fields)
    chosen = select_sprints(rest.board_sprints(client, board_id, ("active", "closed")), sprint_count)
    report = BackfillReport(board_id=board_id, points_field=points_field)
    touched_teams: set[int] = set()
    if progress is not None:
        progress.planned(len(chosen))
    for raw_sprint in chosen:
        sprint_id = int(raw_sprint["id"])
        fetched = scope_jobs.fetch_sprint_scope(
            client,
            sprint_id,
            points_field,
            sprint=raw_sprint,
            extra_fields=[sprint_field] if sprint_field else [],
        )
        issue_events = [in_sprint(event, sprint_id) for event in fetched.issue_events()]
        sprint_events = rest.sprint_events(raw_sprint)
        with database.transaction() as session:
            recorded = record_history(session, issue_events, sprint_events, workspace_id=workspace_id)
            sprint = sprint_by_jira_id(session, sprint_id, workspace_id=workspace_id)
            stored = scope_jobs.store_fetched_scope(session, sprint, fetched) if sprint is not None else None
        touched_teams |= recorded.stats.touched_teams
        report.sprints.append(str(raw_sprint.get("name") or sprint_id))
        report.issues_seen += len(fetched.issues)
        report.issues_recorded += recorded.issues_recorded
        report.ticket_wins += recorded.stats.completed
        report.sprint_events_recorded += recorded.stats.sprint_events
        report.scope_rows_changed += stored.changed if stored is not None else 0
        if progress is not None:
            progress.sprint_done(report.sprints[-1], len(fetched.issues))
    if touched_teams:
        # The imported history earns badges, streaks and milestones now, not at the teams' next event.
        with database.transaction() as session:
            recompute_teams(session, touched_teams)
    with database.sessions() as session:
        report.teams = team_slugs_of_sprints(
            session, [int(s["id"]) for s in chosen], workspace_id=workspace_id
        )
    return report
