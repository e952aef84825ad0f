"""Indexes for the dashboard's reads of a team's wins

Revision ID: 0014_dashboard_indexes
Revises: 0013_workspace_admins
Create Date: 2026-12-06

Measured over a million wins (bench/dashboard.py, docs/benchmarks.md):

* ``ix_wins_team_member``: who has a win in a team (the feed's person filter) is one probe per person
  instead of walking each person's wins in every team (1.4 s to a few milliseconds);
* ``ix_wins_team_kind_time``: a team's wins of one kind, newest first (the badges wall, a sprint's
  milestones, the API's ``kind`` filter) without reading the team's other wins;
* ``ix_wins_counted_team_time``: the counted wins of a team over time, read from the index alone (the
  heatmap, the sparklines, the week's count), visibility included so "only me" wins are left out there;
* ``ix_tickets_sprint_scope`` (Postgres): the ticket columns a sprint's scope is derived from, so the
  scopes of many sprints (the overview's running sprints, a team's sprint list) are read from the index
  alone, ticket by ticket, instead of Postgres scanning every ticket to hash-join a few thousand.

Each is one more index to keep on every win or ticket written. Building them locks writes to wins for the
duration (seconds per million wins).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_dashboard_indexes"
down_revision: str | None = "0013_workspace_admins"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED_WINS = "status = 'active' AND kind IN ('kudos', 'manual', 'ticket')"
SCOPE_COLUMNS = ["issue_key", "points", "done", "done_at", "jira_created_at", "assignee_id"]


def upgrade() -> None:
    op.create_index("ix_wins_team_member", "wins", ["team_id", "member_id", "visibility"])
    op.create_index("ix_wins_team_kind_time", "wins", ["team_id", "kind", "occurred_at", "id"])
    op.create_index(
        "ix_wins_counted_team_time",
        "wins",
        ["team_id", "occurred_at", "visibility"],
        postgresql_where=sa.text(COUNTED_WINS),
        sqlite_where=sa.text(COUNTED_WINS),
    )
    # INCLUDE is Postgres's: on SQLite this is an index on the id alone, harmless and small.
    op.create_index("ix_tickets_sprint_scope", "tickets", ["id"], postgresql_include=SCOPE_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_tickets_sprint_scope", table_name="tickets")
    op.drop_index("ix_wins_counted_team_time", table_name="wins")
    op.drop_index("ix_wins_team_kind_time", table_name="wins")
    op.drop_index("ix_wins_team_member", table_name="wins")
