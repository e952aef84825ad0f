"""Who takes part in a team's wins: the share of people with a recent win, kudos and cheers.

Read over the wins every team reader may see (``queries.shared_with_team``, the API's rule), so an
"only me" win never makes anyone count here. Kudos are wins of kind ``kudos``: the receiver is the
win's member and the giver ``details.kudos_from.member_id`` (``jobs.slack_wins``). Cheers are the
reactions on our posts, one row per (win, person, reaction) (``service.wins.cheers``), counted on the
wins of the window as the API's ``cheers`` field counts them on each win.

The counted-win and kudos conditions are the partial indexes' predicates word for word
(``COUNTED_WINS``, ``ACTIVE_KUDOS``), so Postgres answers from those indexes on a large history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, TextClause, func, select, text
from sqlalchemy.orm import Session

from service.models import Member, Win
from service.models.slack import Cheer
from service.models.wins import ACTIVE_KUDOS, COUNTED_WINS
from service.wins import queries

WINDOW_DAYS = 30  # "recent": the last 30 days, as the team page's daily bars
ROSTER_DAYS = 365  # who belongs to the team: anyone with a win in the last year
TOP_CHEERED = 5
RECENT_KUDOS = 10


@dataclass(frozen=True)
class KudosTally:
    member: Member
    given: int
    received: int


@dataclass(frozen=True)
class KudosLine:
    win: Win  # its member received it
    giver: Member | None


@dataclass(frozen=True)
class CheeredWin:
    win: Win
    cheers: int


@dataclass(frozen=True)
class Participation:
    since: datetime  # the window's start
    people: int  # people with a win in the last year
    active: int  # of them, people with a win in the window
    kudos: int  # kudos given in the window
    kudos_people: list[KudosTally]  # most kudos first
    recent_kudos: list[KudosLine]  # newest first
    cheers: int  # cheers on the team's wins of the window
    most_cheered: list[CheeredWin]

    @property
    def share(self) -> int:
        """The active people as a whole percentage of the team's people (0 for a team without any)."""
        return round(100 * self.active / self.people) if self.people else 0


def _shared(team_id: int, since: datetime) -> list[ColumnElement[bool]]:
    return [Win.team_id == team_id, queries.shared_with_team(), Win.occurred_at >= since]


def team_participation(session: Session, team_id: int, now: datetime | None = None) -> Participation:
    now = now or datetime.now(UTC)
    since = now - timedelta(days=WINDOW_DAYS)
    return Participation(
        since=since,
        people=_people_since(session, team_id, now - timedelta(days=ROSTER_DAYS)),
        active=_people_since(session, team_id, since),
        kudos=_kudos_count(session, team_id, since),
        kudos_people=_kudos_tallies(session, team_id, since),
        recent_kudos=_recent_kudos(session, team_id, since),
        cheers=_cheer_count(session, team_id, since),
        most_cheered=_most_cheered(session, team_id, since),
    )


def _people_since(session: Session, team_id: int, since: datetime) -> int:
    """How many people have a counted win (a ticket, a /win, kudos received) since ``since``."""
    query = select(func.count(func.distinct(Win.member_id))).where(
        *_shared(team_id, since), text(COUNTED_WINS), Win.member_id.is_not(None)
    )
    return int(session.scalar(query) or 0)


def _giver() -> ColumnElement[int]:
    # The JSON column's type leaves the path untyped; ``as_integer`` makes it an integer on both databases.
    return cast(ColumnElement[int], Win.details[("kudos_from", "member_id")].as_integer())


def _kudos(team_id: int, since: datetime) -> list[ColumnElement[bool] | TextClause]:
    return [*_shared(team_id, since), text(ACTIVE_KUDOS)]


def _kudos_count(session: Session, team_id: int, since: datetime) -> int:
    return int(session.scalar(select(func.count()).where(*_kudos(team_id, since))) or 0)


def _kudos_tallies(session: Session, team_id: int, since: datetime) -> list[KudosTally]:
    receivers = (
        select(Win.member_id, func.count())
        .where(*_kudos(team_id, since), Win.member_id.is_not(None))
        .group_by(Win.member_id)
    )
    received = {member_id: int(n) for member_id, n in session.execute(receivers)}
    giver = _giver()
    givers = select(giver, func.count()).where(*_kudos(team_id, since), giver.is_not(None)).group_by(giver)
    given = {member_id: int(n) for member_id, n in session.execute(givers)}
    members = _members(session, {*received, *given})
    tallies = [KudosTally(members[i], given.get(i, 0), received.get(i, 0)) for i in members]
    return sorted(tallies, key=lambda t: (-(t.given + t.received), -t.received, t.member.id))


def _recent_kudos(session: Session, team_id: int, since: datetime) -> list[KudosLine]:
    rows = list(
        session.scalars(
            select(Win)
            .where(*_kudos(team_id, since))
            .order_by(Win.occurred_at.desc(), Win.id.desc())
            .limit(RECENT_KUDOS)
        )
    )
    givers = _members(session, {g for g in (_giver_id(w) for w in rows) if g is not None})
    return [KudosLine(w, givers.get(_giver_id(w) or 0)) for w in rows]


def _giver_id(win: Win) -> int | None:
    giver = (win.details or {}).get("kudos_from")
    member_id = giver.get("member_id") if isinstance(giver, dict) else None
    return member_id if isinstance(member_id, int) else None


def _members(session: Session, ids: set[int | None]) -> dict[int, Member]:
    wanted = sorted(i for i in ids if i is not None)
    if not wanted:
        return {}
    return {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(wanted)))}


def _cheered(team_id: int, since: datetime) -> list[ColumnElement[bool]]:
    """Cheers on the team's wins of the window: read from the team's wins by time (``ix_wins_team_time``),
    then each win's cheers by the cheers' (win, person, reaction) key."""
    return _shared(team_id, since)


def _cheer_count(session: Session, team_id: int, since: datetime) -> int:
    query = (
        select(func.count())
        .select_from(Cheer)
        .join(Win, Win.id == Cheer.win_id)
        .where(*_cheered(team_id, since))
    )
    return int(session.scalar(query) or 0)


def _most_cheered(session: Session, team_id: int, since: datetime) -> list[CheeredWin]:
    # Grouped by the win and counting rows, so each win's cheers come from the cheers' unique index
    # alone (an index-only probe per win of the window), never from a scan of every cheer.
    cheers = func.count().label("cheers")
    ranked = (
        select(Win.id, cheers)
        .join(Cheer, Cheer.win_id == Win.id)
        .where(*_cheered(team_id, since))
        .group_by(Win.id)
        .order_by(cheers.desc(), Win.id.desc())
        .limit(TOP_CHEERED)
    )
    counts = {win_id: int(n) for win_id, n in session.execute(ranked)}
    wins = {w.id: w for w in session.scalars(select(Win).where(Win.id.in_(list(counts))))} if counts else {}
    return [CheeredWin(wins[i], n) for i, n in counts.items() if i in wins]
