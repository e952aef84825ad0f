"""Moving a project's or a board's history to the team that now claims it.

History is what the claim brought: the tickets and their wins, the sprints those tickets sat in (when
nothing of another team is left in them), the sprints' own wins and the engine's milestones of those
sprints. Engine keys name sprints by Jira's id and never name the team for a milestone
(``service.progress.refs``), so a milestone row moves as it is and the new team's recompute finds it;
badges and streaks are earned per team and are recomputed on both sides instead.

History never leaves its workspace: a project key or a board id names something only within one (each
workspace has its own Jira site), and ``to_team`` is a team of that workspace.

Each function returns the teams whose history changed, so the caller can recompute them.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from service.domain.sprints import sprint_win_key
from service.domain.wins import WinKind, WinSource
from service.models import Sprint, Team, TeamSource, Ticket, Win, sprint_tickets
from service.models.progress import SprintTallyRow

_SPRINT_WIN_KINDS = (WinKind.SPRINT_STARTED.value, WinKind.SPRINT_CLOSED.value)


def _workspace_of(session: Session, team_id: int, workspace_id: int | None) -> int:
    if workspace_id is not None:
        return workspace_id
    found = session.scalar(select(Team.workspace_id).where(Team.id == team_id))
    if found is None:
        raise LookupError(f"no team with id {team_id}")
    return found


def move_project(
    session: Session, project_key: str, to_team: int, *, workspace_id: int | None = None
) -> set[int]:
    """Bring the project's tickets (and what follows them) to ``to_team``, from whichever team holds them.

    ``workspace_id`` is ``to_team``'s (looked up when not given): only that workspace's project moves.
    """
    workspace_id = _workspace_of(session, to_team, workspace_id)
    in_project = (Ticket.workspace_id == workspace_id, Ticket.project_key == project_key)
    from_teams = set(
        session.scalars(select(Ticket.team_id).where(*in_project, Ticket.team_id != to_team).distinct())
    )
    if not from_teams:
        return set()
    moving = select(Ticket.issue_key).where(*in_project, Ticket.team_id.in_(from_teams)).scalar_subquery()
    session.execute(
        update(Win)
        .where(
            Win.workspace_id == workspace_id,
            Win.team_id.in_(from_teams),
            Win.source == WinSource.JIRA.value,
            Win.kind == WinKind.TICKET.value,
            Win.source_key.in_(moving),
        )
        .values(team_id=to_team)
    )
    session.execute(update(Ticket).where(*in_project, Ticket.team_id.in_(from_teams)).values(team_id=to_team))
    # The sprints that held the project's tickets go along once nothing of their old team is left in them.
    holding = (
        select(sprint_tickets.c.sprint_id)
        .join(Ticket, Ticket.id == sprint_tickets.c.ticket_id)
        .where(*in_project)
    )
    others_left = exists(
        select(sprint_tickets.c.ticket_id)
        .join(Ticket, Ticket.id == sprint_tickets.c.ticket_id)
        .where(sprint_tickets.c.sprint_id == Sprint.id, Ticket.team_id != to_team)
    )
    sprint_ids = list(
        session.scalars(
            select(Sprint.id).where(Sprint.team_id.in_(from_teams), Sprint.id.in_(holding), ~others_left)
        )
    )
    _move_sprints(session, sprint_ids, to_team, workspace_id)
    return from_teams | {to_team}


def move_board(
    session: Session, board_key: str, to_team: int, *, workspace_id: int | None = None
) -> set[int]:
    """Bring the board's sprints, their wins and milestones to ``to_team``, from whoever holds them.

    ``workspace_id`` is ``to_team``'s (looked up when not given): only that workspace's board moves.
    """
    if not board_key.isdigit():
        return set()
    workspace_id = _workspace_of(session, to_team, workspace_id)
    rows = session.execute(
        select(Sprint.id, Sprint.team_id).where(
            Sprint.workspace_id == workspace_id, Sprint.board_id == int(board_key), Sprint.team_id != to_team
        )
    ).all()
    _move_sprints(session, [sprint_id for sprint_id, _ in rows], to_team, workspace_id, move_boards=False)
    return {team_id for _, team_id in rows} | {to_team} if rows else set()


def _move_sprints(
    session: Session, sprint_ids: list[int], to_team: int, workspace_id: int, *, move_boards: bool = True
) -> None:
    if not sprint_ids:
        return
    moved = session.execute(
        select(Sprint.id, Sprint.team_id, Sprint.jira_id, Sprint.board_id).where(Sprint.id.in_(sprint_ids))
    ).all()
    from_teams = {team_id for _, team_id, _, _ in moved}
    numbered = [jira_id for _, _, jira_id, _ in moved if jira_id is not None]
    if numbered:
        session.execute(
            update(Win)
            .where(
                Win.workspace_id == workspace_id,
                Win.team_id.in_(from_teams),
                or_(
                    and_(
                        Win.source == WinSource.JIRA.value,
                        Win.kind.in_(_SPRINT_WIN_KINDS),
                        Win.source_key.in_([sprint_win_key(j) for j in numbered]),
                    ),
                    and_(
                        Win.source == WinSource.ENGINE.value,
                        Win.kind == WinKind.MILESTONE.value,
                        or_(
                            *(Win.source_key.startswith(f"milestone:{j}:", autoescape=True) for j in numbered)
                        ),
                    ),
                ),
            )
            .values(team_id=to_team)
        )
    session.execute(update(Sprint).where(Sprint.id.in_(sprint_ids)).values(team_id=to_team))
    # Kept tallies are derived again for the new team (its refs name the people).
    session.execute(delete(SprintTallyRow).where(SprintTallyRow.sprint_id.in_(sprint_ids)))
    if move_boards:
        boards = sorted({str(board) for _, _, _, board in moved if board is not None})
        _move_board_claims(session, boards, from_teams, to_team, workspace_id)


def _move_board_claims(
    session: Session, boards: list[str], from_teams: set[int], to_team: int, workspace_id: int
) -> None:
    """A board whose sprints all went over goes with them, so its next sprints are made there too."""
    for board in boards:
        left = session.scalar(
            select(Sprint.id)
            .where(
                Sprint.workspace_id == workspace_id, Sprint.board_id == int(board), Sprint.team_id != to_team
            )
            .limit(1)
        )
        if left is None:
            session.execute(
                update(TeamSource)
                .where(
                    TeamSource.workspace_id == workspace_id,
                    TeamSource.kind == TeamSource.BOARD,
                    TeamSource.key == board,
                    TeamSource.team_id.in_(from_teams),
                )
                .values(team_id=to_team)
            )
