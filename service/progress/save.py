"""Store what a recompute says, as a diff against what the last recompute left.

Engine wins are inserted, updated, retracted or reactivated so that the table always mirrors the
latest recompute, whatever order the events came in; streak stats and challenge progress are
updated where they changed, and the sprint tallies derived afresh are kept for next time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, select, update
from sqlalchemy.orm import Session

from service.domain.challenges import ChallengeProgress
from service.domain.progress import ProgressResult
from service.domain.streaks import StreakStats
from service.domain.wins import WinDraft, WinSource, WinStatus
from service.models import Win, utcnow
from service.models.progress import OWNER_MEMBER, OWNER_TEAM, ChallengeRow, StreakStat
from service.models.upsert import insert_ignoring_conflicts
from service.progress import tallies as sprint_tallies
from service.progress.load import TeamInputs
from service.progress.sql import stream
from service.wins.rows import win_row

# The tables themselves, for bulk statements (``Model.__table__`` is typed as any FromClause).
_WINS = cast(Table, Win.__table__)
_STREAK_STATS = cast(Table, StreakStat.__table__)
_CHALLENGES = cast(Table, ChallengeRow.__table__)


@dataclass
class ProgressChanges:
    """What one recompute changed, for the CLI's report and the job's log."""

    team_id: int
    created: list[tuple[str, str]] = field(default_factory=list)  # (kind, title)
    updated: list[tuple[str, str]] = field(default_factory=list)
    retracted: list[tuple[str, str]] = field(default_factory=list)
    streaks_changed: int = 0
    challenges_changed: int = 0
    created_win_ids: list[int] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        return not (
            self.created or self.updated or self.retracted or self.streaks_changed or self.challenges_changed
        )

    def summary(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "retracted": len(self.retracted),
            "streaks_changed": self.streaks_changed,
            "challenges_changed": self.challenges_changed,
        }


_COMPARED = ("status", "title", "member_id", "points", "url", "occurred_at", "details")


def store_result(session: Session, inputs: TeamInputs, result: ProgressResult) -> ProgressChanges:
    changes = ProgressChanges(inputs.team_id)
    _store_engine_wins(session, inputs, result.drafts, changes)
    changes.streaks_changed = _store_streaks(session, inputs, result)
    changes.challenges_changed = _store_challenges(session, result.challenges)
    sprint_tallies.save(session, inputs.team_id, inputs.fresh_tallies)
    return changes


def _store_engine_wins(
    session: Session, inputs: TeamInputs, drafts: Sequence[WinDraft], changes: ProgressChanges
) -> None:
    team_id, member_id_of = inputs.team_id, inputs.refs.member_id
    wanted = {
        (d.kind.value, d.source_key): win_row(
            team_id, d, member_id=member_id_of(d.member_ref), workspace_id=inputs.workspace_id
        )
        for d in drafts
    }
    existing = {
        (r.kind, r.source_key): r
        for r in stream(
            session,
            select(Win.id, Win.kind, Win.source_key, *(_WINS.c[c] for c in _COMPARED)).where(
                Win.team_id == team_id, Win.source == WinSource.ENGINE.value
            ),
        )
    }
    now = utcnow()
    new = [row for key, row in wanted.items() if key not in existing]
    if new:
        insert_ignoring_conflicts(
            session,
            _WINS,
            [{**row, "created_at": now, "updated_at": now} for row in new],
            ["workspace_id", "source", "source_key", "kind"],
        )
        changes.created = sorted((r["kind"], r["title"]) for r in new)
        changes.created_win_ids = list(
            session.scalars(
                select(Win.id).where(
                    Win.team_id == team_id,
                    Win.source == WinSource.ENGINE.value,
                    Win.created_at == now,
                )
            )
        )
    updates: list[dict[str, Any]] = []
    for key, row in existing.items():
        fresh = wanted.get(key)
        if fresh is None:
            if row.status == WinStatus.ACTIVE.value:
                updates.append({"b_id": row.id, "b_status": WinStatus.RETRACTED.value, **_same(row)})
                changes.retracted.append((row.kind, row.title))
            continue
        if any(_differs(getattr(row, c), fresh[c]) for c in _COMPARED):
            updates.append({"b_id": row.id, **{f"b_{c}": fresh[c] for c in _COMPARED}})
            changes.updated.append((row.kind, fresh["title"]))
    if updates:
        table = _WINS
        values = {c: bindparam(f"b_{c}", type_=table.c[c].type) for c in _COMPARED}
        session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(**values, updated_at=now), updates
        )
    changes.retracted.sort()
    changes.updated.sort()


def _same(row: Row[Any]) -> dict[str, Any]:
    return {f"b_{c}": getattr(row, c) for c in _COMPARED if c != "status"}


def _differs(stored: object, fresh: object) -> bool:
    if isinstance(stored, datetime) and isinstance(fresh, datetime):
        return stored != fresh
    if isinstance(stored, float | int) and isinstance(fresh, float | int):
        return float(stored) != float(fresh)
    return stored != fresh


def _stats_row(stats: StreakStats) -> tuple[int, int, date | None, date | None]:
    return (stats.current, stats.best, stats.current_start, stats.last_day)


def _store_streaks(session: Session, inputs: TeamInputs, result: ProgressResult) -> int:
    team_id, member_id_of = inputs.team_id, inputs.refs.member_id
    wanted: dict[int | None, tuple[int, int, date | None, date | None]] = {
        member_id: _stats_row(stats)
        for ref, stats in result.member_streaks.items()
        if (member_id := member_id_of(ref)) is not None
    }
    wanted[None] = _stats_row(result.team_streak)  # the team's own row
    existing = {
        r.member_id: r
        for r in session.execute(
            select(
                StreakStat.id,
                StreakStat.member_id,
                StreakStat.current,
                StreakStat.best,
                StreakStat.current_start,
                StreakStat.last_day,
            ).where(StreakStat.team_id == team_id)
        )
    }
    now = utcnow()
    changed = 0
    stale = [r.id for m, r in existing.items() if m not in wanted]
    if stale:
        session.execute(_STREAK_STATS.delete().where(StreakStat.id.in_(stale)))
        changed += len(stale)
    updates, inserts = [], []
    for member_id, values in wanted.items():
        row = existing.get(member_id)
        fields = dict(zip(("current", "best", "current_start", "last_day"), values, strict=True))
        if row is None:
            owner = OWNER_TEAM if member_id is None else OWNER_MEMBER
            inserts.append({"team_id": team_id, "scope": owner, "member_id": member_id, **fields})
        elif (row.current, row.best, row.current_start, row.last_day) != values:
            updates.append({"b_id": row.id, **{f"b_{k}": v for k, v in fields.items()}})
    if inserts:
        session.execute(_STREAK_STATS.insert(), [{**r, "updated_at": now} for r in inserts])
    if updates:
        table = _STREAK_STATS
        values_: dict[str, Any] = {
            k: bindparam(f"b_{k}") for k in ("current", "best", "current_start", "last_day")
        }
        session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(**values_, updated_at=now), updates
        )
    return changed + len(inserts) + len(updates)


def _store_challenges(session: Session, progress: Mapping[int | str, ChallengeProgress]) -> int:
    if not progress:
        return 0
    ids = [int(i) for i in progress]
    rows = session.execute(
        select(ChallengeRow.id, ChallengeRow.progress, ChallengeRow.completed_at).where(
            ChallengeRow.id.in_(ids)
        )
    )
    updates = []
    for challenge_id, done, completed_at in rows:
        fresh = progress[challenge_id]
        if done != fresh.done or completed_at != fresh.completed_at:
            updates.append(
                {"b_id": challenge_id, "b_progress": fresh.done, "b_completed_at": fresh.completed_at}
            )
    if updates:
        table = _CHALLENGES
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(progress=bindparam("b_progress"), completed_at=bindparam("b_completed_at")),
            updates,
        )
    return len(updates)
