"""Persistence models. Import from here so every table is registered on the metadata."""

from service.models.base import Base, utcnow
from service.models.inbox import InboundEvent, InboxState
from service.models.teams import Member, Team, TeamSource
from service.models.wins import Win
from service.models.work import Sprint, Ticket, sprint_tickets

# -- more model modules (imported for their tables; one line each) --

__all__ = [
    "Base",
    "InboundEvent",
    "InboxState",
    "Member",
    "Sprint",
    "Team",
    "TeamSource",
    "Ticket",
    "Win",
    "sprint_tickets",
    "utcnow",
]
