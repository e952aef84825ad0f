"""An index for reducing a team's tickets to the few issue ages a recompute reads

Revision ID: 0010_ticket_age_indexes
Revises: 0009_sprint_tallies
Create Date: 2026-11-24

A recompute keeps only the tickets that set a record for the oldest-open-ticket milestone
(service.progress.issue_ages.load_issue_ages). With a team's tickets ordered by (done, created, done_at,
key), Postgres finds the first open ticket with one lookup and walks from record to record, reading
the index alone, instead of sorting a million-ticket history. Building it locks writes to tickets for
the duration (about a second per million tickets). It starts with team_id, so it also serves every
lookup of a team's tickets: the index on team_id alone goes, which spares each ticket write one index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_ticket_age_indexes"
down_revision: str | None = "0009_sprint_tallies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_team_done_created",
        "tickets",
        ["team_id", "done", "jira_created_at", "done_at", "issue_key"],
    )
    op.drop_index("ix_tickets_team_id", table_name="tickets")


def downgrade() -> None:
    op.create_index("ix_tickets_team_id", "tickets", ["team_id"])
    op.drop_index("ix_tickets_team_done_created", table_name="tickets")
