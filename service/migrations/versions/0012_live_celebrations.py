"""Live celebrations: a channel's live setting, the wins each post shows, and cheers on digests

Revision ID: 0012_live_celebrations
Revises: 0011_outside_keys
Create Date: 2026-12-06

``channel_links.live`` is added with the server default ``off``: channels linked before live
celebrations existed stay as quiet as they were. Channels linked from now on get ``milestones`` (the
model's default), a few posts a day at most. ``celebrated_wins`` links a stored post to the wins it
shows, so a reaction on it cheers each of them; ``digest_cheers`` counts reactions on a digest itself.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_live_celebrations"
down_revision: str | None = "0011_outside_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("live", sa.String(length=16), server_default="off", nullable=False))
        batch_op.add_column(sa.Column("live_since", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "celebrated_wins",
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("win_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_celebrated_wins_digest_id_digests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["win_id"], ["wins.id"], name=op.f("fk_celebrated_wins_win_id_wins"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("digest_id", "win_id", name=op.f("pk_celebrated_wins")),
    )
    op.create_index(op.f("ix_celebrated_wins_win_id"), "celebrated_wins", ["win_id"], unique=False)
    op.create_table(
        "digest_cheers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("slack_team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("reaction", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest_id"], ["digests.id"], name=op.f("fk_digest_cheers_digest_id_digests"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_cheers")),
        sa.UniqueConstraint(
            "digest_id", "user_id", "reaction", name=op.f("uq_digest_cheers_digest_id_user_id_reaction")
        ),
    )


def downgrade() -> None:
    op.drop_table("digest_cheers")
    op.drop_index(op.f("ix_celebrated_wins_win_id"), table_name="celebrated_wins")
    op.drop_table("celebrated_wins")
    with op.batch_alter_table("channel_links", schema=None) as batch_op:
        batch_op.drop_column("live_since")
        batch_op.drop_column("live")
