"""Engine wins keyed by outside ids: the team's slug, the person's identity, Jira's sprint id

Revision ID: 0011_outside_keys
Revises: 0010_ticket_age_indexes
Create Date: 2026-12-06

Badges, streaks and milestones were keyed by our row ids (``badge:first_win:<team id>:<member id>``,
``milestone:<sprint row id>:progress_50``). The same deliveries in another order make other row ids,
and history that moves between teams kept keys naming the team it left. The keys now name the team by
its slug, a person by their Jira account (or Slack user) and a sprint by Jira's id
(``service.progress.refs``); this rewrites the stored ones, and the refs inside their details, in place
so their cheers and Slack posts stay attached. The rules are repeated here rather than imported: a
migration must keep doing what it did when it was written.

Keys are rewritten in two steps (under a temporary prefix first) because an old key can equal another
row's new one (sprint row 7's milestone and the milestone of the sprint Jira numbers 7). The kept
sprint tallies name people too; they are a cache, emptied so the next recompute derives them again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_outside_keys"
down_revision: str | None = "0010_ticket_age_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = "0011~"  # the temporary prefix of a rewritten key, removed in the second step
_IDENTITY_MAX = 80

_wins = sa.table(
    "wins",
    sa.column("id", sa.Integer),
    sa.column("team_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("source", sa.String),
    sa.column("source_key", sa.String),
    sa.column("details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
)


def _bounded(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 26]}#{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def _identity(jira: str | None, slack_team: str | None, slack_user: str | None, member_id: int) -> str:
    if jira:
        return _bounded(f"jira:{jira}", _IDENTITY_MAX)
    if slack_user:
        return _bounded(f"slack:{slack_team or ''}:{slack_user}", _IDENTITY_MAX)
    return f"member:{member_id}"


class _Names:
    """Old refs (row ids) and new refs (outside ids) of every team, person and sprint, both ways."""

    def __init__(self, connection: sa.Connection) -> None:
        self.slugs: dict[int, str] = dict(connection.execute(sa.text("SELECT id, slug FROM teams")).all())
        self.identities: dict[int, str] = {
            mid: _identity(jira, slack_team, slack_user, mid)
            for mid, jira, slack_team, slack_user in connection.execute(
                sa.text("SELECT id, jira_account_id, slack_team_id, slack_user_id FROM members")
            )
        }
        self.members_by_identity = {identity: mid for mid, identity in self.identities.items()}
        self.sprints: dict[int, str] = {}
        for sid, team_id, jira_id, name in connection.execute(
            sa.text("SELECT id, team_id, jira_id, name FROM sprints")
        ):
            if jira_id is not None:
                self.sprints[sid] = str(jira_id)
            else:
                digest = hashlib.sha256((name or "").encode()).hexdigest()[:24]
                self.sprints[sid] = f"{self.slugs.get(team_id, str(team_id))}/name:{digest}"
        self.sprint_ids = {ref: sid for sid, ref in self.sprints.items()}

    # -- upgrade: row ids to outside ids --

    def new_member(self, old: object) -> str | None:
        match = re.fullmatch(r"(\d+):(\d+)", str(old))
        if match is None:
            return None
        team, member = int(match[1]), int(match[2])
        if team not in self.slugs or member not in self.identities:
            return None
        return f"{self.slugs[team]}:{self.identities[member]}"

    def new_sprint(self, old: object) -> str | None:
        return self.sprints.get(int(str(old))) if str(old).isdigit() else None

    # -- downgrade: outside ids back to row ids --

    def old_member(self, new: object, team_id: int) -> str | None:
        prefix = f"{self.slugs.get(team_id)}:"
        text = str(new)
        if not text.startswith(prefix):
            return None
        member = self.members_by_identity.get(text[len(prefix) :])
        return None if member is None else f"{team_id}:{member}"

    def old_sprint(self, new: object) -> str | None:
        sid = self.sprint_ids.get(str(new))
        return None if sid is None else str(sid)


def _upgraded(
    names: _Names, team_id: int, key: str, details: dict[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    """The new key and details of an engine win keyed the old way; None when nothing maps."""
    slug = names.slugs.get(team_id)
    if slug is None:
        return None
    key_out: str | None = None
    if match := re.fullmatch(r"badge:(\w+):(\d+:\d+)", key):
        member = names.new_member(match[2])
        key_out = None if member is None else f"badge:{match[1]}:{member}"
    elif match := re.fullmatch(r"streak:member:(\d+:\d+):(\d+):([\d-]+)", key):
        member = names.new_member(match[1])
        key_out = None if member is None else f"streak:member:{member}:{match[2]}:{match[3]}"
    elif (match := re.fullmatch(r"streak:team:(\d+):(\d+):([\d-]+)", key)) and int(match[1]) == team_id:
        key_out = f"streak:team:{slug}:{match[2]}:{match[3]}"
    elif match := re.fullmatch(r"milestone:(\d+):(\w+)", key):
        sprint = names.new_sprint(match[1])
        key_out = None if sprint is None else f"milestone:{sprint}:{match[2]}"
    if key_out is None:
        return None
    return key_out, _details(details, names.new_sprint, names.new_member)


def _downgraded(
    names: _Names, team_id: int, key: str, details: dict[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    slug = names.slugs.get(team_id)
    if slug is None:
        return None
    key_out: str | None = None
    if (match := re.fullmatch(r"badge:(\w+):(.+)", key)) and not re.fullmatch(r"\d+:\d+", match[2]):
        member = names.old_member(match[2], team_id)
        key_out = None if member is None else f"badge:{match[1]}:{member}"
    elif match := re.fullmatch(r"streak:member:(.+):(\d+):(\d{4}-\d\d-\d\d)", key):
        member = names.old_member(match[1], team_id)
        key_out = None if member is None else f"streak:member:{member}:{match[2]}:{match[3]}"
    elif (match := re.fullmatch(r"streak:team:(.+):(\d+):(\d{4}-\d\d-\d\d)", key)) and match[1] == slug:
        key_out = f"streak:team:{team_id}:{match[2]}:{match[3]}"
    elif match := re.fullmatch(r"milestone:(.+):(\w+)", key):
        sprint = names.old_sprint(match[1])
        key_out = None if sprint is None else f"milestone:{sprint}:{match[2]}"
    if key_out is None:
        return None
    return key_out, _details(details, names.old_sprint, lambda ref: names.old_member(ref, team_id))


def _details(
    details: dict[str, Any],
    sprint: Callable[[object], str | None],
    member: Callable[[object], str | None],
) -> dict[str, Any]:
    out = dict(details or {})
    if out.get("sprint_ref") is not None:
        out["sprint_ref"] = sprint(out["sprint_ref"]) or out["sprint_ref"]
    if out.get("confirmed_by") is not None:
        out["confirmed_by"] = member(out["confirmed_by"]) or out["confirmed_by"]
    return out


Rewrite = Callable[[_Names, int, str, dict[str, Any]], "tuple[str, dict[str, Any]] | None"]


def _rewrite(rewrite: Rewrite) -> None:
    connection = op.get_bind()
    names = _Names(connection)
    rows = connection.execute(
        sa.select(_wins.c.id, _wins.c.team_id, _wins.c.source_key, _wins.c.details)
        .where(_wins.c.source == "engine", _wins.c.kind.in_(["badge", "streak", "milestone"]))
        .order_by(_wins.c.id)
    ).all()
    changes = []
    for win_id, team_id, key, details in rows:
        rewritten = rewrite(names, team_id, key, details or {})
        if rewritten is not None and (rewritten[0] != key or rewritten[1] != (details or {})):
            changes.append({"b_id": win_id, "b_key": _PENDING + rewritten[0], "b_details": rewritten[1]})
    if changes:
        connection.execute(
            _wins.update()
            .where(_wins.c.id == sa.bindparam("b_id"))
            .values(source_key=sa.bindparam("b_key"), details=sa.bindparam("b_details")),
            changes,
        )
        connection.execute(
            _wins.update()
            .where(_wins.c.source == "engine", _wins.c.source_key.like(f"{_PENDING}%"))
            .values(source_key=sa.func.substr(_wins.c.source_key, len(_PENDING) + 1))
        )
    # Kept tallies name people by the refs being replaced: derived again by the next recompute.
    connection.execute(sa.text("DELETE FROM sprint_tallies"))


def upgrade() -> None:
    _rewrite(_upgraded)


def downgrade() -> None:
    _rewrite(_downgraded)
