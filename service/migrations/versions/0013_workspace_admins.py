"""Workspace roles: the people admins name, and what Slack last said of a person's role

Revision ID: 0013_workspace_admins
Revises: 0012_live_celebrations
Create Date: 2026-12-06

``workspace_admins`` holds the Sprint Wins admins people named with ``/sprintwins admin add``; Slack's
own admins and owners need no row. ``slack_roles`` keeps ``users.info``'s admin and owner flags with
the time they were read, so commands ask Slack at most once per person per TTL. Both are keyed by the
Slack workspace (team id), as channel links are. New tables only: the previous release never reads
them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_workspace_admins"
down_revision: str | None = "0012_live_celebrations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace_admins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slack_team_id", sa.String(length=32), nullable=False),
        sa.Column("slack_enterprise_id", sa.String(length=32), nullable=True),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("added_by_user_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace_admins")),
        sa.UniqueConstraint(
            "slack_team_id", "user_id", name=op.f("uq_workspace_admins_slack_team_id_user_id")
        ),
    )
    op.create_table(
        "slack_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slack_team_id", sa.String(length=32), nullable=False),
        sa.Column("slack_enterprise_id", sa.String(length=32), nullable=True),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("is_owner", sa.Boolean(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_roles")),
        sa.UniqueConstraint("slack_team_id", "user_id", name=op.f("uq_slack_roles_slack_team_id_user_id")),
    )


def downgrade() -> None:
    op.drop_table("slack_roles")
    op.drop_table("workspace_admins")
