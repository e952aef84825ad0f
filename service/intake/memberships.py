"""Which sprints each ticket of a batch is in: read once, changed in memory, written once."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from service.domain.events import IssueChanged, SprintRef
from service.intake.rows import RowDict
from service.intake.sprint_recorder import SprintRecorder
from service.models import sprint_tickets
from service.models.upsert import insert_ignoring_conflicts


class Memberships:
    def __init__(self, session: Session, sprints: SprintRecorder, tickets: dict[str, RowDict]) -> None:
        self.sprints = sprints
        self.session = session
        ids = [t["id"] for t in tickets.values()]
        self.current: dict[int, set[int]] = {i: set() for i in ids}
        query = select(sprint_tickets.c.ticket_id, sprint_tickets.c.sprint_id).where(
            sprint_tickets.c.ticket_id.in_(ids)
        )
        for ticket_id, sprint_id in self.session.execute(query):
            self.current[ticket_id].add(sprint_id)
        self.wanted = {i: set(v) for i, v in self.current.items()}
        self.by_jira_id: dict[int, int] = {}

    def apply(self, ticket: RowDict, event: IssueChanged) -> None:
        if event.sprints is None and event.sprint_move is None:
            return
        team_id = ticket["team_id"]
        wanted = self.wanted[ticket["id"]]
        if event.sprints is not None:
            wanted.clear()
            wanted.update(self._sprint_id(ref, team_id) for ref in event.sprints if ref.jira_id is not None)
        move = event.sprint_move
        if move is not None:
            wanted.update(self._sprint_id(SprintRef(jira_id=i), team_id) for i in move.added_ids)
            wanted.update(self.sprints.sprint_by_name(name, team_id).id for name in move.added_names)
            wanted.difference_update(self._sprint_id(SprintRef(jira_id=i), team_id) for i in move.removed_ids)
            wanted.difference_update(self.sprints.sprint_by_name(n, team_id).id for n in move.removed_names)

    def _sprint_id(self, ref: SprintRef, team_id: int) -> int:
        assert ref.jira_id is not None
        if ref.jira_id not in self.by_jira_id:  # once per sprint per batch
            self.by_jira_id[ref.jira_id] = self.sprints.sprint_for_ref(ref, team_id).id
        return self.by_jira_id[ref.jira_id]

    def write(self) -> set[int]:
        """Write the changes; returns the sprints whose tickets changed."""
        removed = [
            {"s": sprint_id, "t": ticket_id}
            for ticket_id, sprints in self.current.items()
            for sprint_id in sorted(sprints - self.wanted[ticket_id])
        ]
        added = [
            {"sprint_id": sprint_id, "ticket_id": ticket_id}
            for ticket_id, sprints in self.wanted.items()
            for sprint_id in sorted(sprints - self.current[ticket_id])
        ]
        if removed:
            self.session.execute(
                delete(sprint_tickets).where(
                    sprint_tickets.c.sprint_id == bindparam("s"), sprint_tickets.c.ticket_id == bindparam("t")
                ),
                removed,
            )
        insert_ignoring_conflicts(self.session, sprint_tickets, added, ["sprint_id", "ticket_id"])
        return {r["s"] for r in removed} | {r["sprint_id"] for r in added}

    def sprints_of(self, ticket_ids: set[int]) -> set[int]:
        return {sprint_id for ticket_id in ticket_ids for sprint_id in self.wanted.get(ticket_id, ())}
