"""Which teams a dashboard viewer may see: the teams of the viewer's workspace.

Every page and the export ask here, with the workspace the access check gave the request
(``service.web.access``), so what a viewer may see is decided in one place.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.models import Team
from service.teams import registry


def teams_in_view(session: Session, *, workspace_id: int) -> list[Team]:
    return registry.list_teams(session, workspace_id=workspace_id)


def team_in_view(session: Session, slug: str, *, workspace_id: int) -> Team | None:
    """The team named ``slug`` if the viewer may see it; ``None`` both when it does not exist and when it
    is another workspace's, so a page never tells the two apart."""
    try:
        return registry.get_team(session, slug, workspace_id=workspace_id)
    except registry.TeamError:
        return None
