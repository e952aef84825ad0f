"""Sprint tallies kept between recomputes

Revision ID: 0009_sprint_tallies
Revises: 0008_wins_progress_indexes
Create Date: 2026-11-24

A recompute derives each sprint's tally (progress crossings, velocity, who finished their committed
issues) from all of its issues. Kept here with a fingerprint of those issues, it is derived again only
for the sprints whose issues changed. The table holds nothing that cannot be derived again: emptying it
only makes the next recompute slower.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_sprint_tallies"
down_revision: str | None = "0008_wins_progress_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sprint_tallies",
        sa.Column("sprint_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=100), nullable=False),
        sa.Column("tally", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("first_win_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sprint_id"],
            ["sprints.id"],
            name=op.f("fk_sprint_tallies_sprint_id_sprints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_sprint_tallies_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("sprint_id", name=op.f("pk_sprint_tallies")),
    )
    op.create_index(op.f("ix_sprint_tallies_team_id"), "sprint_tallies", ["team_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sprint_tallies_team_id"), table_name="sprint_tallies")
    op.drop_table("sprint_tallies")
