"""What recording a batch of events did: the counts a job reports and the follow-up work it asks for."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecordStats:
    completed: int = 0
    retracted: int = 0
    stale: int = 0
    sprint_events: int = 0
    touched_teams: set[int] = field(default_factory=set)  # teams whose wins or tickets changed
    closed_sprint_ids: set[int] = field(default_factory=set)  # our sprint ids closed by this batch
    # Issues another worker's open batch holds: their events stay in the inbox for a later batch.
    deferred_issue_keys: set[str] = field(default_factory=set)

    def add(self, other: RecordStats) -> None:
        """Count another recorder's batch in (the workspaces of one inbox batch)."""
        self.completed += other.completed
        self.retracted += other.retracted
        self.stale += other.stale
        self.sprint_events += other.sprint_events
        self.touched_teams |= other.touched_teams
        self.closed_sprint_ids |= other.closed_sprint_ids
        self.deferred_issue_keys |= other.deferred_issue_keys
