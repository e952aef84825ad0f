"""The issue ages a recompute needs: only those that can still change the oldest-open-ticket milestone.

``service.domain.milestones.relevant_issue_ages`` says which those are; on Postgres the same reduction
runs in SQL, so that a million tickets are not shipped to keep a few.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from service.domain.milestones import relevant_issue_ages
from service.domain.progress_inputs import IssueAge
from service.models import Ticket
from service.models.base import UTCDateTime
from service.progress.sql import is_postgres, stream


def load_issue_ages(session: Session, team_id: int) -> list[IssueAge]:
    """``relevant_issue_ages`` of the team's tickets; Postgres reduces them itself (see below)."""
    if not is_postgres(session):
        return relevant_issue_ages(stream_issue_ages(session, team_id))
    columns = {"issue_key": Ticket.issue_key.type, "created_at": UTCDateTime, "done_at": UTCDateTime}
    rows = session.execute(
        text(RECORD_AGES_SQL).columns(**columns), {"team_id": team_id, "records": _MOST_RECORD_STEPS + 1}
    ).all()
    if sum(done_at is not None for _, _, done_at in rows) > _MOST_RECORD_STEPS:
        # Too many records to reach one lookup at a time: one pass over the tickets costs less.
        rows = session.execute(text(RELEVANT_AGES_SQL).columns(**columns), {"team_id": team_id}).all()
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
# ``_MOST_RECORD_STEPS`` of them, ``RELEVANT_AGES_SQL`` (one ordered pass with a running maximum,
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
RECORD_AGES_SQL = f"""
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
RELEVANT_AGES_SQL = f"""
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


def stream_issue_ages(session: Session, team_id: int) -> Iterator[IssueAge]:
    query = (
        select(Ticket.issue_key, Ticket.jira_created_at, Ticket.done, Ticket.done_at)
        .where(Ticket.team_id == team_id, Ticket.jira_created_at.is_not(None))
        .order_by(Ticket.jira_created_at, Ticket.issue_key)
    )
    for key, created_at, done, done_at in stream(session, query):
        if done and done_at is None:
            continue  # done at an unknown moment: neither open nor closed at any instant we know
        yield IssueAge(key, created_at, done_at if done else None)
