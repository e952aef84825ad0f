"""Indexes for recomputing progress from the few wins it reads

Revision ID: 0008_wins_progress_indexes
Revises: 0007_inbox_lz4
Create Date: 2026-11-24

A recompute reads each person's first win of every day, their first hundred wins and bugs, and the
team's first kudos (service.domain.progress_needs): with a person's counted wins in order and the
team's kudos in order, Postgres finds them by index instead of reading a million-win history.
Building them locks writes to wins for the duration (seconds per million wins).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_wins_progress_indexes"
down_revision: str | None = "0007_inbox_lz4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED_WINS = "status = 'active' AND kind IN ('kudos', 'manual', 'ticket')"
ACTIVE_KUDOS = "status = 'active' AND kind = 'kudos'"


def upgrade() -> None:
    op.create_index(
        "ix_wins_counted_member_time",
        "wins",
        ["team_id", "member_id", "occurred_at", "id"],
        postgresql_where=sa.text(COUNTED_WINS),
        sqlite_where=sa.text(COUNTED_WINS),
    )
    op.create_index(
        "ix_wins_kudos_time",
        "wins",
        ["team_id", "occurred_at", "id"],
        postgresql_where=sa.text(ACTIVE_KUDOS),
        sqlite_where=sa.text(ACTIVE_KUDOS),
    )


def downgrade() -> None:
    op.drop_index("ix_wins_kudos_time", table_name="wins")
    op.drop_index("ix_wins_counted_member_time", table_name="wins")
