"""Which teams a dashboard viewer may see: today every team of the install.

Workspaces and sign-in will narrow this; every page and the export ask here, so that change is one edit.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.models import Team
from service.teams import registry


def teams_in_view(session: Session) -> list[Team]:
    return registry.list_teams(session)


def team_in_view(session: Session, slug: str) -> Team | None:
    """The team named ``slug`` if the viewer may see it; ``None`` both when it does not exist and when it
    is not theirs, so a page never tells the two apart."""
    try:
        team = registry.get_team(session, slug)
    except registry.TeamError:
        return None
    return team if team.id in {t.id for t in teams_in_view(session)} else None
