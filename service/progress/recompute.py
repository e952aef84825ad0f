"""One team's recompute: load its inputs, run the engine, store the result, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.progress import ProgressResult, recompute
from service.models import Team
from service.observability.metrics import timed_recompute
from service.progress.load import TeamInputs, load_team_inputs
from service.progress.save import ProgressChanges, store_result


def lock_team(session: Session, team_id: int) -> bool:
    """Serialise recomputes of one team (Postgres row lock; SQLite has a single writer anyway).

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: the foreign-key checks of rows inserted for the team
    (tickets, wins) take ``FOR KEY SHARE`` on it, which only ``FOR UPDATE`` blocks, so with it every
    batch of the team's deliveries waited for a whole recompute.
    """
    locked = select(Team.id).where(Team.id == team_id).with_for_update(key_share=True)
    return session.execute(locked).first() is not None


def recompute_team(session: Session, team_id: int, today: date | None = None) -> ProgressChanges:
    """Load, recompute and store one team's progress in the caller's transaction."""
    with timed_recompute():
        inputs = load_team_inputs(session, team_id)
        result = run_recompute(inputs, today or inputs.local_today())
    return store_result(session, inputs, result)


def recompute_teams(session: Session, team_ids: Iterable[int], today: date | None = None) -> None:
    """Recompute these teams in the caller's transaction (history moved between them, or was imported)."""
    for team_id in sorted(set(team_ids)):
        if lock_team(session, team_id):
            recompute_team(session, team_id, today)


def run_recompute(inputs: TeamInputs, today: date) -> ProgressResult:
    return recompute(
        inputs.wins,
        inputs.sprints,
        inputs.calendar,
        inputs.rules,
        inputs.freezes,
        today,
        challenges=inputs.challenges,
        issue_ages=inputs.issue_ages,
        team_ref=inputs.refs.team,
    )
