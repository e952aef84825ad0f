"""Persistence models. Import from here so every table is registered on the metadata."""

from service.models.base import Base, utcnow

# -- more model modules (imported for their tables; one line each) --
from service.models.digests import DigestKind, DigestState, StoredDigest  # noqa: F401
from service.models.inbox import InboundEvent, InboxState
from service.models.progress import (  # noqa: F401
    ChallengeRow,
    SprintTallyRow,
    StreakFreezeDay,
    StreakStat,
    TeamHoliday,
)
from service.models.scope import JiraPointsField, SprintScopeItem, SprintScopeSource  # noqa: F401
from service.models.slack import ChannelLink, Cheer, SlackPost  # noqa: F401
from service.models.teams import Member, Team, TeamSource
from service.models.wins import Win
from service.models.work import Sprint, Ticket, sprint_tickets
from service.models.workspaces import (
    DEFAULT_WORKSPACE_ID,
    DEFAULT_WORKSPACE_SLUG,
    ApiToken,
    JiraSite,
    ShareLink,
    Workspace,
)

__all__ = [
    "DEFAULT_WORKSPACE_ID",
    "DEFAULT_WORKSPACE_SLUG",
    "ApiToken",
    "Base",
    "InboundEvent",
    "InboxState",
    "JiraSite",
    "Member",
    "ShareLink",
    "Sprint",
    "Team",
    "TeamSource",
    "Ticket",
    "Win",
    "Workspace",
    "sprint_tickets",
    "utcnow",
]
