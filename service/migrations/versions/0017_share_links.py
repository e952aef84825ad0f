"""Read-only share links: one team's page for a wall display

Revision ID: 0017_share_links
Revises: 0016_workspace_scoping
Create Date: 2026-12-06

A new table only (expand): the previous release neither reads nor writes it, so it keeps running
while this one rolls out.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_share_links"
down_revision: str | None = "0016_workspace_scoping"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "share_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_share_links_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_share_links_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_share_links_token_hash")),
    )
    op.create_index(op.f("ix_share_links_workspace_id"), "share_links", ["workspace_id"])
    op.create_index(op.f("ix_share_links_team_id"), "share_links", ["team_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_share_links_team_id"), table_name="share_links")
    op.drop_index(op.f("ix_share_links_workspace_id"), table_name="share_links")
    op.drop_table("share_links")
