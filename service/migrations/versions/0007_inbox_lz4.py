"""Inbox bodies compressed with LZ4 on Postgres: the webhook writes one per delivery

Revision ID: 0007_inbox_lz4
Revises: 0006_sprint_goal
Create Date: 2026-11-24

Jira bodies are 3-15 KB, so Postgres compresses each one as it stores it. Its default, pglz,
costs noticeably more CPU per write than LZ4 on the intake's hot path (docs/benchmarks.md).
Only new values are affected; SQLite has no such setting, and a Postgres built without LZ4
keeps pglz.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0007_inbox_lz4"
down_revision: str | None = "0006_sprint_goal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE inbound_events ALTER COLUMN body SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE inbound_events ALTER COLUMN body SET COMPRESSION default")


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    choices = bind.execute(
        text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    return bool(choices) and "lz4" in choices
