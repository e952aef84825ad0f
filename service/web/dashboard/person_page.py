"""A person's page: ``/people/<our member id>``: their done list, streak calendar, streaks and badges.

Only people who share their wins have one; someone who opted out, of another workspace, or missing is
the same 404, and everywhere else they are "a teammate". Their "only me" wins are shown to them alone:
``viewer_is`` is the one place that decides whether the viewer is this person.
"""

from __future__ import annotations

from typing import Annotated, Any

from flask import current_app, render_template, request
from pydantic import Field

from service.dashboard import people, scope
from service.models import Member
from service.web.access import workspace_id
from service.web.api_inputs import MAX_MEMBER_ID, validated
from service.web.dashboard.inputs import Cursor, _Query
from service.web.dashboard.pages import bp
from service.web.dashboard.sprint_page import formatting
from service.web.extensions import runtime_of
from service.web.signin import signed_in

_MAX_DIGITS = len(str(MAX_MEMBER_ID))


class PersonQuery(_Query):
    """The person page's done list: a ``cursor`` from its "Older wins" link, and a page ``limit``."""

    cursor: Cursor | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = people.PAGE_SIZE


def member_id_of(raw: str) -> int | None:
    """Our member id a path segment names: ASCII digits within the column's range, else ``None``."""
    if not raw or len(raw) > _MAX_DIGITS or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_MEMBER_ID else None


def viewer_is(member: Member) -> bool:
    """Whether the person viewing is ``member``: then their own "only me" wins are shown, and their page
    exists even if they opted out of being named.

    Only Sign in with Slack says who is reading; a token, a shared screen or a developer's machine says
    only which workspace may be read, so nobody is recognised through them.
    """
    viewer = signed_in()
    return (
        viewer is not None
        and member.workspace_id == viewer.workspace_id
        and member.slack_user_id == viewer.slack_user_id
        and member.slack_team_id in (None, viewer.slack_team_id)
    )


@bp.get("/people/<member_id>")
def person_page(member_id: str) -> str | tuple[str, int]:
    query = validated(PersonQuery, request.args.to_dict(flat=False))
    wanted = member_id_of(member_id)
    with runtime_of(current_app).database.sessions() as session:
        workspace = workspace_id()
        member = people.person_in_view(session, wanted, workspace, include_opted_out=True) if wanted else None
        own = member is not None and viewer_is(member)
        if member is None or (member.sharing_opt_out and not own):
            return render_template("dashboard/person.html", page=None), 404
        teams = scope.teams_in_view(session, workspace_id=workspace)
        page = people.person_page(
            session, member, teams, include_private=own, cursor=query.cursor, limit=query.limit
        )
        filters: dict[str, Any] = {"limit": query.limit} if query.limit != people.PAGE_SIZE else {}
        return render_template(
            "dashboard/person.html",
            page=page,
            own_page=own,
            teams_by_id={t.id: t for t in teams},
            filters=filters,
            first_page=query.cursor is None,
            **formatting(page.zone),
        )
