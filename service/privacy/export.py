"""Everything stored about a person, as JSON-ready values (``sprintwins member export``).

The export is the person's own copy, so it holds all of it: their "only me" wins too, and their name
even when they opted out of being named to others. Other people in it (who received their kudos, who
gave them kudos) are named only if they agreed to be: someone who opted out is "a teammate".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from service.models import Member, Ticket, Win
from service.models.base import Base
from service.models.progress import ChallengeRow, StreakFreezeDay, StreakStat
from service.models.slack import Cheer
from service.privacy.forget import kudos_given_by, traces_of
from service.privacy.traces import A_TEAMMATE


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _plain(values: Mapping[Any, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json.dumps(dict(values), default=_iso))
    return plain


def export_member(session: Session, member: Member) -> dict[str, Any]:
    """Everything stored about ``member``, as JSON-ready values."""
    member_id = member.id
    win_columns = list(Win.__table__.c)
    wins = [
        _plain(r._mapping) for r in session.execute(select(*win_columns).where(Win.member_id == member_id))
    ]
    given = [
        _plain(r._mapping)
        for r in session.execute(select(*win_columns).where(kudos_given_by(member_id)).order_by(Win.id))
    ]
    cheers: list[dict[str, Any]] = []
    if member.slack_user_id:
        cheers = [
            _plain(r._mapping)
            for r in session.execute(
                select(*Cheer.__table__.c)
                .where(Cheer.slack_team_id == member.slack_team_id, Cheer.user_id == member.slack_user_id)
                .order_by(Cheer.id)
            )
        ]

    given = _others_unnamed(session, given, [w["member_id"] for w in given])
    wins = _others_unnamed(session, wins, [_giver_id(w) for w in wins])

    def rows(model: type[Base], *where: ColumnElement[bool]) -> list[dict[str, Any]]:
        return [_plain(r._mapping) for r in session.execute(select(*model.__table__.c).where(*where))]

    return {
        "member": _plain({c.name: getattr(member, c.name) for c in Member.__table__.c}),
        "wins": sorted(wins, key=lambda w: w["id"]),
        "kudos_given": given,
        "cheers_given": cheers,
        "streaks": rows(StreakStat, StreakStat.member_id == member_id),
        "streak_freezes": rows(StreakFreezeDay, StreakFreezeDay.member_id == member_id),
        "challenges": rows(
            ChallengeRow, (ChallengeRow.member_id == member_id) | (ChallengeRow.created_by == member_id)
        ),
        "assigned_tickets": sorted(
            session.scalars(select(Ticket.issue_key).where(Ticket.assignee_id == member_id))
        ),
    }


def _giver_id(win: Mapping[str, Any]) -> int | None:
    giver = (win.get("details") or {}).get("kudos_from")
    member_id = giver.get("member_id") if isinstance(giver, dict) else None
    return member_id if isinstance(member_id, int) else None


def _others_unnamed(
    session: Session, wins: list[dict[str, Any]], others: list[int | None]
) -> list[dict[str, Any]]:
    """``wins`` with the other person of each (``others``, position for position) scrubbed out when
    they opted out of being named: their id, name and Slack user leave the row."""
    wanted = sorted({m for m in others if m is not None})
    if not wanted:
        return wins
    unnamed = {
        m.id: m
        for m in session.scalars(
            select(Member).where(Member.id.in_(wanted), Member.sharing_opt_out.is_(True))
        )
    }
    shown = []
    for win, other in zip(wins, others, strict=True):
        person = unnamed.get(other) if other is not None else None
        if person is None:
            shown.append(win)
            continue
        scrubbed = traces_of(person).scrub_json(win)
        if scrubbed.get("member_id") == person.id:
            scrubbed["member_id"] = None
        giver = (scrubbed.get("details") or {}).get("kudos_from")
        if isinstance(giver, dict) and giver.get("member_id") == person.id:
            giver.update(member_id=None, slack_user_id=None, name=A_TEAMMATE)
        shown.append(scrubbed)
    return shown
