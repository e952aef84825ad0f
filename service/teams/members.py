"""People and their Slack identities: linking a Slack user to a Jira person, sharing, email matches.

Everything here takes a session and plain values (no Slack client): a job asks Slack who someone
is, then hands what it learnt (anything shaped like a :class:`SlackPerson`) to these functions.
Writes are keyed by unique constraints, so a retried job finds the rows it made.

A Jira account id (and an email Jira revealed) names a person only within a workspace: each workspace
has its own Jira site. A Slack user is one person wherever they are looked up (Slack's ids are global).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

from sqlalchemy import CompoundSelect, Table, delete, func, select, update
from sqlalchemy.orm import Session

from service.domain.replies import NOT_YOUR_JIRA_ACCOUNT, no_jira_person_with_email
from service.models import DEFAULT_WORKSPACE_ID, Member, Ticket, Win, utcnow
from service.models.upsert import insert_ignoring_conflicts

_MEMBERS = cast(Table, Member.__table__)  # typed as any FromClause; the bulk insert needs a Table


class LinkError(ValueError):
    """Something a person asked for that cannot be done; the message is raw text for them."""


class NotYourJiraAccount(LinkError):
    """Someone linking themselves named a Jira account whose email is not theirs (or is unknown)."""

    def __init__(self) -> None:
        super().__init__(NOT_YOUR_JIRA_ACCOUNT)


class SlackPerson(Protocol):
    """What Slack told us about a person (``users.info``), as far as members need it."""

    @property
    def user_id(self) -> str: ...

    @property
    def display_name(self) -> str: ...

    @property
    def email(self) -> str | None: ...


def member_for_slack_user(session: Session, slack_team_id: str, user_id: str) -> Member | None:
    return session.scalars(
        select(Member).where(Member.slack_team_id == slack_team_id, Member.slack_user_id == user_id)
    ).first()


def ensure_member(
    session: Session, slack_team_id: str, profile: SlackPerson, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> Member:
    """The member behind a Slack user: already linked, matched by the email Jira revealed in the
    workspace, or new there."""
    member = member_for_slack_user(session, slack_team_id, profile.user_id)
    if member is not None:
        return member
    if profile.email:
        by_email = session.scalars(
            select(Member)
            .where(
                Member.workspace_id == workspace_id,
                func.lower(Member.email) == profile.email.lower(),
                Member.slack_user_id.is_(None),
            )
            .order_by(Member.id)
        ).first()
        if by_email is not None:
            by_email.slack_team_id, by_email.slack_user_id = slack_team_id, profile.user_id
            session.flush()
            return by_email
    insert_ignoring_conflicts(
        session,
        _MEMBERS,
        [
            {
                "workspace_id": workspace_id,
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
    profile: SlackPerson,
    *,
    jira_account_id: str | None = None,
    email: str | None = None,
    must_match_email: str | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> Linked:
    """Match a Slack user to a Jira person (``/sprintwins link``).

    A Slack-only member made earlier (by ``/win``) is merged in: its wins move to the Jira person.
    With ``must_match_email`` (someone linking themselves, their Slack email) the Jira person must be
    one the pipeline saw with that email, or NotYourJiraAccount is raised and nothing changes.
    """
    wanted = must_match_email.strip().lower() if must_match_email is not None else None
    if wanted is not None and (not wanted or (email is not None and email.strip().lower() != wanted)):
        raise NotYourJiraAccount()
    if jira_account_id:
        target = session.scalars(
            select(Member).where(
                Member.workspace_id == workspace_id, Member.jira_account_id == jira_account_id
            )
        ).first()
        if wanted is not None and (target is None or (target.email or "").strip().lower() != wanted):
            raise NotYourJiraAccount()
        if target is None:
            target = Member(
                workspace_id=workspace_id,
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
            .where(
                Member.workspace_id == workspace_id,
                func.lower(Member.email) == email.lower(),
                Member.jira_account_id.is_not(None),
            )
            .order_by(Member.id)
        ).first()
        if target is None:
            raise LinkError(no_jira_person_with_email(email))
    current = member_for_slack_user(session, slack_team_id, profile.user_id)
    moved = 0
    if current is not None and current.id != target.id:
        if current.jira_account_id is None:
            moved = _merge_slack_only_member(session, current, target)
        else:
            current.slack_team_id, current.slack_user_id = None, None
        session.flush()
    target.slack_team_id, target.slack_user_id = slack_team_id, profile.user_id
    session.flush()
    return Linked(target, moved)


def _merge_slack_only_member(session: Session, current: Member, target: Member) -> int:
    """Fold a member known only from Slack into ``target``; returns how many of their wins moved."""
    # Their own wins move; the engine's streaks and badges are reissued for the merged person
    # by the next recompute (their keys name the person), and the old ones are dropped here.
    moved = int(
        session.execute(
            update(Win).where(Win.member_id == current.id, Win.source != "engine").values(member_id=target.id)
        ).rowcount  # type: ignore[attr-defined]
        or 0
    )
    session.execute(delete(Win).where(Win.member_id == current.id, Win.source == "engine"))
    target.sharing_opt_out = target.sharing_opt_out or current.sharing_opt_out
    target.email = target.email or current.email
    session.delete(current)
    return moved


def set_sharing(
    session: Session,
    slack_team_id: str,
    profile: SlackPerson,
    share: bool,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> Member:
    member = ensure_member(session, slack_team_id, profile, workspace_id=workspace_id)
    member.sharing_opt_out = not share
    session.flush()
    return member


def members_to_match_by_email(
    session: Session,
    limit: int = 200,
    team_id: int | None = None,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> list[tuple[int, str]]:
    """Members Jira gave an email but who have no Slack identity yet: (id, email).

    With ``team_id``, only people seen in that team (credited with its wins or assigned its
    tickets), so nobody is matched into a workspace whose channels belong to other teams; without
    it, the people of ``workspace_id``.
    """
    query = select(Member.id, Member.email).where(Member.email.is_not(None), Member.slack_user_id.is_(None))
    if team_id is not None:
        query = query.where(Member.id.in_(_seen_in_team(team_id)))
    else:
        query = query.where(Member.workspace_id == workspace_id)
    rows = session.execute(query.order_by(Member.id).limit(limit))
    return [(member_id, email) for member_id, email in rows if email]


def _seen_in_team(team_id: int) -> CompoundSelect[int | None]:
    """The ids of people credited with a team's wins or assigned its tickets."""
    return (
        select(Win.member_id)
        .where(Win.team_id == team_id, Win.member_id.is_not(None))
        .union(select(Ticket.assignee_id).where(Ticket.team_id == team_id, Ticket.assignee_id.is_not(None)))
    )


def list_members(
    session: Session, team_id: int | None = None, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> list[Member]:
    """Every member of the workspace by id, or, with ``team_id``, the people seen in that team."""
    query = select(Member).order_by(Member.id)
    if team_id is not None:
        query = query.where(Member.id.in_(_seen_in_team(team_id)))
    else:
        query = query.where(Member.workspace_id == workspace_id)
    return list(session.scalars(query))


def member_id_for_jira(
    session: Session, jira_account_id: str, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> int | None:
    return session.scalar(
        select(Member.id).where(
            Member.workspace_id == workspace_id, Member.jira_account_id == jira_account_id
        )
    )


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
