"""Progress engine: streak stats, streak freezes, micro-challenges, team holidays

Revision ID: 0004_progress
Revises: 0003_digests
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_progress"
down_revision: str | None = "0003_digests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("target", sa.Double(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.CheckConstraint(
            "(scope = 'team') = (member_id IS NULL)", name=op.f("ck_challenges_member_matches_scope")
        ),
        sa.CheckConstraint("scope IN ('member', 'team')", name=op.f("ck_challenges_scope")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["members.id"], name=op.f("fk_challenges_created_by_members"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_challenges_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_challenges_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenges")),
    )
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_challenges_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_challenges_team_ends", ["team_id", "ends_on"], unique=False)

    op.create_table(
        "streak_freezes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_streak_freezes_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_streak_freezes_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streak_freezes")),
        sa.UniqueConstraint(
            "member_id", "team_id", "day", name=op.f("uq_streak_freezes_member_id_team_id_day")
        ),
    )
    with op.batch_alter_table("streak_freezes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_streak_freezes_team_id"), ["team_id"], unique=False)

    op.create_table(
        "streak_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("current", sa.Integer(), nullable=False),
        sa.Column("best", sa.Integer(), nullable=False),
        sa.Column("current_start", sa.Date(), nullable=True),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IN ('member', 'team')", name=op.f("ck_streak_stats_scope")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_streak_stats_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_streak_stats_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streak_stats")),
        sa.UniqueConstraint(
            "team_id", "scope", "member_id", name=op.f("uq_streak_stats_team_id_scope_member_id")
        ),
    )
    with op.batch_alter_table("streak_stats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_streak_stats_member_id"), ["member_id"], unique=False)

    op.create_table(
        "team_holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_holidays_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_holidays")),
        sa.UniqueConstraint("team_id", "day", name=op.f("uq_team_holidays_team_id_day")),
    )


def downgrade() -> None:
    op.drop_table("team_holidays")
    with op.batch_alter_table("streak_stats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_streak_stats_member_id"))
    op.drop_table("streak_stats")
    with op.batch_alter_table("streak_freezes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_streak_freezes_team_id"))
    op.drop_table("streak_freezes")
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.drop_index("ix_challenges_team_ends")
        batch_op.drop_index(batch_op.f("ix_challenges_member_id"))
    op.drop_table("challenges")
