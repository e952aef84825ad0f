"""Everything a workspace owns is keyed within it

Revision ID: 0016_workspace_scoping
Revises: 0015_workspaces
Create Date: 2026-12-06

Jira numbers issues, sprints, accounts and deliveries per site, and each workspace has its own site: two
workspaces may both hold ``ORB-1``. So the rows that come from Jira (team claims, tickets, sprints, wins,
inbox rows) carry a ``workspace_id``, and every identity that was global becomes one per workspace:

* teams ``(workspace_id, slug)``, members ``(workspace_id, jira_account_id)``;
* team_sources ``(workspace_id, kind, key)``, tickets ``(workspace_id, issue_key)``,
  sprints ``(workspace_id, jira_id)``, wins ``(workspace_id, source, source_key, kind)``,
  inbound_events ``(workspace_id, source, delivery_id)``.

Each new column is NOT NULL with a server default of 1 (the implicit workspace, where every existing
row belongs), so rows written without it still land somewhere valid. Each new unique starts with the
workspace, so lookups within a workspace use it as they used the old one.

SQLite cannot drop a constraint in place: ``batch_alter_table`` rebuilds those tables (copying their
rows and indexes); on Postgres the same calls are plain ``ALTER TABLE`` statements.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The previous release's inserts name the old unique keys (``ON CONFLICT (issue_key)``, ``(source,
# delivery_id)``, ...), which no longer exist here, so it cannot run on this schema: this one upgrade
# stops it before migrating (docs/operations.md, "Upgrades"; tests/migrations/test_expand_contract.py).
PREVIOUS_RELEASE_MUST_STOP = (
    "the unique keys become per workspace, and the previous release's inserts name the old ones"
)

revision: str = "0016_workspace_scoping"
down_revision: str | None = "0015_workspaces"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (the global identity it had, the identity within a workspace it has now)
IDENTITIES: dict[str, tuple[list[str], list[str]]] = {
    "teams": (["slug"], ["workspace_id", "slug"]),
    "members": (["jira_account_id"], ["workspace_id", "jira_account_id"]),
    "team_sources": (["kind", "key"], ["workspace_id", "kind", "key"]),
    "tickets": (["issue_key"], ["workspace_id", "issue_key"]),
    "sprints": (["jira_id"], ["workspace_id", "jira_id"]),
    "wins": (["source", "source_key", "kind"], ["workspace_id", "source", "source_key", "kind"]),
    "inbound_events": (["source", "delivery_id"], ["workspace_id", "source", "delivery_id"]),
}
# The tables that gain the column here (teams and members have it since 0015).
NEW_COLUMN = ("team_sources", "tickets", "sprints", "wins", "inbound_events")
# Those whose rows belong to a team: they follow their team's workspace.
TEAM_ROWS = ("team_sources", "tickets", "sprints", "wins")


def _unique_name(table: str, columns: list[str]) -> str:
    return f"uq_{table}_{'_'.join(columns)}"  # the metadata's naming convention


def upgrade() -> None:
    for table, (before, after) in IDENTITIES.items():
        with op.batch_alter_table(table) as batch:
            if table in NEW_COLUMN:
                batch.add_column(sa.Column("workspace_id", sa.Integer(), nullable=False, server_default="1"))
                batch.create_foreign_key(
                    op.f(f"fk_{table}_workspace_id_workspaces"),
                    "workspaces",
                    ["workspace_id"],
                    ["id"],
                    ondelete="CASCADE",
                )
            batch.drop_constraint(op.f(_unique_name(table, before)), type_="unique")
            batch.create_unique_constraint(op.f(_unique_name(table, after)), after)
    # Only a team placed in another workspace since 0015 has rows to move: none in a database that ran
    # no release between the two, so the (large) tables are not even read then.
    if op.get_bind().execute(sa.text("SELECT count(*) FROM teams WHERE workspace_id <> 1")).scalar_one() == 0:
        return
    for table in TEAM_ROWS:
        op.execute(
            f"UPDATE {table} SET workspace_id = "
            f"(SELECT teams.workspace_id FROM teams WHERE teams.id = {table}.team_id) "
            f"WHERE team_id IN (SELECT id FROM teams WHERE workspace_id <> 1)"
        )


def downgrade() -> None:
    """Back to global identities: possible only while no two workspaces hold the same one."""
    for table, (before, after) in reversed(IDENTITIES.items()):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(_unique_name(table, after)), type_="unique")
            batch.create_unique_constraint(op.f(_unique_name(table, before)), before)
            if table in NEW_COLUMN:
                batch.drop_constraint(op.f(f"fk_{table}_workspace_id_workspaces"), type_="foreignkey")
                batch.drop_column("workspace_id")
