"""Slack's side of our data: channels linked to teams, people's Slack identities, opt-out, cheers.

Everything here takes a session and plain values (no Slack client): the jobs call Slack, then
hand what they learnt (a ``SlackProfile``) to these functions. Writes are keyed by unique
constraints, so a retried job finds the rows it made.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from service.domain.schedule import format_schedule, parse_schedule
from service.domain.sprints import SprintState
from service.domain.wins import WinDraft, WinKind, WinStatus
from service.models import (
    ChannelLink,
    Cheer,
    Member,
    SlackPost,
    Sprint,
    Team,
    TeamSource,
    Ticket,
    Win,
    utcnow,
)
from service.models.slack import DEFAULT_SCHEDULE
from service.models.upsert import insert_ignoring_conflicts, insert_one_returning_id
from service.wins.rows import win_row


class LinkError(ValueError):
    """Something a person asked for that cannot be done; the message is raw text for them."""


class ChannelNotLinked(LinkError):
    def __init__(self) -> None:
        super().__init__(
            "This channel isn't connected to a team yet: run `/sprintwins connect <team>` first."
        )


@dataclass(frozen=True, slots=True)
class SlackProfile:
    """What ``users.info`` told us about a person."""

    user_id: str
    display_name: str
    email: str | None = None
    tz: str | None = None
    is_bot: bool = False


# -- channels ------------------------------------------------------------------------------------------------


def find_team(session: Session, name: str) -> Team:
    """The team a person means by ``name``: its slug, its name, or a Jira project key or board it claims."""
    wanted = name.strip()
    folded = wanted.casefold()
    team = session.scalars(
        select(Team).where(or_(func.lower(Team.slug) == folded, func.lower(Team.name) == folded))
    ).first()
    if team is None:
        claim = session.scalars(
            select(TeamSource).where(
                or_(
                    (TeamSource.kind == TeamSource.PROJECT) & (TeamSource.key == wanted.upper()),
                    (TeamSource.kind == TeamSource.BOARD) & (TeamSource.key == wanted),
                )
            )
        ).first()
        team = session.get(Team, claim.team_id) if claim else None
    if team is not None:
        return team
    slugs = list(session.scalars(select(Team.slug).order_by(Team.slug).limit(500)))
    close = difflib.get_close_matches(folded, slugs, n=1)
    if close:
        hint = f" Did you mean `{close[0]}`?"
    elif slugs:
        hint = " Teams I know: " + ", ".join(f"`{slug}`" for slug in slugs[:10]) + "."
    else:
        hint = " No teams yet: they appear with the first Jira event, or `sprintwins team create <slug>`."
    raise LinkError(f"I don't know a team called `{wanted[:100]}`.{hint}")


def channel_link(session: Session, slack_team_id: str, channel_id: str) -> ChannelLink | None:
    return session.scalars(
        select(ChannelLink).where(
            ChannelLink.slack_team_id == slack_team_id, ChannelLink.channel_id == channel_id
        )
    ).first()


def linked_team(session: Session, slack_team_id: str, channel_id: str) -> Team:
    """The team this channel celebrates; ChannelNotLinked when there is none."""
    link = channel_link(session, slack_team_id, channel_id)
    if link is None:
        raise ChannelNotLinked()
    team = session.get(Team, link.team_id)
    assert team is not None  # the foreign key cascades deletes
    return team


@dataclass(frozen=True, slots=True)
class Connected:
    link: ChannelLink
    team: Team
    previous_team: str | None  # the team's name this channel was linked to before, if another


def connect_channel(
    session: Session,
    *,
    slack_team_id: str,
    enterprise_id: str | None,
    channel_id: str,
    team_name: str,
    linked_by: SlackProfile,
) -> Connected:
    """Link (or re-link) the channel to a team; the linker's time zone becomes the channel's default."""
    team = find_team(session, team_name)
    tz = linked_by.tz or "UTC"
    insert_ignoring_conflicts(
        session,
        ChannelLink.__table__,
        [
            {
                "team_id": team.id,
                "slack_team_id": slack_team_id,
                "slack_enterprise_id": enterprise_id,
                "channel_id": channel_id,
                "linked_by_user_id": linked_by.user_id,
                "schedule": DEFAULT_SCHEDULE,
                "timezone": tz,
                "paused": False,
                "created_at": utcnow(),
            }
        ],
        ["slack_team_id", "channel_id"],
    )
    link = channel_link(session, slack_team_id, channel_id)
    assert link is not None
    previous: str | None = None
    if link.team_id != team.id:
        old = session.get(Team, link.team_id)
        previous = old.name if old else None
        if old is not None and old.slack_channel == channel_id:
            old.slack_channel = None
        link.team_id = team.id
        link.linked_by_user_id = linked_by.user_id
        link.timezone = tz
    link.slack_enterprise_id = enterprise_id
    team.slack_team_id = slack_team_id
    team.slack_channel = channel_id
    if team.timezone == "UTC" and tz != "UTC":
        # The team had only the default; the person linking it knows better.
        team.timezone = tz
    session.flush()
    return Connected(link, team, previous)


def set_schedule(session: Session, slack_team_id: str, channel_id: str, schedule_text: str) -> ChannelLink:
    """Store a schedule (canonical ``format_schedule`` text); a person setting one also resumes digests."""
    link = channel_link(session, slack_team_id, channel_id)
    if link is None:
        raise ChannelNotLinked()
    link.schedule = format_schedule(parse_schedule(schedule_text))
    link.paused = False
    link.last_error = None
    session.flush()
    return link


def set_channel_timezone(session: Session, slack_team_id: str, channel_id: str, tz_name: str) -> ChannelLink:
    link = channel_link(session, slack_team_id, channel_id)
    if link is None:
        raise ChannelNotLinked()
    link.timezone = tz_name
    team = session.get(Team, link.team_id)
    if team is not None:
        team.timezone = tz_name
    session.flush()
    return link


def pause_workspace(session: Session, slack_team_id: str, reason: str) -> int:
    """Stop digests for every channel of a workspace (the app was uninstalled); returns how many."""
    result = session.execute(
        update(ChannelLink)
        .where(ChannelLink.slack_team_id == slack_team_id)
        .values(paused=True, last_error=reason[:2000])
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# -- people --------------------------------------------------------------------------------------------------


def member_for_slack_user(session: Session, slack_team_id: str, user_id: str) -> Member | None:
    return session.scalars(
        select(Member).where(Member.slack_team_id == slack_team_id, Member.slack_user_id == user_id)
    ).first()


def ensure_member(session: Session, slack_team_id: str, profile: SlackProfile) -> Member:
    """The member behind a Slack user: already linked, matched by the email Jira revealed, or new."""
    member = member_for_slack_user(session, slack_team_id, profile.user_id)
    if member is not None:
        return member
    if profile.email:
        by_email = session.scalars(
            select(Member)
            .where(func.lower(Member.email) == profile.email.lower(), Member.slack_user_id.is_(None))
            .order_by(Member.id)
        ).first()
        if by_email is not None:
            by_email.slack_team_id, by_email.slack_user_id = slack_team_id, profile.user_id
            session.flush()
            return by_email
    insert_ignoring_conflicts(
        session,
        Member.__table__,
        [
            {
                "slack_team_id": slack_team_id,
                "slack_user_id": profile.user_id,
                "email": profile.email,
                "display_name": profile.display_name[:200] or profile.user_id,
                "sharing_opt_out": False,
                "created_at": utcnow(),
            }
        ],
        ["slack_team_id", "slack_user_id"],
    )
    member = member_for_slack_user(session, slack_team_id, profile.user_id)
    assert member is not None
    return member


@dataclass(frozen=True, slots=True)
class Linked:
    member: Member
    merged_wins: int  # wins moved over from a Slack-only record of the same person


def link_member(
    session: Session,
    slack_team_id: str,
    profile: SlackProfile,
    *,
    jira_account_id: str | None = None,
    email: str | None = None,
) -> Linked:
    """Match a Slack user to a Jira person (``/sprintwins link``).

    A Slack-only member made earlier (by ``/win``) is merged in: its wins move to the Jira person.
    """
    if jira_account_id:
        target = session.scalars(select(Member).where(Member.jira_account_id == jira_account_id)).first()
        if target is None:
            target = Member(
                jira_account_id=jira_account_id,
                display_name=profile.display_name[:200] or profile.user_id,
                sharing_opt_out=False,
            )
            session.add(target)
            session.flush()
    else:
        assert email
        target = session.scalars(
            select(Member)
            .where(func.lower(Member.email) == email.lower(), Member.jira_account_id.is_not(None))
            .order_by(Member.id)
        ).first()
        if target is None:
            raise LinkError(
                f"No one with the email {email} has shown up from Jira yet. "
                "Link them by their Jira account id instead."
            )
    current = member_for_slack_user(session, slack_team_id, profile.user_id)
    moved = 0
    if current is not None and current.id != target.id:
        if current.jira_account_id is None:
            # Their own wins move; the engine's streaks and badges are reissued for the merged person
            # by the next recompute (their keys name the person), and the old ones are dropped here.
            moved = int(
                session.execute(
                    update(Win)
                    .where(Win.member_id == current.id, Win.source != "engine")
                    .values(member_id=target.id)
                ).rowcount  # type: ignore[attr-defined]
                or 0
            )
            session.execute(delete(Win).where(Win.member_id == current.id, Win.source == "engine"))
            target.sharing_opt_out = target.sharing_opt_out or current.sharing_opt_out
            target.email = target.email or current.email
            session.delete(current)
        else:
            current.slack_team_id, current.slack_user_id = None, None
        session.flush()
    target.slack_team_id, target.slack_user_id = slack_team_id, profile.user_id
    session.flush()
    return Linked(target, moved)


def set_sharing(session: Session, slack_team_id: str, profile: SlackProfile, share: bool) -> Member:
    member = ensure_member(session, slack_team_id, profile)
    member.sharing_opt_out = not share
    session.flush()
    return member


def members_to_match_by_email(
    session: Session, limit: int = 200, team_id: int | None = None
) -> list[tuple[int, str]]:
    """Members Jira gave an email but who have no Slack identity yet: (id, email).

    With ``team_id``, only people seen in that team (credited with its wins or assigned its
    tickets), so nobody is matched into a workspace whose channels belong to other teams.
    """
    query = select(Member.id, Member.email).where(Member.email.is_not(None), Member.slack_user_id.is_(None))
    if team_id is not None:
        seen = (
            select(Win.member_id)
            .where(Win.team_id == team_id, Win.member_id.is_not(None))
            .union(
                select(Ticket.assignee_id).where(Ticket.team_id == team_id, Ticket.assignee_id.is_not(None))
            )
        )
        query = query.where(Member.id.in_(seen))
    rows = session.execute(query.order_by(Member.id).limit(limit))
    return [(member_id, email) for member_id, email in rows if email]


def attach_slack_identity(session: Session, member_id: int, slack_team_id: str, user_id: str) -> bool:
    """Give a member a Slack identity unless someone already holds it; True if attached."""
    if member_for_slack_user(session, slack_team_id, user_id) is not None:
        return False
    member = session.get(Member, member_id)
    if member is None or member.slack_user_id is not None:
        return False
    member.slack_team_id, member.slack_user_id = slack_team_id, user_id
    session.flush()
    return True


# -- wins from Slack -----------------------------------------------------------------------------------------


def record_win(
    session: Session, draft: WinDraft, *, team_id: int, member_id: int | None, visibility: str = "team"
) -> tuple[int, bool]:
    """Insert a Slack-made win unless its (source, source_key, kind) exists; (id, is_new)."""
    row = win_row(team_id, draft, member_id=member_id, visibility=visibility)
    new_id = insert_one_returning_id(session, Win.__table__, row, ["source", "source_key", "kind"])
    if new_id is not None:
        return new_id, True
    existing = session.scalar(
        select(Win.id).where(
            Win.source == row["source"], Win.source_key == row["source_key"], Win.kind == row["kind"]
        )
    )
    assert existing is not None
    return existing, False


# -- cheers --------------------------------------------------------------------------------------------------


def record_cheer(
    session: Session, slack_team_id: str, channel_id: str, ts: str, user_id: str, reaction: str, added: bool
) -> int | None:
    """Add or remove a cheer on the win behind one of our posts; the win id, or None if not ours."""
    win_id = session.scalar(
        select(SlackPost.win_id).where(
            SlackPost.slack_team_id == slack_team_id, SlackPost.channel_id == channel_id, SlackPost.ts == ts
        )
    )
    if win_id is None:
        return None
    reaction = reaction[:100]
    if added:
        insert_ignoring_conflicts(
            session,
            Cheer.__table__,
            [
                {
                    "win_id": win_id,
                    "slack_team_id": slack_team_id,
                    "user_id": user_id,
                    "reaction": reaction,
                    "created_at": utcnow(),
                }
            ],
            ["win_id", "user_id", "reaction"],
        )
    else:
        session.execute(
            delete(Cheer).where(Cheer.win_id == win_id, Cheer.user_id == user_id, Cheer.reaction == reaction)
        )
    return win_id


def cheer_counts(session: Session, win_ids: Sequence[int]) -> dict[int, int]:
    """How many cheers each win has (the digests' and the dashboard's morale signal)."""
    counts: dict[int, int] = {}
    # Chunked: an IN list of a whole busy period stays well under the databases' parameter limits.
    for start in range(0, len(win_ids), 5000):
        chunk = list(win_ids[start : start + 5000])
        rows = session.execute(
            select(Cheer.win_id, func.count()).where(Cheer.win_id.in_(chunk)).group_by(Cheer.win_id)
        )
        counts.update({win_id: count for win_id, count in rows})
    return counts


# -- App Home ------------------------------------------------------------------------------------------------


def member_wins_since(
    session: Session, member_id: int, since: datetime, team_id: int | None = None
) -> list[Win]:
    """Active wins credited to a member since ``since``, newest first (streaks and badges excluded)."""
    query = (
        select(Win)
        .where(
            Win.member_id == member_id,
            Win.status == WinStatus.ACTIVE.value,
            Win.occurred_at >= since,
            Win.kind.not_in([WinKind.STREAK.value, WinKind.BADGE.value]),
        )
        .order_by(Win.occurred_at.desc(), Win.id.desc())
        .limit(200)
    )
    if team_id is not None:
        query = query.where(Win.team_id == team_id)
    return list(session.scalars(query))


def current_sprint_for_member(session: Session, member_id: int) -> Sprint | None:
    """The active sprint of the team the member most recently won something in."""
    team_ids = select(Win.team_id).where(Win.member_id == member_id).distinct()
    return session.scalars(
        select(Sprint)
        .where(Sprint.team_id.in_(team_ids), Sprint.state == SprintState.ACTIVE)
        .order_by(Sprint.start_at.desc().nulls_last(), Sprint.id.desc())
    ).first()


def achievements(session: Session, member_id: int) -> tuple[list[str], list[str]]:
    """Titles of the member's streak and badge wins, newest first."""
    rows = session.execute(
        select(Win.kind, Win.title)
        .where(
            Win.member_id == member_id,
            Win.status == WinStatus.ACTIVE.value,
            Win.kind.in_([WinKind.STREAK.value, WinKind.BADGE.value]),
        )
        .order_by(Win.occurred_at.desc(), Win.id.desc())
        .limit(50)
    )
    streaks: list[str] = []
    badges: list[str] = []
    for kind, title in rows:
        (streaks if kind == WinKind.STREAK.value else badges).append(title)
    return streaks, badges
