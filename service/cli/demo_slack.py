"""The demo team's Slack side, played without a Slack workspace.

What the Slack jobs do once Slack has answered them, done here through the same code with the
answers the demo stands in for: ``users.info`` profiles (:class:`DemoProfile`), the channel link of
``/sprintwins connect``, kudos and a win from ``/win`` (``jobs.slack_wins``), the sprint-goal button
(``jobs.slack_sprint_goal``), the sprint-end celebration stored and registered as posted with the
``ts`` Slack would return (``jobs.digests``), and reactions on it as cheers (``jobs.slack_events``).
Every row is keyed as the jobs key theirs, so playing the demo twice records nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.cli.demo_history import PEOPLE, Person
from service.digests import build, stored, targets
from service.digests.posting import record_posted
from service.digests.sprint_end import closed_sprint, sprint_closed_win_id
from service.digests.sprint_goal import SprintNotClosed, confirm_sprint_goal
from service.domain.digest_blocks import Digest
from service.domain.digest_periods import sprint_end_period_key
from service.domain.wins import WinDraft, WinKind, WinSource
from service.models import Sprint, Win
from service.models.digests import DigestKind
from service.slack.channels import connect_channel
from service.teams import members
from service.wins.cheers import cheer_counts, record_cheer
from service.wins.record import record_win

SLACK_TEAM_ID = "T0DEMO0001"
CHANNEL_ID = "C0DEMOWINS"
# (giver, recipient or None for the giver's own win, text): what people type after /win.
WINS_IN_SLACK = (
    (1, 0, "untangled the flaky CI job before the release"),
    (2, 3, "paired on the billing bug until it was gone"),
    (0, 2, "the clearest sprint review demo so far"),
    (3, None, "ran the first customer interview on our own"),
)
CHEERS = ("tada", "raised_hands", "fire", "tada")


@dataclass(frozen=True, slots=True)
class DemoProfile:
    """What ``users.info`` would say about a demo person (shaped like ``members.SlackPerson``)."""

    user_id: str
    display_name: str
    email: str | None


@dataclass(frozen=True, slots=True)
class SlackSummary:
    kudos: list[tuple[str, str, str]]  # (from, to, what)
    own_wins: list[tuple[str, str]]  # (who, what)
    cheers: int
    cheered: str  # the title of the cheered win
    goal_confirmed: str | None  # the sprint whose goal was confirmed


def profile(index: int) -> DemoProfile:
    person: Person = PEOPLE[index]
    return DemoProfile(f"U0DEMO{index + 1:04d}", person.name, person.email)


def play_slack(
    session: Session, *, team_slug: str, sprint_jira_id: int, at: datetime, now: datetime
) -> SlackSummary:
    """Everything the team did in Slack, in one transaction."""
    team = connect_channel(  # /sprintwins connect web, in the team's channel
        session,
        slack_team_id=SLACK_TEAM_ID,
        enterprise_id=None,
        channel_id=CHANNEL_ID,
        team_name=team_slug,
        linked_by_user_id=profile(0).user_id,
        linker_tz=None,
    ).team
    kudos: list[tuple[str, str, str]] = []
    own: list[tuple[str, str]] = []
    for n, (giver, recipient, text) in enumerate(WINS_IN_SLACK):
        when = at + timedelta(minutes=7 * n)
        sender = members.ensure_member(session, SLACK_TEAM_ID, profile(giver))
        key = f"demo-{when:%Y%m%d}-{n}"  # Slack's trigger id in a real /win
        details: dict[str, Any] = {"slack_channel": CHANNEL_ID, "slack_user_id": profile(giver).user_id}
        if recipient is None:
            draft = WinDraft(WinKind.MANUAL, WinSource.SLACK, f"win:{key}", text, when, details=details)
            record_win(session, draft, team_id=team.id, member_id=sender.id)
            own.append((sender.display_name, text))
            continue
        to = profile(recipient)
        receiver = members.ensure_member(session, SLACK_TEAM_ID, to)
        kudos_from = {
            "member_id": sender.id,
            "slack_user_id": profile(giver).user_id,
            "name": sender.display_name,
        }
        draft = WinDraft(
            WinKind.KUDOS,
            WinSource.SLACK,
            f"kudos:{key}:{to.user_id}",
            text,
            when,
            details={**details, "slack_user_id": to.user_id, "kudos_from": kudos_from},
        )
        record_win(session, draft, team_id=team.id, member_id=receiver.id)
        kudos.append((sender.display_name, receiver.display_name, text))
    sprint = session.scalars(select(Sprint).where(Sprint.jira_id == sprint_jira_id)).first()
    goal = _confirm_goal(session, sprint, at) if sprint is not None else None
    cheers, cheered = _cheer_celebration(session, sprint, now) if sprint is not None else (0, "")
    return SlackSummary(kudos, own, cheers, cheered, goal)


def _confirm_goal(session: Session, sprint: Sprint, at: datetime) -> str | None:
    """The sprint-end post's "we met the goal" button, pressed by the person who ran the review."""
    confirmer = members.ensure_member(session, SLACK_TEAM_ID, profile(1))
    try:
        confirm_sprint_goal(session, sprint.id, confirmer.id, at)
    except SprintNotClosed:
        return None
    return sprint.name


def _cheer_celebration(session: Session, sprint: Sprint, now: datetime) -> tuple[int, str]:
    """The sprint-end celebration in the demo channel, and the team's reactions on it."""
    closed = closed_sprint(session, sprint.id)
    win_id = sprint_closed_win_id(session, closed) if closed is not None else None
    if closed is None or win_id is None:
        return 0, ""

    def compose() -> Digest:
        return build.compose_sprint_celebration(session, closed, now=now)

    channel_targets = targets.targets(session, closed.team_id, slack_enabled=True, for_sprint_end=True)
    row_ids = stored.ensure_for_targets(
        session,
        [t for t in channel_targets if t.channel_id == CHANNEL_ID],
        team_id=closed.team_id,
        period_key=sprint_end_period_key(closed.id),
        compose=stored.ComposeOnce(compose),
        kind=DigestKind.SPRINT_END,
        win_id=win_id,
    )
    ts = f"{int(now.timestamp())}.000100"  # what chat.postMessage would answer
    for row_id in row_ids:
        digest = stored.stored_digest(session, row_id)
        if digest.ts is None:
            record_posted(session, digest, CHANNEL_ID, ts, now=now)
        ts = digest.ts or ts
    for index, reaction in enumerate(CHEERS):  # reaction_added events, as jobs.slack_events records them
        record_cheer(session, SLACK_TEAM_ID, CHANNEL_ID, ts, profile(index).user_id, reaction, True)
    win = session.get(Win, win_id)
    return cheer_counts(session, [win_id]).get(win_id, 0), win.title if win is not None else ""
