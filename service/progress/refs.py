"""The refs the progress engine knows people, the team and sprints by: outside ids, never our row ids.

They end up in engine wins' source keys, so they must not depend on the order rows were made in
(the same deliveries in another order make other row ids) nor change when history moves between
teams or databases:

* the team is its slug;
* a person is ``"<team slug>:<identity>"``, the identity being their Jira account (``jira:<accountId>``)
  or, for someone known only from Slack, ``slack:<workspace>:<user>``. People are global but badges
  and streaks are earned in a team: two teams each celebrate someone's first win with them, under
  distinct keys;
* a sprint is Jira's sprint id; a sprint some changelog named without an id is ``name:<digest of its
  name>`` within its team (``<team slug>/``), until an event tells its id.

Identities longer than a key can hold are shortened to a digest, so every key fits its column.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Member, Team

# Bounds that keep the longest engine key (a personal streak's) within ``wins.source_key``.
IDENTITY_MAX = 80


def bounded(text: str, limit: int) -> str:
    """``text``, or a stable digest of it when it is longer than ``limit``."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 26]}#{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def person_identity(
    jira_account_id: str | None, slack_team_id: str | None, slack_user_id: str | None, member_id: int
) -> str:
    """A person's stable identity: their Jira account, else their Slack user."""
    if jira_account_id:
        return bounded(f"jira:{jira_account_id}", IDENTITY_MAX)
    if slack_user_id:
        return bounded(f"slack:{slack_team_id or ''}:{slack_user_id}", IDENTITY_MAX)
    return f"member:{member_id}"  # neither: nobody makes such a person, but a key must still exist


def unnumbered_sprint_ref(team_slug: str, name: str) -> str:
    return f"{team_slug}/name:{hashlib.sha256(name.encode()).hexdigest()[:24]}"


def sprint_ref_of(team_slug: str, jira_id: int | None, name: str) -> str:
    return str(jira_id) if jira_id is not None else unnumbered_sprint_ref(team_slug, name)


class TeamRefs:
    """One team's refs for one recompute: people are read as they are first named, then remembered.

    ``member_id`` reads back the member a ref names, for storing what the engine said about them.
    """

    def __init__(self, session: Session, team_id: int, slug: str | None = None) -> None:
        self.session = session
        self.team_id = team_id
        if slug is None:
            slug = session.scalar(select(Team.slug).where(Team.id == team_id)) or str(team_id)
        self.team = slug
        self._refs: dict[int, str] = {}
        self._ids: dict[str, int] = {}

    def member(self, member_id: int) -> str:
        ref = self._refs.get(member_id)
        if ref is None:
            self.prefetch((member_id,))
            ref = self._refs[member_id]
        return ref

    def member_or_none(self, member_id: int | None) -> str | None:
        return None if member_id is None else self.member(member_id)

    def members(self, member_ids: Iterable[int | None]) -> dict[int, str]:
        """The refs of these people (one query for those not named before)."""
        wanted = {m for m in member_ids if m is not None}
        self.prefetch(wanted)
        return {m: self._refs[m] for m in wanted}

    def prefetch(self, member_ids: Iterable[int]) -> None:
        missing = sorted({m for m in member_ids if m not in self._refs})
        for start in range(0, len(missing), 5000):
            chunk = missing[start : start + 5000]
            query = select(
                Member.id, Member.jira_account_id, Member.slack_team_id, Member.slack_user_id
            ).where(Member.id.in_(chunk))
            for member_id, jira, slack_team, slack_user in self.session.execute(query):
                self._name(member_id, person_identity(jira, slack_team, slack_user, member_id))
        for member_id in missing:
            if member_id not in self._refs:  # forgotten meanwhile: still a distinct, stable name
                self._name(member_id, f"member:{member_id}")

    def _name(self, member_id: int, identity: str) -> None:
        ref = f"{self.team}:{identity}"
        self._refs[member_id] = ref
        self._ids[ref] = member_id

    def member_id(self, ref: str | None) -> int | None:
        """The member a ref names (None for team-level drafts and for people not named here)."""
        return None if ref is None else self._ids.get(ref)

    def sprint(self, jira_id: int | None, name: str) -> str:
        return sprint_ref_of(self.team, jira_id, name)


# -- for callers that only need a ref's shape, not a stored key ------------------------------------------


def member_ref(team_id: int, member_id: int) -> str:
    """A throwaway ref for a scope that is never stored as a key (the goal-confirmation check)."""
    return f"{team_id}:{member_id}"


def sprint_ref(sprint_id: int) -> str:
    """A throwaway ref for a scope that is never stored as a key (the goal-confirmation check)."""
    return str(sprint_id)
