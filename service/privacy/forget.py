"""Forgetting a person: their rows go, their traces in every other row are scrubbed, team totals stay.

The steps that need to know a table come first (which wins go and which stay anonymously, who gave
kudos, whose cheers these were); then every row that still points at the member by a foreign key is
unlinked or deleted, as its column allows; then ``sweep`` scrubs whatever text still names them
(free-text titles, stored digests, raw webhook bodies...). All in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, cast

from sqlalchemy import CursorResult, Table, and_, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from service.domain.wins import WinKind, WinSource, WinVisibility
from service.models import Member, Win
from service.models.base import Base
from service.models.progress import SprintTallyRow
from service.models.slack import Cheer, DigestCheer
from service.privacy.sweep import holds_trace, in_workspace, sweep
from service.privacy.traces import PersonTraces
from service.progress.recompute import recompute_team

# Engine wins that belong to one person and mean nothing without them.
PERSONAL_ENGINE_KINDS = (WinKind.STREAK.value, WinKind.BADGE.value, WinKind.CHALLENGE.value)
# Keys of a win's details that identify the person the win is about.
PERSONAL_DETAIL_KEYS = ("slack_user_id", "assignee", "email", "display_name")
FORGOTTEN_GIVER: dict[str, Any] = {"member_id": None, "slack_user_id": None, "name": None, "forgotten": True}
# An "only me" win was for its owner's eyes: once they are gone nobody may read what it said.
FORGOTTEN_PRIVATE_TITLE = "A private win"


def traces_of(member: Member) -> PersonTraces:
    return PersonTraces(member.display_name, member.email, member.jira_account_id, member.slack_user_id)


def kudos_given_by(member_id: int) -> ColumnElement[bool]:
    return and_(
        Win.kind == WinKind.KUDOS.value, Win.details[("kudos_from", "member_id")].as_integer() == member_id
    )


def forget_member(session: Session, member: Member, today: date | None = None) -> dict[str, int]:
    """Erase a person and everything personal, keeping every team's totals.

    * Their ticket, manual and kudos wins (and team milestones they triggered) stay, without a
      member and without personal details: teams keep counting them, anonymously.
    * Their own streak, badge and personal challenge wins are deleted: they celebrate the person.
    * Kudos they gave keep counting for whoever received them; who gave them is erased.
    * Cheers they left stay counted under an anonymous id; their streak stats, freezes and
      personal challenges go; tickets and sprint scope they were assigned lose their assignee.
    * Their name, email and ids are scrubbed from every text and JSON column left (``sweep``);
      processed webhook bodies that named them lose their body.
    Affected teams are recomputed, so team streaks and milestones stay exact.
    """
    member_id, workspace_id = member.id, member.workspace_id
    traces = traces_of(member)
    team_ids = set(session.scalars(select(Win.team_id).where(Win.member_id == member_id).distinct()))
    deleted = cast(
        CursorResult[Any],
        session.execute(
            delete(Win).where(
                Win.member_id == member_id,
                Win.source == WinSource.ENGINE.value,
                Win.kind.in_(PERSONAL_ENGINE_KINDS),
            )
        ),
    ).rowcount
    kept = session.execute(
        select(Win.id, Win.details, Win.visibility, Win.title).where(Win.member_id == member_id)
    ).all()
    if kept:
        session.execute(
            update(Win),
            [
                {
                    "id": win_id,
                    "member_id": None,
                    "details": _scrubbed(details or {}),
                    "title": FORGOTTEN_PRIVATE_TITLE if visibility == WinVisibility.PRIVATE.value else title,
                }
                for win_id, details, visibility, title in kept
            ],
        )
    given = session.execute(select(Win.id, Win.details, Win.team_id).where(kudos_given_by(member_id))).all()
    if given:
        session.execute(
            update(Win),
            [
                {"id": win_id, "details": {**(details or {}), "kudos_from": FORGOTTEN_GIVER}}
                for win_id, details, _ in given
            ],
        )
        team_ids.update(team_id for _, _, team_id in given)
    cheers = _anonymise_reactions(session, member)
    team_ids |= _drop_cached_tallies(session, traces, workspace_id)
    _unlink(session, member_id)
    session.delete(member)
    session.flush()
    for team_id in sorted(team_ids):
        recompute_team(session, team_id, today)
    # Last, so text the recompute wrote is swept too; only in the person's workspace, where they were.
    scrubbed = sweep(session, traces, workspace_id)
    return {
        "deleted_wins": deleted or 0,
        "anonymised_wins": len(kept),
        "scrubbed_kudos": len(given),
        "anonymised_cheers": cheers,
        "scrubbed_rows": sum(scrubbed.values()),
        "inbox_rows": scrubbed.get("inbound_events", 0),
    }


def _scrubbed(details: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if k not in PERSONAL_DETAIL_KEYS}


def _anonymise_reactions(session: Session, member: Member) -> int:
    """Their reactions keep counting, each under an id of its own (two forgotten people's identical
    reactions on one win must not collide on the unique key); returns how many win cheers there were."""
    if not member.slack_user_id:
        return 0
    counted = 0
    for model, prefix in ((Cheer, "forgotten:"), (DigestCheer, "forgotten:d")):
        ids = list(
            session.scalars(
                select(model.id).where(
                    model.slack_team_id == member.slack_team_id, model.user_id == member.slack_user_id
                )
            )
        )
        if ids:
            session.execute(update(model), [{"id": i, "user_id": f"{prefix}{i}"[:32]} for i in ids])
        if model is Cheer:
            counted = len(ids)
    return counted


def _drop_cached_tallies(session: Session, traces: PersonTraces, workspace_id: int) -> set[int]:
    """Kept sprint tallies name people by their outside id; they are a cache: the ones naming this
    person go, and their teams' recompute derives them again without the person."""
    if not traces.needles():
        return set()
    tallies = cast(Table, SprintTallyRow.__table__)
    rows = session.execute(
        select(SprintTallyRow.sprint_id, SprintTallyRow.team_id).where(
            holds_trace([tallies.c.tally], traces), in_workspace(tallies, workspace_id)
        )
    ).all()
    if rows:
        session.execute(delete(SprintTallyRow).where(SprintTallyRow.sprint_id.in_([r[0] for r in rows])))
    return {team_id for _, team_id in rows}


def _unlink(session: Session, member_id: int) -> None:
    """Every other row that points at the member, as its foreign key says: unlinked where it is
    ``SET NULL`` (a ticket's assignee, who confirmed a sprint goal, who set a challenge), deleted
    otherwise (their streak stats, freezes and personal challenges). Done here rather than left to
    the database, so a connection without foreign keys enforced forgets just as well."""
    members = cast(Table, Member.__table__)
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is not members or fk.parent.table is not table:
                continue
            column = fk.parent
            if (fk.ondelete or "").upper() == "SET NULL":
                session.execute(table.update().where(column == member_id).values({column.name: None}))
            else:
                session.execute(table.delete().where(column == member_id))
