"""Live celebrations: a channel's wins posted as they happen, gathered a minute at a time.

A live celebration is stored as a digest row of kind ``live`` (``service.models.digests``), so it
is posted exactly once the way every digest is (``jobs.digest_delivery``): composed and stored
before Slack is called, claimed by one sender, found again by its metadata after a crash. The wins
it shows are written with it (``celebrated_wins``), in the same transaction, which is what makes
each win posted once per channel: a win already linked to a live row of the channel is not news.

Gathering: a channel gets at most one live message per ``GATHER_WINDOW``. A win recorded less than
a window after the channel's last live message waits; the next run after the window (a later batch,
or the scheduler's minute tick) posts everything that waited as one message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select
from sqlalchemy.orm import Session

from service.digests import posting
from service.domain.commands import LiveMode
from service.domain.digest_blocks import Digest, context, header, one_line, section
from service.domain.mrkdwn import escape_mrkdwn, is_slack_user_id, link, mention, truncate_plain
from service.domain.wins import WinKind, WinStatus, WinVisibility
from service.models import Team
from service.models.digests import DigestState, StoredDigest
from service.models.slack import LIVE_OFF, CelebratedWin, ChannelLink
from service.models.upsert import insert_ignoring_conflicts
from service.models.wins import Win
from service.slack.channels import own_link
from service.slack.workspaces import link_in_team_workspace

LIVE_KIND = "live"  # ``digests.kind`` of a live celebration
LIVE_KEY_PREFIX = "live:"
GATHER_WINDOW = timedelta(minutes=1)
# Wins older than this are history, not news: a queue that was away for a day does not flood a channel.
LIVE_HORIZON = timedelta(hours=6)
MAX_WINS_PER_POST = 20  # the rest wait for the next message
_LINES_PER_SECTION = 10  # a section holds 3,000 characters; ten lines of at most ~250 fit
_TITLE_CHARS = 150

# The sprint's end has its own celebration (``jobs.digests.celebrate_sprint_end``), so it is not
# posted live a second time. Streaks and badges are shown in App Home and the digests.
_MILESTONE_KINDS = frozenset({WinKind.MILESTONE, WinKind.SPRINT_STARTED, WinKind.KUDOS})
_KINDS: dict[LiveMode, frozenset[WinKind]] = {
    LiveMode.OFF: frozenset(),
    LiveMode.MILESTONES: _MILESTONE_KINDS,
    LiveMode.ALL: _MILESTONE_KINDS | {WinKind.TICKET, WinKind.MANUAL},
}
_EMOJI = {
    WinKind.MILESTONE: ":trophy:",
    WinKind.SPRINT_STARTED: ":checkered_flag:",
    WinKind.KUDOS: ":clap:",
    WinKind.TICKET: ":white_check_mark:",
    WinKind.MANUAL: ":star:",
}
_DIGESTS = cast(Table, StoredDigest.__table__)


def live_kinds(mode: str) -> frozenset[WinKind]:
    """The kinds of win a channel with this ``live`` setting celebrates as they happen."""
    try:
        return _KINDS[LiveMode(mode)]
    except ValueError:
        return frozenset()


def set_live_mode(
    session: Session,
    slack_team_id: str,
    channel_id: str,
    mode: LiveMode,
    *,
    now: datetime,
    workspace_id: int,
) -> ChannelLink:
    """Store the channel's live setting. Switching it on celebrates wins from now on, not the backlog."""
    link_row = own_link(session, slack_team_id, channel_id, workspace_id=workspace_id)
    if mode is not LiveMode.OFF and link_row.live == LIVE_OFF:
        link_row.live_since = now
    link_row.live = mode.value
    session.flush()
    return link_row


def live_link_ids(session: Session, team_id: int) -> list[int]:
    """The team's channels with live celebrations on."""
    return list(
        session.scalars(
            select(ChannelLink.id)
            .where(
                ChannelLink.team_id == team_id,
                ChannelLink.live != LIVE_OFF,
                ChannelLink.paused.is_(False),
                link_in_team_workspace(),
            )
            .order_by(ChannelLink.id)
        )
    )


def teams_with_news(session: Session, *, now: datetime) -> list[int]:
    """Teams with a live channel that has not yet celebrated one of its recent wins: the minute
    tick's catch-up. It reads the recent wins by the (team, time) index, once a minute."""
    posted_there = (
        select(CelebratedWin.win_id)
        .join(StoredDigest, StoredDigest.id == CelebratedWin.digest_id)
        .where(
            CelebratedWin.win_id == Win.id,
            StoredDigest.team_id == ChannelLink.team_id,
            StoredDigest.channel_id == ChannelLink.channel_id,
            StoredDigest.kind == LIVE_KIND,
        )
    )
    everything = [kind.value for kind in _KINDS[LiveMode.ALL]]
    milestones = [kind.value for kind in _KINDS[LiveMode.MILESTONES]]
    news = (
        select(Win.team_id)
        .join(ChannelLink, ChannelLink.team_id == Win.team_id)
        .where(
            ChannelLink.paused.is_(False),
            link_in_team_workspace(),
            or_(
                and_(ChannelLink.live == LiveMode.ALL.value, Win.kind.in_(everything)),
                and_(ChannelLink.live == LiveMode.MILESTONES.value, Win.kind.in_(milestones)),
            ),
            Win.occurred_at >= now - LIVE_HORIZON,
            Win.created_at >= now - LIVE_HORIZON,
            Win.created_at >= func.coalesce(ChannelLink.live_since, ChannelLink.created_at),
            Win.status == WinStatus.ACTIVE.value,
            Win.visibility == WinVisibility.TEAM.value,
            ~posted_there.exists(),
        )
        .distinct()
    )
    return sorted(session.scalars(news))


def unsent_live_posts(session: Session, team_id: int) -> list[int]:
    """Live rows of the team not yet settled: a failed attempt or a crash left them for a retry."""
    return list(
        session.scalars(
            select(StoredDigest.id)
            .where(
                StoredDigest.team_id == team_id,
                StoredDigest.kind == LIVE_KIND,
                StoredDigest.state.in_([DigestState.PENDING.value, DigestState.POSTING.value]),
            )
            .order_by(StoredDigest.id)
        )
    )


@dataclass(frozen=True, slots=True)
class Gathered:
    """A live celebration stored and ready to send: its digest row and the wins it shows."""

    digest_id: int
    win_ids: tuple[int, ...]


def gather(session: Session, link_id: int, *, now: datetime) -> Gathered | None:
    """Store one live celebration of the channel's waiting wins; None if there are none, or if the
    channel's last live message is less than ``GATHER_WINDOW`` old (they wait for the next run).

    The channel's link row is locked first (a no-op on SQLite, whose writers queue anyway), so two
    workers gathering for one channel take turns and never put a win in two messages.
    """
    link_row = session.scalars(
        select(ChannelLink).where(ChannelLink.id == link_id, link_in_team_workspace()).with_for_update()
    ).first()
    if link_row is None or link_row.paused or link_row.live == LIVE_OFF:
        return None
    last = session.scalar(
        select(func.max(StoredDigest.created_at)).where(
            StoredDigest.team_id == link_row.team_id,
            StoredDigest.channel_id == link_row.channel_id,
            StoredDigest.kind == LIVE_KIND,
        )
    )
    if last is not None and now - last < GATHER_WINDOW:
        return None
    wins = waiting_wins(session, link_row, now=now)
    if not wins:
        return None
    team = session.get(Team, link_row.team_id)
    message = compose_live(team.name if team is not None else "Your team", wins)
    period_key = f"{LIVE_KEY_PREFIX}{wins[0].id}"  # the first win is in no other live row of the channel
    insert_ignoring_conflicts(
        session,
        _DIGESTS,
        [
            {
                "team_id": link_row.team_id,
                "slack_team_id": link_row.slack_team_id,
                "channel_id": link_row.channel_id,
                "period_key": period_key,
                "kind": LIVE_KIND,
                "win_id": wins[0].id if len(wins) == 1 else None,
                "state": DigestState.PENDING.value,
                "text": message.text,
                "blocks": message.blocks,
                "attempts": 0,
                "created_at": now,
            }
        ],
        ["team_id", "channel_id", "period_key"],
    )
    digest_id = session.scalar(
        select(StoredDigest.id).where(
            StoredDigest.team_id == link_row.team_id,
            StoredDigest.channel_id == link_row.channel_id,
            StoredDigest.period_key == period_key,
        )
    )
    assert digest_id is not None
    win_ids = tuple(win.id for win in wins)
    posting.link_wins(session, digest_id, win_ids)
    return Gathered(digest_id, win_ids)


def waiting_wins(session: Session, link_row: ChannelLink, *, now: datetime) -> list[Win]:
    """The channel's wins to celebrate live: recent, public, of its kinds, in no live row of it yet."""
    kinds = live_kinds(link_row.live)
    if not kinds:
        return []
    since = max(link_row.live_since or link_row.created_at, now - LIVE_HORIZON)
    already_live = (
        select(CelebratedWin.win_id)
        .join(StoredDigest, StoredDigest.id == CelebratedWin.digest_id)
        .where(
            CelebratedWin.win_id == Win.id,
            StoredDigest.team_id == link_row.team_id,
            StoredDigest.channel_id == link_row.channel_id,
            StoredDigest.kind == LIVE_KIND,
        )
    )
    return list(
        session.scalars(
            select(Win)
            .where(
                Win.team_id == link_row.team_id,
                Win.occurred_at >= now - LIVE_HORIZON,
                Win.created_at >= since,
                Win.status == WinStatus.ACTIVE.value,
                Win.visibility == WinVisibility.TEAM.value,
                Win.kind.in_([kind.value for kind in kinds]),
                ~already_live.exists(),
            )
            .order_by(Win.created_at, Win.id)
            .limit(MAX_WINS_PER_POST)
        )
    )


def compose_live(team_name: str, wins: Sequence[Win]) -> Digest:
    """The message for a handful of wins; user text escaped, people who opted out never named."""
    lines = [_line(win) for win in wins]
    headline = (
        f"{team_name}: {one_line(wins[0].title)}" if len(wins) == 1 else f"{team_name}: {len(wins)} new wins"
    )
    blocks: list[dict[str, Any]] = [header(f":tada: {truncate_plain(headline, 140)}")]
    for start in range(0, len(lines), _LINES_PER_SECTION):
        blocks.append(section("\n".join(lines[start : start + _LINES_PER_SECTION])))
    blocks.append(context("React to cheer: every reaction counts for the wins above."))
    return Digest(text=escape_mrkdwn(one_line(headline)), blocks=blocks)


def _line(win: Win) -> str:
    title = truncate_plain(one_line(win.title), _TITLE_CHARS)
    shown = link(win.url, title) if win.url else escape_mrkdwn(title)
    emoji = _EMOJI.get(cast(WinKind, win.kind), ":sparkles:")  # a StrEnum key finds its plain string
    person = _person(win)
    return f"{emoji} {person}: {shown}" if person else f"{emoji} {shown}"


def _person(win: Win) -> str | None:
    member = win.member
    if member is None or member.sharing_opt_out:
        return None
    if member.slack_user_id and is_slack_user_id(member.slack_user_id):
        return mention(member.slack_user_id)
    return escape_mrkdwn(one_line(member.display_name))
