"""Workspaces, Jira sites and API tokens; every team and member belongs to a workspace

Revision ID: 0015_workspaces
Revises: 0014_dashboard_indexes
Create Date: 2026-12-06

The implicit workspace (id 1, slug ``default``) is created here, and today's teams and members move
into it: the column's server default is 1, so the previous release, which does not know the column,
keeps writing rows that land in the implicit workspace (expand, then contract).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_workspaces"
down_revision: str | None = "0014_dashboard_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    workspaces = op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slack_team_id", sa.String(length=32), nullable=True),
        sa.Column("slack_enterprise_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("slug", name=op.f("uq_workspaces_slug")),
        sa.UniqueConstraint("slack_team_id", name=op.f("uq_workspaces_slack_team_id")),
    )
    op.execute(
        workspaces.insert().values(
            id=1, slug="default", name="Default", created_at=sa.func.current_timestamp()
        )
    )
    if op.get_bind().dialect.name == "postgresql":
        # The explicit id 1 did not advance the sequence; the next workspace must not collide with it.
        op.execute("SELECT setval(pg_get_serial_sequence('workspaces', 'id'), 1)")
    op.create_table(
        "jira_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        sa.Column("previous_valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rest_email", sa.String(length=320), nullable=True),
        sa.Column("rest_token", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_jira_sites_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jira_sites")),
        sa.UniqueConstraint("key", name=op.f("uq_jira_sites_key")),
    )
    op.create_index(op.f("ix_jira_sites_workspace_id"), "jira_sites", ["workspace_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("can_write", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_api_tokens_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_workspace_id"), "api_tokens", ["workspace_id"])
    for table in ("teams", "members"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("workspace_id", sa.Integer(), nullable=False, server_default="1"))
            batch.create_foreign_key(
                op.f(f"fk_{table}_workspace_id_workspaces"),
                "workspaces",
                ["workspace_id"],
                ["id"],
                ondelete="CASCADE",
            )
            batch.create_index(op.f(f"ix_{table}_workspace_id"), ["workspace_id"])


def downgrade() -> None:
    for table in ("members", "teams"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f"ix_{table}_workspace_id"))
            batch.drop_constraint(op.f(f"fk_{table}_workspace_id_workspaces"), type_="foreignkey")
            batch.drop_column("workspace_id")
    op.drop_index(op.f("ix_api_tokens_workspace_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index(op.f("ix_jira_sites_workspace_id"), table_name="jira_sites")
    op.drop_table("jira_sites")
    op.drop_table("workspaces")
