"""The progress engine's link to the database: load a team's inputs, store what a recompute says.

Loading reads each table once, as plain rows streamed in chunks (no ORM objects: a team can
hold a million wins), straight into the domain's frozen dataclasses. Storing is a diff against
what the last recompute left: engine wins are inserted, updated, retracted or reactivated so
that the table always mirrors the latest recompute, whatever order the events came in.

The domain knows people, the team and sprints by the refs of ``service.progress.refs``, and a
challenge by its row id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from itertools import chain, compress, count, product, repeat
from operator import is_not
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from service.domain.challenges import TEAM_SCOPE, Challenge, ChallengeProgress
from service.domain.milestones import oldest_open_closings
from service.domain.progress import ProgressResult, recompute
from service.domain.progress_inputs import (
    IssueAge,
    RecordedWin,
    SprintScope,
    SprintTally,
    StreakFreeze,
    TeamCalendar,
    WinColumns,
)
from service.domain.progress_needs import challenge_spans, day_starts, ranks_read
from service.domain.streaks import StreakStats
from service.domain.team_rules import TeamRules, TeamRulesError
from service.domain.wins import COUNTED_KINDS, WinDraft, WinKind, WinSource, WinStatus
from service.models import Sprint, Team, Ticket, Win, sprint_tickets, utcnow
from service.models.base import UTCDateTime
from service.models.progress import (
    SCOPE_MEMBER,
    SCOPE_TEAM,
    ChallengeRow,
    StreakFreezeDay,
    StreakStat,
    TeamHoliday,
)
from service.models.upsert import insert_ignoring_conflicts
from service.models.wins import ACTIVE_KUDOS, COUNTED_WINS
from service.progress import tallies as sprint_tallies
from service.progress.refs import member_id_of, member_ref, sprint_ref, team_ref
from service.progress.sql import binary_cursor, inline, is_postgres, stream
from service.wins.rows import win_row

SCOPE_FROM_EVENTS = "events"
SCOPE_FROM_JIRA = "jira"
_COUNTED = sorted(k.value for k in COUNTED_KINDS)
_BUG = "bug"


# -- loading ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamInputs:
    """Everything ``recompute`` needs for one team, as domain values."""

    team_id: int
    calendar: TeamCalendar
    rules: TeamRules
    # Counted kinds, active, in (occurred_at, id) order: all of them, or on Postgres those a recompute
    # reads (``service.domain.progress_needs``), which gives the same result.
    wins: list[RecordedWin] | WinColumns
    sprints: list[SprintScope]
    freezes: list[StreakFreeze]
    challenges: list[Challenge]
    issue_ages: list[IssueAge]
    scope_sources: dict[str, str] = field(default_factory=dict)  # sprint ref -> "jira" | "events"
    # Sprint tallies derived afresh while loading (Postgres), kept by ``store_result`` for next time.
    fresh_tallies: dict[int, sprint_tallies.KeptTally] = field(default_factory=dict)

    def local_today(self, now: datetime | None = None) -> date:
        return self.calendar.local_date(now or datetime.now(UTC))


class TeamNotFound(LookupError):
    pass


def rules_of(stored: object) -> TeamRules:
    """The team's rules; a stored mapping that no longer validates falls back to the defaults.

    Writes are validated, so this only happens if the rules grew stricter since; the recompute
    must not stop for it (the CLI's ``rules show`` reports the problems).
    """
    try:
        return TeamRules.from_mapping(stored if isinstance(stored, dict) else {})
    except TeamRulesError:
        return TeamRules()


def load_team_inputs(session: Session, team_id: int) -> TeamInputs:
    row = session.execute(select(Team.timezone, Team.rules).where(Team.id == team_id)).first()
    if row is None:
        raise TeamNotFound(f"no team with id {team_id}")
    holidays = frozenset(session.scalars(select(TeamHoliday.day).where(TeamHoliday.team_id == team_id)))
    calendar = TeamCalendar(timezone=row.timezone or "UTC", holidays=holidays)
    rules = rules_of(row.rules)
    freezes = [
        StreakFreeze(member_ref(team_id, member_id), day)
        for member_id, day in session.execute(
            select(StreakFreezeDay.member_id, StreakFreezeDay.day).where(StreakFreezeDay.team_id == team_id)
        )
    ]
    challenges = load_challenges(session, team_id)
    issue_ages = _load_issue_ages(session, team_id)
    wins: list[RecordedWin] | WinColumns
    fresh_tallies: dict[int, sprint_tallies.KeptTally] = {}
    if not is_postgres(session):
        sprints, ticket_sprints, scope_sources = _load_sprints(session, team_id)
        wins = list(_load_wins(session, team_id, ticket_sprints))
    else:
        kept = _load_kept_sprints(session, team_id, issue_ages)
        sprints, scope_sources = kept.scopes, kept.sources
        needed = _load_needed_win_columns(session, team_id, kept, rules, calendar, challenges)
        if needed is None:
            wins = _load_win_columns(
                session, team_id, _all_ticket_sprints(session, team_id, kept.windows), rules
            )
        else:
            wins = needed
        fresh_tallies = kept.tallies.fresh
    return TeamInputs(
        team_id=team_id,
        calendar=calendar,
        rules=rules,
        wins=wins,
        sprints=sprints,
        freezes=freezes,
        challenges=challenges,
        issue_ages=issue_ages,
        scope_sources=scope_sources,
        fresh_tallies=fresh_tallies,
    )


def load_challenges(session: Session, team_id: int) -> list[Challenge]:
    rows = session.execute(
        select(
            ChallengeRow.id,
            ChallengeRow.scope,
            ChallengeRow.member_id,
            ChallengeRow.title,
            ChallengeRow.metric,
            ChallengeRow.target,
            ChallengeRow.starts_on,
            ChallengeRow.ends_on,
        )
        .where(ChallengeRow.team_id == team_id)
        .order_by(ChallengeRow.id)
    )
    return [
        Challenge(
            r.id,
            TEAM_SCOPE if r.scope == SCOPE_TEAM else member_ref(team_id, r.member_id),
            r.title,
            r.metric,
            r.target,
            r.starts_on,
            r.ends_on,
        )
        for r in rows
    ]


@dataclass(slots=True)
class _SprintWindow:
    ref: str
    start: datetime | None
    end: datetime | None  # completed_at, else the planned end

    def holds(self, instant: datetime) -> bool:
        return (self.start is None or self.start <= instant) and (self.end is None or instant <= self.end)


@dataclass(frozen=True, slots=True)
class _TicketSprints:
    """The sprints each ticket sat in, to give its win a sprint."""

    only: dict[int, str] = field(default_factory=dict)  # a ticket in one sprint: that sprint's ref
    several: dict[int, list[_SprintWindow]] = field(default_factory=dict)  # the others' windows

    @property
    def any(self) -> bool:
        """Whether any ticket sat in a sprint."""
        return bool(self.only or self.several)

    @classmethod
    def of(cls, tickets: dict[int, Sequence[int]], windows: dict[int, _SprintWindow]) -> _TicketSprints:
        """From each sprint's ticket ids."""
        only: dict[int, str] = {}
        for sprint_id, ticket_ids in tickets.items():
            only.update(zip(ticket_ids, repeat(windows[sprint_id].ref)))
        if len(only) == sum(map(len, tickets.values())):
            return cls(only)  # the usual case: no ticket sat in two sprints
        several: dict[int, list[_SprintWindow]] = {}
        counts = Counter(chain.from_iterable(tickets.values()))
        for sprint_id, ticket_ids in tickets.items():
            for ticket_id in ticket_ids:
                if counts[ticket_id] > 1:
                    several.setdefault(ticket_id, []).append(windows[sprint_id])
        return cls({t: ref for t, ref in only.items() if t not in several}, several)

    def sprint_of(self, ticket_id: int | None, instant: datetime) -> str | None:
        """The sprint a ticket was finished in: the latest-starting one whose window holds the instant."""
        ref = self.only.get(ticket_id)  # type: ignore[arg-type]
        if ref is not None or ticket_id is None:
            return ref
        windows = self.several.get(ticket_id)
        if not windows:
            return None
        holding = [w for w in windows if w.holds(instant)]
        started = holding or [w for w in windows if w.start is None or w.start <= instant] or windows
        return max(started, key=lambda w: (w.start or datetime.min.replace(tzinfo=UTC), int(w.ref))).ref

    def refs(self, ticket_ids: Sequence[int | None], instants: Sequence[datetime]) -> list[str | None]:
        """``sprint_of`` for each (ticket, instant): a lookup, and the windows only where needed."""
        refs: list[str | None] = list(map(self.only.get, ticket_ids))  # type: ignore[arg-type]
        if self.several:
            for i in compress(count(), map(self.several.__contains__, ticket_ids)):
                refs[i] = self.sprint_of(ticket_ids[i], instants[i])
        return refs


# A sprint's issues as columns: keys, done flags, done_at, points, assignee member ids.
_ScopeColumns = list[Sequence[Any]]


def _load_sprints(session: Session, team_id: int) -> tuple[list[SprintScope], _TicketSprints, dict[str, str]]:
    """Sprint scopes, and for each ticket the sprints it sat in (to give its win a sprint).

    Committed scope comes from Jira's sprint report when the REST refresh stored it (source
    ``jira``); otherwise it is inferred from the tickets we saw in the sprint (``events``).
    """
    headers = _sprint_headers(session, team_id)
    windows = _windows(headers)
    members = _columns_by_sprint(session, _event_scope_query(team_id), 6)
    ticket_sprints = _TicketSprints.of({sid: columns[0] for sid, columns in members.items()}, windows)
    jira_scopes = _jira_scopes(session, _from_jira(session, list(headers)))
    issues = {sid: columns[1:] for sid, columns in members.items()} | jira_scopes
    people = _people(team_id, issues.values())
    scopes = [_scope_of(team_id, sid, header, issues.get(sid), people) for sid, header in headers.items()]
    return scopes, ticket_sprints, _sources(headers, jira_scopes)


def _sprint_headers(session: Session, team_id: int) -> dict[int, Any]:
    """The team's sprints (not deleted) by id, in id order: what a scope holds besides its issues."""
    return {
        s.id: s
        for s in session.execute(
            select(
                Sprint.id,
                Sprint.name,
                Sprint.start_at,
                Sprint.end_at,
                Sprint.completed_at,
                Sprint.goal_met_at,
                Sprint.goal_met_by_member_id,
            )
            .where(Sprint.team_id == team_id, Sprint.state != "deleted")
            .order_by(Sprint.id)
        )
    }


def _windows(headers: dict[int, Any]) -> dict[int, _SprintWindow]:
    return {
        sid: _SprintWindow(sprint_ref(sid), s.start_at, s.completed_at or s.end_at)
        for sid, s in headers.items()
    }


def _event_scope_query(team_id: int, sprint_ids: Sequence[int] | None = None) -> Any:
    """Each sprint's tickets as we saw them: sprint id, ticket id, key, done, done_at, points, assignee."""
    query = (
        select(
            sprint_tickets.c.sprint_id,
            Ticket.id,
            Ticket.issue_key,
            Ticket.done,
            Ticket.done_at,
            Ticket.points,
            Ticket.assignee_id,
        )
        .join(Ticket, Ticket.id == sprint_tickets.c.ticket_id)
        .join(Sprint, Sprint.id == sprint_tickets.c.sprint_id)
        .where(Sprint.team_id == team_id, Sprint.state != "deleted")
    )
    return query if sprint_ids is None else query.where(sprint_tickets.c.sprint_id.in_(sprint_ids))


def _people(team_id: int, issues: Iterable[_ScopeColumns]) -> dict[int, str]:
    assigned = {m for columns in issues for m in set(columns[4])}
    return {m: member_ref(team_id, m) for m in assigned if m is not None}


def _sources(headers: dict[int, Any], from_jira: Collection[int]) -> dict[str, str]:
    return {sprint_ref(sid): SCOPE_FROM_JIRA if sid in from_jira else SCOPE_FROM_EVENTS for sid in headers}


_NO_ISSUES: _ScopeColumns = [[], [], [], [], []]


def _scope_of(
    team_id: int,
    sprint_id: int,
    header: Any,
    issues: _ScopeColumns | None,
    people: dict[int, str],
    *,
    tally: SprintTally | None = None,
) -> SprintScope:
    """A sprint's scope from its header and its issues' columns: keys, done, done_at, points, assignees."""
    keys, done, done_at, points, assignees = issues or _NO_ISSUES
    finished = [bool(d) and at is not None for d, at in zip(done, done_at, strict=True)]
    return SprintScope(
        sprint_ref=sprint_ref(sprint_id),
        name=header.name,
        start=header.start_at,
        end=header.end_at,
        completed_at=header.completed_at,
        committed_issues=frozenset(keys),
        committed_points=sum(compress(points, map(is_not, points, repeat(None)))),
        done=dict(
            zip(
                compress(keys, finished),
                zip(compress(done_at, finished), compress(points, finished), strict=True),
                strict=True,
            )
        ),
        assignees=dict(zip(keys, map(people.get, assignees), strict=True)),
        goal_met_confirmed_at=header.goal_met_at,
        goal_met_confirmed_by=(
            member_ref(team_id, header.goal_met_by_member_id) if header.goal_met_by_member_id else None
        ),
        tally=tally,
    )


def _columns_by_sprint(session: Session, statement: Any, width: int) -> dict[int, _ScopeColumns]:
    """The statement's rows (a sprint id, then ``width`` values) as columns per sprint.

    Postgres hands over one row per sprint holding an array per column (decoded in C, see
    ``_load_win_columns``); elsewhere the streamed rows are gathered here.
    """
    if not is_postgres(session):
        out: dict[int, _ScopeColumns] = {}
        for sprint_id, *values in stream(session, statement):
            columns = out.get(sprint_id)
            if columns is None:
                columns = out[sprint_id] = [[] for _ in range(width)]
            for column, value in zip(columns, values, strict=True):
                column.append(value)  # type: ignore[attr-defined]
        return out
    inner = statement.subquery()
    first, *rest = inner.c
    arrays = select(first, *(func.array_agg(column) for column in rest)).group_by(first)
    with binary_cursor(session) as cursor:
        cursor.execute(inline(session, arrays), {})  # with (no) parameters, psycopg reads the %% it escapes
        return {sprint_id: list(columns) for sprint_id, *columns in cursor.fetchall()}


@dataclass(frozen=True, slots=True)
class _KeptSprints:
    """The sprints as a Postgres recompute loads them: unchanged ones summarised from their kept tally."""

    scopes: list[SprintScope]
    sources: dict[str, str]
    windows: dict[int, _SprintWindow]
    tallies: sprint_tallies.SprintTallies


def _load_kept_sprints(session: Session, team_id: int, issue_ages: Sequence[IssueAge]) -> _KeptSprints:
    """Every sprint's scope; only the sprints whose issues changed since their tally was kept are read.

    The others come summarised (``SprintScope.tally``), with in ``done`` only the issues that closed as
    the oldest open one, which is all that the oldest-open-ticket milestone looks up there.
    """
    headers = _sprint_headers(session, team_id)
    from_jira = _from_jira(session, list(headers))
    jira = set(from_jira)
    with binary_cursor(session) as cursor:
        now = sprint_tallies.fingerprints(
            cursor,
            team_id,
            {sid: (team_id, h.completed_at, sid in jira) for sid, h in headers.items()},
            from_jira,
        )
        tallies = sprint_tallies.kept(cursor, team_id, now)
        first_wins = sprint_tallies.first_wins(cursor, team_id, tallies.stale)
        done = _done_among(cursor, sorted(oldest_open_closings(issue_ages)), tallies.valid, jira)
    stale = set(tallies.stale)
    events = _columns_by_sprint(session, _event_scope_query(team_id, tallies.stale), 6) if stale else {}
    issues = {sid: columns[1:] for sid, columns in events.items()}
    issues |= _jira_scopes(session, [sid for sid in from_jira if sid in stale])
    people = _people(team_id, issues.values())
    scopes: list[SprintScope] = []
    for sid, header in headers.items():
        valid = tallies.valid.get(sid)
        if valid is not None:
            scopes.append(_summarised(team_id, sid, header, valid.tally, done.get(sid, {})))
            continue
        scope = _scope_of(team_id, sid, header, issues.get(sid), people)
        tally = SprintTally.of(scope)
        tallies.fresh[sid] = sprint_tallies.KeptTally(now.of[sid], tally, first_wins.get(sid))
        scopes.append(replace(scope, tally=tally))
    return _KeptSprints(scopes, _sources(headers, jira), _windows(headers), tallies)


def _summarised(
    team_id: int,
    sprint_id: int,
    header: Any,
    tally: SprintTally,
    done: dict[str, tuple[datetime, float | None]],
) -> SprintScope:
    return replace(_scope_of(team_id, sprint_id, header, None, {}, tally=tally), done=done)


# The done issues of the kept sprints among these keys (the issue ages'), as each sprint's scope has them.
_DONE_AMONG_SQL = """
SELECT st.sprint_id, t.issue_key, t.done_at, t.points
FROM tickets AS t JOIN sprint_tickets AS st ON st.ticket_id = t.id
WHERE t.issue_key = ANY(%(keys)s::text[]) AND st.sprint_id = ANY(%(events)s::int[])
  AND t.done AND t.done_at IS NOT NULL
UNION ALL
SELECT i.sprint_id, i.issue_key, i.done_at, i.points
FROM sprint_scope AS i
WHERE i.issue_key = ANY(%(keys)s::text[]) AND i.sprint_id = ANY(%(jira)s::int[])
  AND i.committed AND i.removed_at IS NULL AND i.done AND i.done_at IS NOT NULL
"""


def _done_among(
    cursor: Any, keys: list[str], sprint_ids: Collection[int], from_jira: Collection[int]
) -> dict[int, dict[str, tuple[datetime, float | None]]]:
    done: dict[int, dict[str, tuple[datetime, float | None]]] = {}
    if not keys or not sprint_ids:
        return done
    params = {
        "keys": keys,
        "events": [sid for sid in sprint_ids if sid not in from_jira],
        "jira": [sid for sid in sprint_ids if sid in from_jira],
    }
    for sprint_id, key, done_at, points in cursor.execute(_DONE_AMONG_SQL, params):
        done.setdefault(sprint_id, {})[key] = (done_at, points)
    return done


def _all_ticket_sprints(session: Session, team_id: int, windows: dict[int, _SprintWindow]) -> _TicketSprints:
    query = (
        select(sprint_tickets.c.sprint_id, sprint_tickets.c.ticket_id)
        .join(Sprint, Sprint.id == sprint_tickets.c.sprint_id)
        .where(Sprint.team_id == team_id, Sprint.state != "deleted")
    )
    members = _columns_by_sprint(session, query, 1)
    return _TicketSprints.of({sid: columns[0] for sid, columns in members.items()}, windows)


# The sprints of these tickets (all of each ticket's sprints), to place the wins read.
_TICKET_SPRINTS_SQL = """
SELECT st.sprint_id, array_agg(st.ticket_id)
FROM sprint_tickets AS st JOIN sprints AS s ON s.id = st.sprint_id
WHERE s.team_id = %(team_id)s AND s.state <> 'deleted' AND st.ticket_id = ANY(%(tickets)s::int[])
GROUP BY st.sprint_id
"""


def _ticket_sprints_of(
    cursor: Any, team_id: int, ticket_ids: Iterable[int | None], windows: dict[int, _SprintWindow]
) -> _TicketSprints:
    tickets = sorted({t for t in ticket_ids if t is not None})
    if not tickets or not windows:
        return _TicketSprints()
    found = cursor.execute(_TICKET_SPRINTS_SQL, {"team_id": team_id, "tickets": tickets}).fetchall()
    return _TicketSprints.of(dict(found), windows)


def _from_jira(session: Session, sprint_ids: list[int]) -> list[int]:
    """The sprints whose committed scope came from Jira's Agile API."""
    from service.models.scope import SprintScopeSource

    if not sprint_ids:
        return []
    return sorted(
        session.scalars(
            select(SprintScopeSource.sprint_id).where(
                SprintScopeSource.sprint_id.in_(sprint_ids), SprintScopeSource.source == SCOPE_FROM_JIRA
            )
        )
    )


def _jira_scopes(session: Session, from_jira: list[int]) -> dict[int, _ScopeColumns]:
    """Committed scope from Jira's Agile API, for these sprints (whose scope came from there)."""
    from service.models.scope import SprintScopeItem

    if not from_jira:
        return {}
    query = select(
        SprintScopeItem.sprint_id,
        SprintScopeItem.issue_key,
        SprintScopeItem.done,
        SprintScopeItem.done_at,
        SprintScopeItem.points,
        SprintScopeItem.assignee_id,
    ).where(
        SprintScopeItem.sprint_id.in_(from_jira),
        SprintScopeItem.committed.is_(True),
        SprintScopeItem.removed_at.is_(None),
    )
    found = _columns_by_sprint(session, query, 5)
    return {sid: found.get(sid, [[], [], [], [], []]) for sid in from_jira}


def _load_wins(session: Session, team_id: int, ticket_sprints: _TicketSprints) -> Iterator[RecordedWin]:
    kudos_from = Win.details[("kudos_from", "member_id")].as_integer()
    query = (
        select(
            Win.id,
            Win.kind,
            Win.member_id,
            Win.occurred_at,
            Win.points,
            Win.source_key,
            kudos_from,
            Ticket.id,
            Ticket.issue_type,
            Ticket.labels,
            Ticket.project_key,
            Ticket.is_subtask,
        )
        .outerjoin(
            Ticket,
            and_(
                Win.kind == WinKind.TICKET.value,
                Win.source == WinSource.JIRA.value,
                Ticket.issue_key == Win.source_key,
            ),
        )
        .where(Win.team_id == team_id, Win.status == WinStatus.ACTIVE.value, Win.kind.in_(_COUNTED))
        .order_by(Win.occurred_at, Win.id)  # the ix_wins_team_time order; the domain then skips its sort
    )
    active = WinStatus.ACTIVE
    kinds = {k.value: k for k in WinKind}
    prefix = f"{team_id}:"
    for (
        win_id,
        kind,
        member_id,
        occurred_at,
        points,
        source_key,
        giver,
        ticket_id,
        issue_type,
        labels,
        project_key,
        is_subtask,
    ) in stream(session, query):
        yield RecordedWin(
            win_id,
            kinds[kind],
            active,
            None if member_id is None else prefix + str(member_id),
            occurred_at,
            points,
            source_key,
            issue_type,
            ticket_sprints.sprint_of(ticket_id, occurred_at),
            issue_type is not None and issue_type.casefold() == _BUG,
            None if giver is None else prefix + str(giver),
            tuple(labels) if labels else (),
            project_key,
            bool(is_subtask),
        )


# The counted wins as columns, one array per column (Postgres). A million wins come back as a dozen
# values instead of a million rows: psycopg decodes each binary array in C, and no RecordedWin is
# built. Same rows, joins and order as ``_load_wins`` (the portable loader, which the tests compare
# it with); kinds travel as their position in the parameter array. Labels, projects and subtasks
# are only read by ticket filters, so they are fetched only for rules that have some.
_WIN_COLUMNS = (
    "id",
    "kind",
    "member_id",
    "occurred_at",
    "points",
    "giver",
    "ticket_id",
    "issue_type",
)
_TICKET_FILTER_COLUMNS = ("labels", "project_key", "is_subtask")
_WIN_COLUMNS_SQL = """
SELECT {arrays}
FROM (
    SELECT w.id, array_position(%(kinds)s::text[], w.kind::text)::int2 AS kind, w.member_id,
           w.occurred_at, w.points,
           CAST(w.details #>> '{{kudos_from,member_id}}' AS integer) AS giver,
           t.id AS ticket_id, t.issue_type{filters}
    FROM {wins} AS w
    {tickets}
    ORDER BY w.occurred_at, w.id
) AS counted
"""
_COUNTED_WINS = """(
    SELECT * FROM wins
    WHERE team_id = %(team_id)s AND status = 'active' AND kind = ANY(%(kinds)s::text[])
)"""


_TICKETS_JOINED = """LEFT OUTER JOIN tickets AS t
        ON w.kind = 'ticket' AND w.source = 'jira' AND t.issue_key = w.source_key"""
# The same join, one index lookup per win: for a few wins, cheaper than hashing every ticket, which the
# planner would otherwise do (OFFSET 0 keeps it from turning this back into a plain join).
_TICKETS_LOOKED_UP = """LEFT JOIN LATERAL (
        SELECT * FROM tickets
        WHERE w.kind = 'ticket' AND w.source = 'jira' AND tickets.issue_key = w.source_key OFFSET 0
    ) AS t ON true"""


def _win_columns_sql(with_filters: bool, wins: str = _COUNTED_WINS, tickets: str = _TICKETS_JOINED) -> str:
    columns = _WIN_COLUMNS + (_TICKET_FILTER_COLUMNS if with_filters else ())
    return _WIN_COLUMNS_SQL.format(
        arrays=", ".join(f"array_agg({c})" for c in columns),
        filters=", t.labels::text AS labels, t.project_key, t.is_subtask" if with_filters else "",
        wins=wins,
        tickets=tickets,
    )


def _load_win_columns(
    session: Session, team_id: int, ticket_sprints: _TicketSprints, rules: TeamRules
) -> WinColumns:
    with_filters = not rules.counts_every_ticket
    with binary_cursor(session) as cursor:
        cursor.execute(_win_columns_sql(with_filters), {"kinds": _COUNTED, "team_id": team_id})
        row = cursor.fetchone()
    return _win_columns_of(row, team_id, ticket_sprints, with_filters)


def _win_columns_of(
    row: Sequence[Any] | None, team_id: int, ticket_sprints: _TicketSprints, with_filters: bool
) -> WinColumns:
    """``WinColumns`` from the arrays of ``_WIN_COLUMNS_SQL``."""
    if row is None or row[0] is None:  # array_agg over no rows is NULL
        row = ([],) * (len(_WIN_COLUMNS) + (len(_TICKET_FILTER_COLUMNS) if with_filters else 0))
    ids, kind_codes, member_ids, occurred, points, givers, ticket_ids, issue_types = row[: len(_WIN_COLUMNS)]
    kinds = [None, *(WinKind(k) for k in _COUNTED)]  # array_position counts from 1
    prefix = f"{team_id}:"
    refs = {m: prefix + str(m) for m in {*member_ids, *givers} if m is not None}
    is_bug = {t: t is not None and t.casefold() == _BUG for t in set(issue_types)}
    columns = WinColumns(
        ids=ids,
        kinds=list(map(kinds.__getitem__, kind_codes)),
        member_refs=list(map(refs.get, member_ids)),
        occurred_at=occurred,
        points=points,
        issue_types=issue_types,
        sprint_refs=ticket_sprints.refs(ticket_ids, occurred),
        is_bug=list(map(is_bug.__getitem__, issue_types)),
        kudos_from=list(map(refs.get, givers)),
    )
    if not with_filters:
        return columns
    labels, projects, subtasks = row[len(_WIN_COLUMNS) :]
    label_sets = {text: _labels_of(text) for text in set(labels)}  # few distinct sets: each parsed once
    return replace(
        columns,
        labels=list(map(label_sets.__getitem__, labels)),
        project_keys=projects,
        is_subtask=list(map(bool, subtasks)),  # NULL (no ticket) is False, as in _load_wins
    )


# -- the wins a recompute reads (Postgres) ----------------------------------------------------------------
#
# A million-win team's recompute reads a few tens of thousands of its wins (``progress_needs``). Postgres
# finds their ids by index, one lookup per person and local day (days cut at the domain's own day
# starts, so time zones stay Python's), per person's first wins and bugs, per kudos and challenge
# window; only then are those wins read, joined to their tickets and sorted. The statements repeat the
# partial indexes' predicate (``COUNTED_WINS``) word for word so that Postgres can use them.

_SPAN_SQL = f"""
SELECT min(occurred_at), max(occurred_at) FROM wins WHERE team_id = %(team_id)s AND {COUNTED_WINS}
"""
# The people with counted wins, one index lookup each (a skip scan).
_PEOPLE_SQL = f"""
WITH RECURSIVE people AS (
    (SELECT member_id FROM wins
     WHERE team_id = %(team_id)s AND {COUNTED_WINS} AND member_id IS NOT NULL
     ORDER BY member_id LIMIT 1)
    UNION ALL
    SELECT (SELECT w.member_id FROM wins AS w
            WHERE w.team_id = %(team_id)s AND {COUNTED_WINS} AND w.member_id > p.member_id
            ORDER BY w.member_id LIMIT 1)
    FROM people AS p WHERE p.member_id IS NOT NULL
)
SELECT member_id FROM people WHERE member_id IS NOT NULL
"""
# Each person's (and the team-level wins') first win of every day, first wins and first bugs. Bug
# types are every spelling of "bug": no other character casefolds to these letters (tested).
_FIRSTS_SQL = f"""
SELECT array_agg(id) FROM (
    SELECT f.id
    FROM unnest(%(people)s::int[]) AS p(member)
    CROSS JOIN unnest(%(day_from)s::timestamptz[], %(day_to)s::timestamptz[]) AS d(lo, hi)
    CROSS JOIN LATERAL (
        SELECT w.id FROM wins AS w
        WHERE w.team_id = %(team_id)s AND {COUNTED_WINS} AND w.member_id = p.member
          AND w.occurred_at >= d.lo AND w.occurred_at < d.hi
        ORDER BY w.occurred_at, w.id LIMIT 1
    ) AS f
    UNION ALL
    SELECT f.id
    FROM unnest(%(day_from)s::timestamptz[], %(day_to)s::timestamptz[]) AS d(lo, hi)
    CROSS JOIN LATERAL (
        SELECT w.id FROM wins AS w
        WHERE w.team_id = %(team_id)s AND {COUNTED_WINS} AND w.member_id IS NULL
          AND w.occurred_at >= d.lo AND w.occurred_at < d.hi
        ORDER BY w.occurred_at, w.id LIMIT 1
    ) AS f
    UNION ALL
    SELECT f.id
    FROM unnest(%(people)s::int[]) AS p(member)
    CROSS JOIN LATERAL (
        SELECT w.id FROM wins AS w
        WHERE w.team_id = %(team_id)s AND {COUNTED_WINS} AND w.member_id = p.member
        ORDER BY w.occurred_at, w.id LIMIT %(wins_needed)s
    ) AS f
) AS firsts
"""
# Each person's first bugs, looked for among their first ``bug_scan`` wins (the ticket looked up for
# each): where bugs are common that finds them all at once. Bug types are every spelling of "bug": no
# other character casefolds to these letters (tested).
_BUGS_SQL = f"""
SELECT array_agg(p.member), array_agg(f.id)
FROM unnest(%(people)s::int[]) AS p(member)
CROSS JOIN LATERAL (
    SELECT w.id FROM (
        SELECT id, occurred_at, kind, source, source_key FROM wins
        WHERE team_id = %(team_id)s AND {COUNTED_WINS} AND member_id = p.member
        ORDER BY occurred_at, id LIMIT %(bug_scan)s
    ) AS w
    JOIN tickets AS t ON t.issue_key = w.source_key
    WHERE w.kind = 'ticket' AND w.source = 'jira' AND t.issue_type = ANY(%(bug_types)s::text[])
    ORDER BY w.occurred_at, w.id LIMIT %(bugs_needed)s
) AS f
"""
# The first bugs of the people who have fewer than needed there: from the bug tickets' side, so that a
# team with few bugs is not read win by win.
_RARE_BUGS_SQL = f"""
SELECT array_agg(id) FROM (
    SELECT w.id, row_number() OVER (PARTITION BY w.member_id ORDER BY w.occurred_at, w.id) AS rank
    FROM tickets AS t
    JOIN wins AS w ON w.kind = 'ticket' AND w.source = 'jira' AND w.source_key = t.issue_key
    WHERE t.issue_type = ANY(%(bug_types)s::text[])
      AND w.team_id = %(team_id)s AND {COUNTED_WINS} AND w.member_id = ANY(%(short)s::int[])
) AS bugs
WHERE rank <= %(bugs_needed)s
"""
_BUG_SCAN = 1000
_BUG_SPELLINGS = sorted({"".join(letters) for letters in product("bB", "uU", "gG")})
# Each person's first kudos received, and each giver's first given.
_KUDOS_SQL = f"""
SELECT array_agg(id) FROM (
    (SELECT DISTINCT ON (member_id) id FROM wins
     WHERE team_id = %(team_id)s AND {ACTIVE_KUDOS} AND member_id IS NOT NULL
     ORDER BY member_id, occurred_at, id)
    UNION ALL
    (SELECT DISTINCT ON (giver) id FROM (
        SELECT id, occurred_at, CAST(details #>> '{{kudos_from,member_id}}' AS integer) AS giver FROM wins
        WHERE team_id = %(team_id)s AND {ACTIVE_KUDOS}
     ) AS given
     WHERE giver IS NOT NULL
     ORDER BY giver, occurred_at, id)
) AS firsts
"""
# Every counted win inside a challenge's window.
_SPANS_SQL = f"""
SELECT array_agg(w.id)
FROM unnest(%(span_from)s::timestamptz[], %(span_to)s::timestamptz[]) AS s(lo, hi)
JOIN wins AS w ON w.team_id = %(team_id)s AND w.occurred_at >= s.lo AND w.occurred_at < s.hi
WHERE {COUNTED_WINS}
"""
_AT_INSTANTS_SQL = f"""
SELECT array_agg(id) FROM wins
WHERE team_id = %(team_id)s AND occurred_at = ANY(%(instants)s::timestamptz[]) AND {COUNTED_WINS}
"""
_NEEDED_WINS = f"""(
    SELECT w.* FROM unnest(%(ids)s::int[]) AS needed(id)
    CROSS JOIN LATERAL (
        SELECT * FROM wins WHERE id = needed.id AND team_id = %(team_id)s AND {COUNTED_WINS} OFFSET 0
    ) AS w
)"""


def _load_needed_win_columns(
    session: Session,
    team_id: int,
    sprints: _KeptSprints,
    rules: TeamRules,
    calendar: TeamCalendar,
    challenges: Sequence[Challenge],
) -> WinColumns | None:
    """The counted wins a recompute reads, and a few more; None when the whole history must be loaded.

    That is for teams whose rules filter tickets, whose time zone has a day that is not one span of
    time (see ``day_starts``) or who have no counted win, and when a chosen win stopped counting while
    the others were looked for.
    """
    if not rules.counts_every_ticket:
        return None
    params: dict[str, Any] = {"team_id": team_id}
    with binary_cursor(session) as cursor:
        first_at, last_at = cursor.execute(_SPAN_SQL, params).fetchone()  # type: ignore[misc]
        if first_at is None:
            return None
        days = day_starts(calendar, calendar.local_date(first_at), calendar.local_date(last_at))
        if days is None:
            return None
        wins_needed, bugs_needed = ranks_read(rules)
        params.update(
            people=[m for (m,) in cursor.execute(_PEOPLE_SQL, params)],
            day_from=days[:-1],
            day_to=days[1:],
            wins_needed=wins_needed,
            bugs_needed=bugs_needed,
            bug_types=_BUG_SPELLINGS,
        )
        ids: set[int] = set(_ids(cursor.execute(_FIRSTS_SQL, params)))
        if bugs_needed:
            params["bug_scan"] = max(_BUG_SCAN, bugs_needed)
            members, bugs = _arrays(cursor.execute(_BUGS_SQL, params), 2)
            ids.update(bugs)
            found = Counter(members)
            params["short"] = [m for m in params["people"] if found[m] < bugs_needed]
            if params["short"]:
                ids.update(_ids(cursor.execute(_RARE_BUGS_SQL, params)))
        if {"first_kudos_given", "first_kudos_received"} & rules.enabled_badges:
            ids.update(_ids(cursor.execute(_KUDOS_SQL, params)))
        spans = challenge_spans(challenges, calendar)
        if spans:
            params.update(span_from=spans[::2], span_to=spans[1::2])
            ids.update(_ids(cursor.execute(_SPANS_SQL, params)))
        tallies = sprints.tallies
        first_wins = "first_win_of_sprint" in rules.enabled_milestones and bool(
            tallies.fingerprints.with_issues
        )
        instants = [at for sid in sprints.windows if (at := tallies.first_win_at(sid)) is not None]
        if first_wins and instants:
            params["instants"] = instants
            ids.update(_ids(cursor.execute(_AT_INSTANTS_SQL, params)))
        columns = _read_chosen(cursor, team_id, ids, sprints.windows)
        if not first_wins or columns is None:
            return columns
        missing = _first_wins_missing(columns, sprints)
        if not missing:
            return columns
        # The earliest win of these sprints' tickets went to another sprint holding its ticket, or is
        # gone (see ``service.progress.tallies``): keep the earliest as it is now, and find each first.
        again = sprint_tallies.first_wins(cursor, team_id, missing)
        for sid in missing:
            tallies.keep_first_win_at(sid, again.get(sid))
            found = _first_win_of(cursor, team_id, sid, sprints.windows)
            if found is not None:
                ids.add(found)
        return _read_chosen(cursor, team_id, ids, sprints.windows)


def _first_win_of(cursor: Any, team_id: int, sprint_id: int, windows: dict[int, _SprintWindow]) -> int | None:
    """The id of the sprint's first win: the earliest of its tickets' wins that the sprint holds."""
    ref = sprint_ref(sprint_id)
    for page in sprint_tallies.wins_in_order(cursor, team_id, sprint_id):
        placed = _ticket_sprints_of(cursor, team_id, [ticket_id for _, ticket_id, _ in page], windows)
        for win_id, ticket_id, at in page:
            if placed.sprint_of(ticket_id, at) == ref:
                return int(win_id)
    return None


def _first_wins_missing(columns: WinColumns, sprints: _KeptSprints) -> list[int]:
    """The sprints whose earliest win is not among the wins read as theirs (at its instant)."""
    read = set(zip(columns.sprint_refs, columns.occurred_at, strict=True))
    return [
        sid
        for sid in sprints.windows
        if (at := sprints.tallies.first_win_at(sid)) is not None and (sprint_ref(sid), at) not in read
    ]


def _read_chosen(
    cursor: Any, team_id: int, ids: set[int], windows: dict[int, _SprintWindow]
) -> WinColumns | None:
    """The chosen wins with their tickets, in order; None if one of them no longer counts.

    Each statement sees the latest commits: a chosen win retracted meanwhile would leave its day or rank
    without the win that follows it. The full load is one statement, so it is the safe answer then.
    """
    params = {"team_id": team_id, "ids": sorted(ids), "kinds": _COUNTED}
    row = cursor.execute(_win_columns_sql(False, _NEEDED_WINS, _TICKETS_LOOKED_UP), params).fetchone()
    ticket_ids = () if row is None or row[0] is None else row[_WIN_COLUMNS.index("ticket_id")]
    ticket_sprints = _ticket_sprints_of(cursor, team_id, ticket_ids, windows)
    columns = _win_columns_of(row, team_id, ticket_sprints, False)
    return columns if len(columns) == len(ids) else None


def _arrays(cursor: Any, width: int) -> list[Sequence[Any]]:
    """The one row of ``width`` arrays a query of ``array_agg`` returns (NULL over no rows: empty)."""
    row = cursor.fetchone()
    return [()] * width if row is None or row[0] is None else list(row)


def _ids(cursor: Any) -> Sequence[int]:
    """The array of ids of a query's one ``array_agg`` value (NULL over no rows)."""
    row = cursor.fetchone()
    return () if row is None or row[0] is None else row[0]  # type: ignore[no-any-return]


def _labels_of(text: str | None) -> tuple[str, ...]:
    labels = None if text is None else orjson.loads(text)
    return tuple(labels) if labels else ()


def _load_issue_ages(session: Session, team_id: int) -> list[IssueAge]:
    """``relevant_issue_ages`` of the team's tickets; Postgres reduces them itself (see below)."""
    if not is_postgres(session):
        return relevant_issue_ages(_stream_issue_ages(session, team_id))
    columns = {"issue_key": Ticket.issue_key.type, "created_at": UTCDateTime, "done_at": UTCDateTime}
    rows = session.execute(
        text(_RECORD_AGES_SQL).columns(**columns), {"team_id": team_id, "records": _MOST_RECORD_STEPS + 1}
    ).all()
    if sum(done_at is not None for _, _, done_at in rows) > _MOST_RECORD_STEPS:
        # Too many records to reach one lookup at a time: one pass over the tickets costs less.
        rows = session.execute(text(_RELEVANT_AGES_SQL).columns(**columns), {"team_id": team_id}).all()
    # Already reduced; the Python reduction keeps every row it is given back (tested), so running it
    # again costs nothing and keeps one definition of what is relevant.
    return relevant_issue_ages(IssueAge(key, created_at, done_at) for key, created_at, done_at in rows)


# ``relevant_issue_ages`` in SQL, so that a million tickets are not shipped to keep a few. In
# created_at order an issue counts if it is open, or closed no earlier than every closed issue
# created strictly before it; nothing created after the first open issue counts. Issues done at an
# unknown moment are left out, as the Python reduction skips them.
#
# The first open issue is one lookup in ix_tickets_team_done_created (open tickets come first, by
# created_at); only closed issues created up to it are read, from the same index, in (created_at,
# done_at, issue_key) order. Ordering ties by done_at makes the running maximum over the rows up to
# an issue as good as one over the strictly older issues: the peers before it closed no later than
# it. So a closed issue counts exactly when its done_at is that running maximum, and the issues
# between two that count closed before the first of them. Open issues created at the first open
# issue's instant all count; none is created before it.
#
# So each issue that counts is one index lookup from the previous one (the first later issue closed
# no earlier), and the issues between are skipped inside the index. A million-ticket team has a few
# thousand of them (0.08 s in all on bench.progress_db). But if issues are closed mostly in creation
# order, nearly every one counts, and at 4 to 13 us a lookup that would take seconds: after
# ``_MOST_RECORD_STEPS`` of them, ``_RELEVANT_AGES_SQL`` (one ordered pass with a running maximum,
# about 0.3 s a million tickets) takes over.
_MOST_RECORD_STEPS = 10_000
_FIRST_OPEN_CTE = """first_open AS (
    SELECT coalesce(min(jira_created_at), 'infinity') AS created_at
    FROM tickets WHERE team_id = :team_id AND NOT done
)"""
_OPEN_AT_FIRST_OPEN = """
SELECT issue_key, jira_created_at, NULL FROM tickets
WHERE team_id = :team_id AND NOT done AND jira_created_at = (SELECT created_at FROM first_open)
ORDER BY created_at, issue_key
"""
_RECORD_AGES_SQL = f"""
WITH RECURSIVE {_FIRST_OPEN_CTE},
records AS (
    (SELECT issue_key, jira_created_at AS created_at, done_at FROM tickets
     WHERE team_id = :team_id AND done AND done_at IS NOT NULL
       AND jira_created_at <= (SELECT created_at FROM first_open)
     ORDER BY jira_created_at, done_at, issue_key LIMIT 1)
    UNION ALL
    SELECT later.* FROM records AS latest CROSS JOIN LATERAL (
        SELECT issue_key, jira_created_at AS created_at, done_at FROM tickets
        WHERE team_id = :team_id AND done
          AND (jira_created_at, done_at, issue_key) > (latest.created_at, latest.done_at, latest.issue_key)
          AND done_at >= latest.done_at AND jira_created_at <= (SELECT created_at FROM first_open)
        ORDER BY jira_created_at, done_at, issue_key LIMIT 1
    ) AS later
)
SELECT issue_key, created_at, done_at FROM (SELECT * FROM records LIMIT :records) AS closed
UNION ALL{_OPEN_AT_FIRST_OPEN}"""
_RELEVANT_AGES_SQL = f"""
WITH {_FIRST_OPEN_CTE}
SELECT issue_key, created_at, done_at FROM (
    SELECT issue_key, jira_created_at AS created_at, done_at,
           max(done_at) OVER (ORDER BY jira_created_at, done_at ROWS UNBOUNDED PRECEDING) AS latest_done_at
    FROM tickets
    WHERE team_id = :team_id AND done AND done_at IS NOT NULL
      AND jira_created_at <= (SELECT created_at FROM first_open)
) AS closed
WHERE done_at = latest_done_at
UNION ALL{_OPEN_AT_FIRST_OPEN}"""


def _stream_issue_ages(session: Session, team_id: int) -> Iterator[IssueAge]:
    query = (
        select(Ticket.issue_key, Ticket.jira_created_at, Ticket.done, Ticket.done_at)
        .where(Ticket.team_id == team_id, Ticket.jira_created_at.is_not(None))
        .order_by(Ticket.jira_created_at, Ticket.issue_key)
    )
    for key, created_at, done, done_at in stream(session, query):
        if done and done_at is None:
            continue  # done at an unknown moment: neither open nor closed at any instant we know
        yield IssueAge(key, created_at, done_at if done else None)


def relevant_issue_ages(ages: Iterable[IssueAge]) -> list[IssueAge]:
    """The few issues that can change ``oldest_open_closings``, from ages in created_at order.

    An issue is "the oldest open one" when closed only if every older issue was closed by then,
    i.e. its done_at is at least every older done_at. So an issue whose done_at is below the
    latest done_at of the strictly older issues can neither qualify nor move that maximum, and
    nothing created after the first still-open issue can qualify. Issues that share a created_at
    are all kept (whatever their order) so the result does not depend on how the database sorts
    ties. This keeps the engine's work proportional to the record-setters, not to all tickets.
    """
    kept: list[IssueAge] = []
    older_max: datetime | None = None  # max done_at over strictly older created_at groups
    group_at: datetime | None = None
    group_max: datetime | None = None
    open_at: datetime | None = None  # created_at of the first open issue met
    for age in ages:
        if age.created_at != group_at:
            if open_at is not None:
                break
            if group_max is not None and (older_max is None or group_max > older_max):
                older_max = group_max
            group_at, group_max = age.created_at, None
        if age.done_at is None:
            open_at = age.created_at
            kept.append(age)
            continue
        if group_max is None or age.done_at > group_max:
            group_max = age.done_at
        if older_max is None or age.done_at >= older_max:
            kept.append(age)
    return kept


# -- storing ---------------------------------------------------------------------------------------------


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


def lock_team(session: Session, team_id: int) -> bool:
    """Serialise recomputes of one team (Postgres row lock; SQLite has a single writer anyway)."""
    return session.execute(select(Team.id).where(Team.id == team_id).with_for_update()).first() is not None


def recompute_team(session: Session, team_id: int, today: date | None = None) -> ProgressChanges:
    """Load, recompute and store one team's progress in the caller's transaction."""
    inputs = load_team_inputs(session, team_id)
    result = run_recompute(inputs, today or inputs.local_today())
    return store_result(session, inputs, result)


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
        team_ref=team_ref(inputs.team_id),
    )


_COMPARED = ("status", "title", "member_id", "points", "url", "occurred_at", "details")


def store_result(session: Session, inputs: TeamInputs, result: ProgressResult) -> ProgressChanges:
    changes = ProgressChanges(inputs.team_id)
    _store_engine_wins(session, inputs.team_id, result.drafts, changes)
    changes.streaks_changed = _store_streaks(session, inputs.team_id, result)
    changes.challenges_changed = _store_challenges(session, result.challenges)
    sprint_tallies.save(session, inputs.team_id, inputs.fresh_tallies)
    return changes


def _store_engine_wins(
    session: Session, team_id: int, drafts: Sequence[WinDraft], changes: ProgressChanges
) -> None:
    wanted = {
        (d.kind.value, d.source_key): win_row(team_id, d, member_id=member_id_of(d.member_ref))
        for d in drafts
    }
    existing = {
        (r.kind, r.source_key): r
        for r in stream(
            session,
            select(Win.id, Win.kind, Win.source_key, *(Win.__table__.c[c] for c in _COMPARED)).where(
                Win.team_id == team_id, Win.source == WinSource.ENGINE.value
            ),
        )
    }
    now = utcnow()
    new = [row for key, row in wanted.items() if key not in existing]
    if new:
        insert_ignoring_conflicts(
            session,
            Win.__table__,
            [{**row, "created_at": now, "updated_at": now} for row in new],
            ["source", "source_key", "kind"],
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
        table = Win.__table__
        values = {c: bindparam(f"b_{c}", type_=table.c[c].type) for c in _COMPARED}
        session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(**values, updated_at=now), updates
        )
    changes.retracted.sort()
    changes.updated.sort()


def _same(row: Any) -> dict[str, Any]:
    return {f"b_{c}": getattr(row, c) for c in _COMPARED if c != "status"}


def _differs(stored: object, fresh: object) -> bool:
    if isinstance(stored, datetime) and isinstance(fresh, datetime):
        return stored != fresh
    if isinstance(stored, float | int) and isinstance(fresh, float | int):
        return float(stored) != float(fresh)
    return stored != fresh


def _stats_row(stats: StreakStats) -> tuple[int, int, date | None, date | None]:
    return (stats.current, stats.best, stats.current_start, stats.last_day)


def _store_streaks(session: Session, team_id: int, result: ProgressResult) -> int:
    wanted: dict[int | None, tuple[int, int, date | None, date | None]] = {
        member_id_of(ref): _stats_row(stats) for ref, stats in result.member_streaks.items()
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
        session.execute(StreakStat.__table__.delete().where(StreakStat.id.in_(stale)))
        changed += len(stale)
    updates, inserts = [], []
    for member_id, values in wanted.items():
        row = existing.get(member_id)
        fields = dict(zip(("current", "best", "current_start", "last_day"), values, strict=True))
        if row is None:
            scope = SCOPE_TEAM if member_id is None else SCOPE_MEMBER
            inserts.append({"team_id": team_id, "scope": scope, "member_id": member_id, **fields})
        elif (row.current, row.best, row.current_start, row.last_day) != values:
            updates.append({"b_id": row.id, **{f"b_{k}": v for k, v in fields.items()}})
    if inserts:
        session.execute(StreakStat.__table__.insert(), [{**r, "updated_at": now} for r in inserts])
    if updates:
        table = StreakStat.__table__
        values_ = {k: bindparam(f"b_{k}") for k in ("current", "best", "current_start", "last_day")}
        session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(**values_, updated_at=now), updates
        )
    return changed + len(inserts) + len(updates)


def _store_challenges(session: Session, progress: dict[int | str, ChallengeProgress]) -> int:
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
        table = ChallengeRow.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(progress=bindparam("b_progress"), completed_at=bindparam("b_completed_at")),
            updates,
        )
    return len(updates)
