"""Record what sprint events mean: sprint rows, their state, and the sprint's started and closed wins.

The rules come from the domain (``state_after``, ``sprint_win_key``, the win titles); this module
finds or makes the rows they apply to, inside one workspace. A sprint is known by its Jira id within its
workspace (each has its own Jira site); the changelog of some sites names sprints without ids, so a
sprint may also be found by name within its team.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from service.domain.events import SprintAction, SprintChanged, SprintRef
from service.domain.sprints import SprintState, sprint_win_key, state_after
from service.domain.win_titles import sprint_closed_title, sprint_started_title
from service.domain.wins import WinKind, WinSource, WinStatus
from service.intake.rows import SPRINTS
from service.intake.stats import RecordStats
from service.models import DEFAULT_WORKSPACE_ID, Sprint, TeamSource, Ticket, Win, sprint_tickets
from service.models.upsert import insert_ignoring_conflicts
from service.teams.registry import claim_board_for, teams_for_sources

SPRINT_WIN_KINDS = (WinKind.SPRINT_STARTED.value, WinKind.SPRINT_CLOSED.value)


class SprintRecorder:
    """One per batch: it remembers the board teams and sprints by name it has looked up."""

    def __init__(
        self, session: Session, stats: RecordStats, *, workspace_id: int = DEFAULT_WORKSPACE_ID
    ) -> None:
        self.session = session
        self.stats = stats
        self.workspace_id = workspace_id
        self._board_teams: dict[tuple[int, int], int] = {}
        self._sprints_by_name: dict[tuple[int, str], Sprint] = {}

    def sprint_for_ref(self, ref: SprintRef, team_id: int, *, seen_on_issue: bool = True) -> Sprint:
        """The sprint an issue (or a sprint event) names, made if new; ``ref.jira_id`` is known."""
        if seen_on_issue and ref.board_id is not None:
            team_id = self._board_team(ref.board_id, team_id)
        sprint = self.session.scalars(self._by_jira_id(ref.jira_id)).first()
        if sprint is None:
            named = self._unnumbered_sprint(ref.name, team_id)
            if named is not None:
                named.jira_id = ref.jira_id
                sprint = named
            else:
                row = {
                    "workspace_id": self.workspace_id,
                    "jira_id": ref.jira_id,
                    "team_id": team_id,
                    "name": ref.name or f"Sprint {ref.jira_id}",
                    "state": ref.state or SprintState.FUTURE,
                    "last_event_ms": -1,
                }
                insert_ignoring_conflicts(self.session, SPRINTS, [row], ["workspace_id", "jira_id"])
                sprint = self.session.scalars(self._by_jira_id(ref.jira_id)).one()
        merge_sprint_facts(sprint, ref)
        return sprint

    def _by_jira_id(self, jira_id: int | None) -> Select[Sprint]:
        return select(Sprint).where(Sprint.workspace_id == self.workspace_id, Sprint.jira_id == jira_id)

    def _board_team(self, board_id: int, issue_team_id: int) -> int:
        """Which team a board belongs to, asked once per batch."""
        key = (board_id, issue_team_id)
        if key not in self._board_teams:
            self._board_teams[key] = claim_board_for(
                self.session, board_id, issue_team_id, workspace_id=self.workspace_id
            )
        return self._board_teams[key]

    def _unnumbered_sprint(self, name: str | None, team_id: int) -> Sprint | None:
        if not name:
            return None
        return self.session.scalars(
            select(Sprint).where(Sprint.team_id == team_id, Sprint.name == name, Sprint.jira_id.is_(None))
        ).first()

    def sprint_by_name(self, name: str, team_id: int) -> Sprint:
        """The changelog names sprints without ids on some sites; match them within the team."""
        key = (team_id, name)
        if key not in self._sprints_by_name:
            sprint = self.session.scalars(
                select(Sprint)
                .where(Sprint.team_id == team_id, Sprint.name == name)
                .order_by(Sprint.id.desc())
            ).first()
            if sprint is None:
                sprint = Sprint(
                    workspace_id=self.workspace_id,
                    team_id=team_id,
                    name=name,
                    state=SprintState.FUTURE,
                    last_event_ms=-1,
                )
                self.session.add(sprint)
                self.session.flush()
            self._sprints_by_name[key] = sprint
        return self._sprints_by_name[key]

    def record(self, event: SprintChanged) -> int:
        """Apply one sprint event; returns our id of the sprint it touched."""
        self.stats.sprint_events += 1
        ref = event.sprint
        sprint = self.session.scalars(self._by_jira_id(ref.jira_id).with_for_update()).first()
        if sprint is None:
            # Sprint events name only their board; an unclaimed board gets a team so nothing is dropped.
            board_key = str(ref.board_id) if ref.board_id is not None else "unknown"
            team_id = teams_for_sources(
                self.session, TeamSource.BOARD, [board_key], workspace_id=self.workspace_id
            )[board_key]
            sprint = self.sprint_for_ref(ref, team_id, seen_on_issue=False)
        if event.timestamp_ms >= sprint.last_event_ms:
            merge_sprint_facts(sprint, ref)
            sprint.state = state_after(event.action, ref.state, sprint.state)
            sprint.last_event_ms = event.timestamp_ms
        self.session.flush()
        if event.action is SprintAction.STARTED:
            title = sprint_started_title(sprint.name, ref.goal)
            self._upsert_sprint_win(sprint, WinKind.SPRINT_STARTED, title, event, None)
        elif event.action is SprintAction.CLOSED:
            self._upsert_sprint_win(sprint, WinKind.SPRINT_CLOSED, sprint.name, event, None)
            self.stats.closed_sprint_ids.add(sprint.id)
        elif event.action is SprintAction.DELETED:
            assert ref.jira_id is not None  # the parsers refuse sprint events without an id
            for win in self.session.scalars(
                select(Win).where(
                    Win.workspace_id == self.workspace_id,
                    Win.source == WinSource.JIRA.value,
                    Win.source_key == sprint_win_key(ref.jira_id),
                    Win.kind.in_(SPRINT_WIN_KINDS),
                )
            ):
                win.status = WinStatus.RETRACTED.value
        return sprint.id

    def _upsert_sprint_win(
        self, sprint: Sprint, kind: WinKind, title: str, event: SprintChanged, points: float | None
    ) -> None:
        assert sprint.jira_id is not None  # found or made by the event's Jira id
        key = sprint_win_key(sprint.jira_id)
        win = self.session.scalars(
            select(Win).where(
                Win.workspace_id == sprint.workspace_id,
                Win.source == WinSource.JIRA.value,
                Win.source_key == key,
                Win.kind == kind.value,
            )
        ).first()
        if win is None:
            win = Win(
                workspace_id=sprint.workspace_id,
                team_id=sprint.team_id,
                kind=kind.value,
                source=WinSource.JIRA.value,
                source_key=key,
            )
            self.session.add(win)
        win.team_id = sprint.team_id
        win.status = (
            WinStatus.ACTIVE.value if sprint.state != SprintState.DELETED else WinStatus.RETRACTED.value
        )
        win.title = title
        win.points = points
        win.occurred_at = (
            event.sprint.completed_at if kind is WinKind.SPRINT_CLOSED else event.sprint.start_at
        ) or event.occurred_at
        win.details = {"sprint": sprint.name, "goal": sprint.goal, "board_id": sprint.board_id}
        self.session.flush()
        self.stats.touched_teams.add(win.team_id)

    def refresh_closed_sprint_wins(self, sprint_ids: set[int]) -> None:
        """A closed sprint's win counts what was done in it, even when tickets arrive late."""
        if not sprint_ids:
            return
        self.session.flush()
        closed = self.session.scalars(
            select(Sprint).where(Sprint.id.in_(sprint_ids), Sprint.state == SprintState.CLOSED)
        )
        for sprint in closed:
            if sprint.jira_id is None:
                continue  # known by name only: no event closed it, so it has no closed win
            win = self.session.scalars(
                select(Win).where(
                    Win.workspace_id == sprint.workspace_id,
                    Win.source == WinSource.JIRA.value,
                    Win.source_key == sprint_win_key(sprint.jira_id),
                    Win.kind == WinKind.SPRINT_CLOSED.value,
                )
            ).first()
            if win is None:
                continue
            done_count, done_points, total = self.session.execute(
                select(
                    func.count().filter(Ticket.done.is_(True)),
                    func.coalesce(func.sum(Ticket.points).filter(Ticket.done.is_(True)), 0.0),
                    func.count(),
                )
                .select_from(sprint_tickets)
                .join(Ticket, Ticket.id == sprint_tickets.c.ticket_id)
                .where(sprint_tickets.c.sprint_id == sprint.id)
            ).one()
            points = float(done_points or 0.0)
            win.title = sprint_closed_title(sprint.name, done_count, points)
            win.points = points
            win.details = {
                **(win.details or {}),
                "issues_done": done_count,
                "points_done": points,
                "issues_total": total,
            }
            self.stats.touched_teams.add(win.team_id)


def merge_sprint_facts(sprint: Sprint, ref: SprintRef) -> None:
    """What the event says about the sprint, over what we had; unknown fields keep what we had."""
    sprint.name = ref.name or sprint.name
    sprint.goal = ref.goal if ref.goal is not None else sprint.goal
    sprint.board_id = ref.board_id if ref.board_id is not None else sprint.board_id
    sprint.start_at = ref.start_at or sprint.start_at
    sprint.end_at = ref.end_at or sprint.end_at
    sprint.completed_at = ref.completed_at or sprint.completed_at
    if ref.state and sprint.last_event_ms < 0:
        sprint.state = ref.state
