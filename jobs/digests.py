"""Digest jobs: the scheduler tick, posting one digest exactly once, and the sprint-end celebration.

Exactly once, step by step (``deliver_digest``):

1. The message is composed once and stored in a ``digests`` row, unique on (team, channel, period).
   A duplicated job finds the row and sends what it holds; it never composes a second message.
2. A sender *claims* the row (``pending`` → ``posting``, with a timestamp) before calling Slack, and
   posts with ``metadata`` naming the row. Only one sender can claim it; a second one, while the
   claim is young, steps back and lets RQ retry it later.
3. On success the ts is recorded (``posted``) with a ``slack_posts`` entry.
4. A sender that found the row ``posting`` with no live claim (its predecessor was killed, or lost
   the answer) first looks in the channel's recent history for the metadata. Found: record that
   ts and post nothing. Not found: post.

Errors that people must fix (``not_in_channel``, ``channel_not_found``) mark the row ``failed``,
note the error on the channel link and DM the person who linked it (once per new error). They do
not raise, so RQ does not retry them in a loop.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, literal, select, update

from integrations.slack import installation
from integrations.slack.poster import (
    ChannelUnavailable,
    PostError,
    PostOutcomeUnknown,
    PostRejected,
    SlackPoster,
)
from jobs import runtime
from jobs.queue import JobQueue, QueueUnavailable
from service.digests import store as digests
from service.domain.digest import Digest, render_console
from service.domain.mrkdwn import escape_mrkdwn
from service.domain.schedule import Period, ScheduleError, ScheduleKind, due_period, parse_schedule
from service.domain.sprints import SprintState
from service.domain.wins import WinKind
from service.models import ChannelLink, Sprint, Team, Win, utcnow
from service.models.digests import CONSOLE_CHANNEL, DigestKind, DigestState, StoredDigest

log = logging.getLogger(__name__)

DIGEST_EVENT_TYPE = "sprintwins_digest"
# How long a sender may hold a row before others assume it died. Longer than one post can take
# (timeout plus rate-limit waits), shorter than RQ's later retry intervals (60 s, 300 s).
CLAIM_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
# How far back the tick looks for stranded rows and for closed sprints not yet celebrated.
RECOVERY_HORIZON = timedelta(days=1)
# Slack stamps a message with its own clock; look a little before our row was made.
HISTORY_SLACK = timedelta(minutes=5)
_JOB_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


class DigestInProgress(RuntimeError):
    """Another sender holds this digest, or Slack's answer was uncertain: RQ retries the job later."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one digest row: its state, the ts, the error, and the console rendering."""

    digest_id: int
    channel_id: str
    state: str
    ts: str | None = None
    error: str | None = None
    rendered: str | None = None
    recovered: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "digest_id": self.digest_id,
            "channel": self.channel_id,
            "state": self.state,
            "ts": self.ts,
            "error": self.error,
            "recovered": self.recovered,
        }


def digest_job_id(team_id: int, channel_id: str, period_key: str) -> str:
    """One job id per (team, channel, period); RQ ids allow letters, digits, ``_`` and ``-``."""
    return _JOB_ID_UNSAFE.sub("_", f"digest-{team_id}-{channel_id}-{period_key}")


def sprint_end_job_id(sprint_id: int) -> str:
    return f"sprint-end-{sprint_id}"


# -- the jobs --------------------------------------------------------------------------------------------


def post_digest(
    team_id: int,
    link_id: int,
    period_key: str,
    start_iso: str,
    end_iso: str,
    label: str,
    post_when_empty: bool = False,
) -> dict[str, Any]:
    """Compose (once) and post the team's digest for one period to one linked channel."""
    rt = runtime.current()
    period = Period(
        key=period_key,
        start=datetime.fromisoformat(start_iso),
        end=datetime.fromisoformat(end_iso),
        label=label,
    )
    now = utcnow()
    with rt.database.transaction() as session:
        link = session.get(ChannelLink, link_id)
        team = session.get(Team, team_id)
        if link is None or team is None or link.team_id != team_id:
            return {"state": "unlinked"}
        row = digests.ensure_digest(
            session,
            team_id=team_id,
            slack_team_id=link.slack_team_id,
            channel_id=link.channel_id,
            period_key=period.key,
            compose=lambda: digests.compose_for_period(
                session, team, period, now=now, post_when_empty=post_when_empty
            ),
        )
        digest_id = row.id
    return deliver_digest(digest_id)


def deliver_digest(digest_id: int) -> dict[str, Any]:
    """Send a stored digest row to Slack exactly once (see the module docstring)."""
    delivery = _deliver(runtime.current(), digest_id)
    return delivery.as_dict()


def celebrate_sprint_end(sprint_id: int) -> dict[str, Any]:
    """Post the sprint-end celebration to the team's linked channels, once per sprint and channel.

    Without Slack it is rendered to the log and stored. Keyed ``sprint-end:<sprint id>``, so the
    hook, the scheduler's catch-up and a retried job all end in one post per channel.
    """
    rt = runtime.current()
    now = utcnow()
    key = f"sprint-end:{sprint_id}"
    with rt.database.transaction() as session:
        sprint = session.get(Sprint, sprint_id)
        if sprint is None or sprint.state != SprintState.CLOSED:
            return {"state": "not_closed", "deliveries": []}
        win_id = session.scalar(
            select(Win.id).where(
                Win.source_key == f"sprint:{sprint.jira_id}", Win.kind == WinKind.SPRINT_CLOSED.value
            )
        )
        celebration: list[Digest] = []

        def compose() -> Digest:
            if not celebration:
                celebration.append(digests.compose_sprint_celebration(session, sprint, now=now))
            return celebration[0]

        row_ids = [
            digests.ensure_digest(
                session,
                team_id=sprint.team_id,
                slack_team_id=target.slack_team_id,
                channel_id=target.channel_id,
                period_key=key,
                compose=compose,
                kind=DigestKind.SPRINT_END,
                win_id=win_id,
                state_when_composed=target.initial_state,
            ).id
            for target in _targets(session, rt.settings, sprint.team_id, for_sprint_end=True)
        ]
    deliveries = [
        _deliver(rt, row_id, composed=celebration[0] if celebration else None) for row_id in row_ids
    ]
    return {"state": "done", "deliveries": [d.as_dict() for d in deliveries]}


def request_sprint_end(sprint_id: int, queue: JobQueue | None = None) -> bool:
    """The hook after a sprint closes: enqueue its celebration once. False if already requested.

    A queue outage loses nothing: the scheduler's tick catches up closed sprints not yet celebrated.
    """
    try:
        return (queue or runtime.current().queue).enqueue_unique(
            celebrate_sprint_end, sprint_id, job_id=sprint_end_job_id(sprint_id)
        )
    except QueueUnavailable:
        log.warning(
            "queue unavailable; the sprint-end celebration of sprint %s waits for the tick", sprint_id
        )
        return False


def schedule_tick(now_iso: str | None = None) -> dict[str, Any]:
    """Enqueue a digest job for every non-paused link whose schedule has a period due now.

    Run every minute by ``sprintwins scheduler``. ``last_run_at`` moves to the period's end only
    after its job is enqueued (or was already there), so nothing due is skipped and, with
    ``due_period``'s grace, nothing missed while paused or down is replayed. Also catches up
    closed sprints not yet celebrated and digests whose sender died.
    """
    rt = runtime.current()
    now = datetime.fromisoformat(now_iso) if now_iso else datetime.now(UTC)
    due: list[tuple[int, Period, bool, int]] = []
    with rt.database.sessions() as session:
        for link in session.scalars(select(ChannelLink).where(ChannelLink.paused.is_(False))):
            try:
                schedule = parse_schedule(link.schedule)
                period = due_period(schedule, link.timezone, now, link.last_run_at)
            except (ScheduleError, ValueError) as error:
                log.warning("channel link %s has an unusable schedule or time zone: %s", link.id, error)
                continue
            if period is not None:
                due.append((link.id, period, schedule.post_when_empty, link.team_id))
        link_channels = dict(session.execute(select(ChannelLink.id, ChannelLink.channel_id)).all())
        sprints = _uncelebrated_sprints(session, now)
        stranded = digests.stranded(session, now=now, lease=CLAIM_LEASE, horizon=RECOVERY_HORIZON)

    enqueued: list[str] = []
    done_links: dict[int, datetime] = {}
    for link_id, period, post_when_empty, team_id in due:
        job_id = digest_job_id(team_id, link_channels[link_id], period.key)
        try:
            if rt.queue.enqueue_unique(
                post_digest,
                team_id,
                link_id,
                period.key,
                period.start.isoformat(),
                period.end.isoformat(),
                period.label,
                post_when_empty,
                job_id=job_id,
            ):
                enqueued.append(job_id)
        except QueueUnavailable:
            log.warning("queue unavailable; %s is tried again on the next tick", job_id)
            continue
        done_links[link_id] = period.end
    if done_links:
        with rt.database.transaction() as session:
            for link_id, run_at in done_links.items():
                session.execute(
                    update(ChannelLink).where(ChannelLink.id == link_id).values(last_run_at=run_at)
                )

    for sprint_id in sprints:
        if request_sprint_end(sprint_id, rt.queue):
            enqueued.append(sprint_end_job_id(sprint_id))
    for digest_id in stranded:
        try:
            if rt.queue.enqueue_unique(deliver_digest, digest_id, job_id=f"deliver-digest-{digest_id}"):
                enqueued.append(f"deliver-digest-{digest_id}")
        except QueueUnavailable:
            break
    return {"enqueued": enqueued}


# -- digest now (the CLI) --------------------------------------------------------------------------------


def run_digest_now(
    team_id: int, which: digests.RunPeriod = digests.RunPeriod.WEEK, *, now: datetime | None = None
) -> list[Delivery]:
    """Post the team's digest for this week/day/sprint now: to its linked channels when Slack is set up,
    otherwise rendered (returned in ``Delivery.rendered``) and stored. Once per period and channel."""
    rt = runtime.current()
    now = now or utcnow()
    composed: dict[str, Digest | None] = {}
    with rt.database.transaction() as session:
        team = session.get(Team, team_id)
        if team is None:
            raise LookupError(f"no team with id {team_id}")
        period = digests.period_for_run(session, team, which, now)

        def compose() -> Digest | None:
            if "digest" not in composed:
                composed["digest"] = digests.compose_for_period(
                    session, team, period, now=now, post_when_empty=True
                )
            return composed["digest"]

        row_ids = [
            digests.ensure_digest(
                session,
                team_id=team_id,
                slack_team_id=target.slack_team_id,
                channel_id=target.channel_id,
                period_key=f"now-{period.key}",
                compose=compose,
                state_when_composed=target.initial_state,
            ).id
            for target in _targets(session, rt.settings, team_id, for_sprint_end=False)
        ]
    return [_deliver(rt, row_id, composed=composed.get("digest")) for row_id in row_ids]


# -- delivery --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    slack_team_id: str | None
    channel_id: str
    initial_state: DigestState


def _targets(session: Any, settings: Any, team_id: int, *, for_sprint_end: bool) -> list[_Target]:
    """Where a team's digests go: its linked channels (Slack), else its channel, else the console."""
    if not installation.slack_enabled(settings):
        return [_Target(None, CONSOLE_CHANNEL, DigestState.RENDERED)]
    links = session.scalars(select(ChannelLink).where(ChannelLink.team_id == team_id)).all()
    if links:
        # Paused links get nothing; "off" stops the sprint-end celebration too, but not an explicit run.
        return [
            _Target(link.slack_team_id, link.channel_id, DigestState.PENDING)
            for link in links
            if not link.paused and not (for_sprint_end and _schedule_kind(link.schedule) is ScheduleKind.OFF)
        ]
    team = session.get(Team, team_id)
    if team is not None and team.slack_channel:
        # A single-workspace setup may name the channel with `sprintwins team channel`.
        return [_Target(team.slack_team_id, team.slack_channel, DigestState.PENDING)]
    return [_Target(None, CONSOLE_CHANNEL, DigestState.RENDERED)]


def _schedule_kind(text: str) -> ScheduleKind | None:
    try:
        return parse_schedule(text).kind
    except ScheduleError:
        return None


def _deliver(rt: runtime.Runtime, digest_id: int, composed: Digest | None = None) -> Delivery:
    now = utcnow()
    claim = digests.claim(rt.database, digest_id, now=now, lease=CLAIM_LEASE, max_attempts=MAX_ATTEMPTS)
    if isinstance(claim, digests.NotClaimed):
        if claim.state == DigestState.POSTING:
            raise DigestInProgress(f"digest {digest_id} is being sent by another worker")
        return _settled(rt, digest_id, composed)
    row = claim.digest
    enterprise_id = _enterprise_of(rt, row)
    poster = SlackPoster(rt.settings, _token_lookup(rt))
    try:
        if claim.maybe_sent:
            ts = poster.find_by_metadata(
                row.slack_team_id,
                row.channel_id,
                event_type=DIGEST_EVENT_TYPE,
                match={"digest_id": row.id},
                oldest=row.created_at - HISTORY_SLACK,
                enterprise_id=enterprise_id,
            )
            if ts is not None:
                _record_posted(rt, row, row.channel_id, ts)
                log.info(
                    "digest %s was already in %s (ts %s): recorded, not reposted", row.id, row.channel_id, ts
                )
                return Delivery(row.id, row.channel_id, DigestState.POSTED.value, ts=ts, recovered=True)
    except (PostError, installation.SlackNotInstalled) as error:
        # Without the history we cannot know whether it was posted: never risk a duplicate here.
        return _after_failure(rt, row, error, maybe_sent=True, enterprise_id=enterprise_id)
    try:
        posted = poster.post_message(
            row.slack_team_id,
            row.channel_id,
            text=row.text,
            blocks=row.blocks or None,
            metadata={
                "event_type": DIGEST_EVENT_TYPE,
                "event_payload": {"digest_id": row.id, "period_key": row.period_key},
            },
            enterprise_id=enterprise_id,
        )
    except (PostError, installation.SlackNotInstalled) as error:
        return _after_failure(rt, row, error, maybe_sent=False, enterprise_id=enterprise_id)
    _record_posted(rt, row, row.channel_id, posted.ts)
    return Delivery(row.id, row.channel_id, DigestState.POSTED.value, ts=posted.ts)


def _settled(rt: runtime.Runtime, digest_id: int, composed: Digest | None) -> Delivery:
    with rt.database.sessions() as session:
        row = session.get(StoredDigest, digest_id)
        assert row is not None
        rendered = None
        if row.state == DigestState.RENDERED:
            digest = composed or Digest(text=row.text, blocks=list(row.blocks or []))
            rendered = render_console(digest)
            if composed is not None:
                log.info("digest for %s (%s):\n%s", row.channel_id, row.period_key, rendered)
        return Delivery(row.id, row.channel_id, row.state, ts=row.ts, error=row.error, rendered=rendered)


def _record_posted(rt: runtime.Runtime, row: StoredDigest, channel_id: str, ts: str) -> None:
    now = utcnow()
    with rt.database.transaction() as session:
        digests.mark_posted(session, row, channel_id, ts, now=now)
        if row.slack_team_id:
            session.execute(
                update(ChannelLink)
                .where(ChannelLink.slack_team_id == row.slack_team_id, ChannelLink.channel_id == channel_id)
                .values(last_error=None)
            )


def _after_failure(
    rt: runtime.Runtime,
    row: StoredDigest,
    error: Exception,
    *,
    maybe_sent: bool,
    enterprise_id: str | None,
) -> Delivery:
    text = str(error) if isinstance(error, PostError) else f"{type(error).__name__}: {error}"
    if isinstance(error, ChannelUnavailable):
        return _channel_unavailable(rt, row, error, enterprise_id)
    retryable = isinstance(error, PostOutcomeUnknown) or (isinstance(error, PostRejected) and error.retryable)
    if retryable:
        with rt.database.transaction() as session:
            digests.release(
                session, row.id, maybe_sent=maybe_sent or isinstance(error, PostOutcomeUnknown), error=text
            )
        raise DigestInProgress(f"digest {row.id} not confirmed ({text}); RQ will retry") from error
    # Not installed, token revoked, a missing scope, a malformed message: retrying cannot help.
    if maybe_sent:
        text = f"could not check whether it was already posted, so it was not posted again ({text})"
    with rt.database.transaction() as session:
        digests.mark_failed(session, row.id, text)
    log.error("digest %s to %s failed: %s", row.id, row.channel_id, text)
    return Delivery(row.id, row.channel_id, DigestState.FAILED.value, error=text)


def _channel_unavailable(
    rt: runtime.Runtime, row: StoredDigest, error: ChannelUnavailable, enterprise_id: str | None
) -> Delivery:
    reason = (
        "Sprint Wins is not a member of the channel; invite it with /invite @Sprint Wins"
        if error.code == "not_in_channel"
        else "the channel does not exist any more, or Sprint Wins cannot see it"
    )
    text = f"{error.code}: {reason}"
    notify: str | None = None
    with rt.database.transaction() as session:
        digests.mark_failed(session, row.id, text)
        link = session.scalars(
            select(ChannelLink).where(
                ChannelLink.slack_team_id == row.slack_team_id, ChannelLink.channel_id == row.channel_id
            )
        ).first()
        team = session.get(Team, row.team_id)
        # One DM per new problem, not one per period while it lasts.
        if link is not None and link.last_error != text:
            link.last_error = text
            notify = link.linked_by_user_id or None
        team_name = team.name if team is not None else "your team"
    log.warning("digest %s to %s failed: %s", row.id, row.channel_id, text)
    if notify:
        _dm_linker(rt, row, notify, error.code, team_name, enterprise_id)
    return Delivery(row.id, row.channel_id, DigestState.FAILED.value, error=text)


def _dm_linker(
    rt: runtime.Runtime, row: StoredDigest, user_id: str, code: str, team_name: str, enterprise_id: str | None
) -> None:
    channel = f"<#{row.channel_id}>" if _CHANNEL_ID.match(row.channel_id) else escape_mrkdwn(row.channel_id)
    what = "a sprint-end celebration" if row.kind == DigestKind.SPRINT_END else "a digest"
    if code == "not_in_channel":
        fix = (
            f"I'm not a member of {channel}. Invite me there with `/invite @Sprint Wins` "
            "and I'll post from the next one."
        )
    else:
        fix = (
            f"I can't find {channel}: it may have been deleted or made private. "
            "Run `/sprintwins connect <team>` in the channel that should get them."
        )
    text = f":warning: I couldn't post {what} for *{escape_mrkdwn(team_name)}*. {fix}"
    try:
        SlackPoster(rt.settings, _token_lookup(rt)).direct_message(
            row.slack_team_id, user_id, text, enterprise_id=enterprise_id
        )
    except (PostError, installation.SlackNotInstalled) as error:
        log.warning("could not DM %s about digest %s: %s", user_id, row.id, error)


def _enterprise_of(rt: runtime.Runtime, row: StoredDigest) -> str | None:
    if not row.slack_team_id:
        return None
    with rt.database.sessions() as session:
        return session.scalar(
            select(ChannelLink.slack_enterprise_id).where(
                ChannelLink.slack_team_id == row.slack_team_id, ChannelLink.channel_id == row.channel_id
            )
        )


def _token_lookup(rt: runtime.Runtime) -> Any:
    def token_for(slack_team_id: str | None, enterprise_id: str | None) -> str:
        return installation.bot_token_for(rt.settings, rt.database.engine, slack_team_id, enterprise_id)

    return token_for


def _uncelebrated_sprints(session: Any, now: datetime) -> list[int]:
    """Sprints closed within the recovery horizon, in teams with a linked channel, not yet celebrated."""
    celebrated = select(StoredDigest.id).where(
        StoredDigest.kind == DigestKind.SPRINT_END.value,
        StoredDigest.period_key == literal("sprint-end:") + cast(Sprint.id, String),
    )
    linked = select(ChannelLink.id).where(
        ChannelLink.team_id == Sprint.team_id, ChannelLink.paused.is_(False), ChannelLink.schedule != "off"
    )
    return list(
        session.scalars(
            select(Sprint.id).where(
                Sprint.state == SprintState.CLOSED,
                Sprint.completed_at >= now - RECOVERY_HORIZON,
                linked.exists(),
                ~celebrated.exists(),
            )
        )
    )
