"""Sprint scope from Jira REST: scope rows, where each sprint's scope came from, resolved points fields

Revision ID: 0005_sprint_scope
Revises: 0004_progress
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_sprint_scope"
down_revision: str | None = "0004_progress"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jira_points_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("board_id", sa.BigInteger(), nullable=False),
        sa.Column("field_id", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jira_points_fields")),
        sa.UniqueConstraint("site", "board_id", name=op.f("uq_jira_points_fields_site_board_id")),
    )
    op.create_table(
        "sprint_scope",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sprint_id", sa.Integer(), nullable=False),
        sa.Column("issue_key", sa.String(length=64), nullable=False),
        sa.Column("points", sa.Double(), nullable=True),
        sa.Column("committed", sa.Boolean(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["members.id"],
            name=op.f("fk_sprint_scope_assignee_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sprint_id"], ["sprints.id"], name=op.f("fk_sprint_scope_sprint_id_sprints"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sprint_scope")),
        sa.UniqueConstraint("sprint_id", "issue_key", name=op.f("uq_sprint_scope_sprint_id_issue_key")),
    )
    op.create_table(
        "sprint_scope_sources",
        sa.Column("sprint_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("points_field", sa.String(length=64), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sprint_id"],
            ["sprints.id"],
            name=op.f("fk_sprint_scope_sources_sprint_id_sprints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sprint_id", name=op.f("pk_sprint_scope_sources")),
    )


def downgrade() -> None:
    op.drop_table("sprint_scope_sources")
    op.drop_table("sprint_scope")
    op.drop_table("jira_points_fields")
