"""Sprint goal confirmations: when the sprint-end "Sprint goal met" button was clicked, and by whom

Revision ID: 0006_sprint_goal
Revises: 0005_sprint_scope
Create Date: 2026-11-24
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0006_sprint_goal"
down_revision: str | None = "0005_sprint_scope"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK_NAME = "fk_sprints_goal_met_by_member_id_members"


def upgrade() -> None:
    with _keeping_dependent_rows("sprints"), op.batch_alter_table("sprints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("goal_met_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("goal_met_by_member_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f(FK_NAME), "members", ["goal_met_by_member_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with _keeping_dependent_rows("sprints"), op.batch_alter_table("sprints", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(FK_NAME), type_="foreignkey")
        batch_op.drop_column("goal_met_by_member_id")
        batch_op.drop_column("goal_met_at")


@contextmanager
def _keeping_dependent_rows(table: str) -> Iterator[None]:
    """On SQLite, put back the rows that recreating ``table`` deletes from the tables referencing it.

    SQLite adds a foreign key only by copying the table (batch mode), and the copy ends with
    DROP TABLE on the original. With foreign_keys=ON, which cannot be switched off inside the
    migration's transaction, that drop deletes every row first, and the ON DELETE actions empty
    sprint_tickets, sprint_scope and sprint_scope_sources. So those rows are stashed in temporary
    tables and written back once the new table (with the same ids) is in place.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    dependents = _referencing_tables(bind, table)
    for name in dependents:
        op.execute(sa.text(f'CREATE TEMP TABLE "_keep_{name}" AS SELECT * FROM "{name}"'))
    yield
    for name in reversed(dependents):  # children before parents: ON DELETE may reach further down
        op.execute(sa.text(f'DELETE FROM "{name}"'))
    for name in dependents:
        op.execute(sa.text(f'INSERT INTO "{name}" SELECT * FROM temp."_keep_{name}"'))
        op.execute(sa.text(f'DROP TABLE temp."_keep_{name}"'))


def _referencing_tables(bind: sa.Connection, table: str) -> list[str]:
    """Tables whose foreign keys lead to ``table``, directly or through others, parents first."""
    inspector = sa.inspect(bind)
    referrers: dict[str, set[str]] = {}
    for name in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(name):
            referrers.setdefault(fk["referred_table"], set()).add(name)
    found: list[str] = []
    frontier = [table]
    while frontier:
        parent = frontier.pop(0)
        for child in sorted(referrers.get(parent, ())):
            if child != table and child not in found:
                found.append(child)
                frontier.append(child)
    return found
