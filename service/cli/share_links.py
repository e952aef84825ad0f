"""``sprintwins share create | list | revoke``: read-only links to one team's page, for wall displays.

A link is printed once, when it is made, alone on standard output (so ``URL=$(sprintwins share create
acme orb)`` keeps it) with the advice on standard error; only its token's hash is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from service.cli.common import iso_seconds, run_refusing, settings_or_exit, short_time

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from service.workspaces.share_links import IssuedLink, ListedLink

T = TypeVar("T")
SHARE_PATH = "/share/"


def _run(action: Callable[[Session], T]) -> T:
    """Run ``action`` in one transaction; an unknown workspace, team or link ends the command (exit 1)."""
    from service.teams.registry import TeamError
    from service.workspaces.registry import WorkspaceError
    from service.workspaces.share_links import ShareLinkError

    return run_refusing(action, (WorkspaceError, TeamError, ShareLinkError))


@click.group("share")
def share_group() -> None:
    """Share links: a team's dashboard page, read-only, for a wall display, with no need to sign in."""


@share_group.command("create")
@click.argument("workspace")
@click.argument("team_slug", metavar="TEAM")
@click.option(
    "--expires", default="30d", show_default=True, help="How long it works: 12h, 30d, 8w; at most 365d."
)
@click.option("--name", default="", help="Where it is shown, e.g. 'office tv'.")
def share_create(workspace: str, team_slug: str, expires: str, name: str) -> None:
    """Make a link to TEAM's page in WORKSPACE (their slugs) and print it, once."""
    from service.workspaces import registry, share_links

    try:
        lifetime = share_links.parse_lifetime(expires)
    except share_links.ShareLinkError as error:
        raise click.BadParameter(str(error), param_hint="--expires") from None

    def create(session: Session) -> IssuedLink:
        owner = registry.get_workspace(session, workspace)
        return share_links.create_link(session, owner.id, team_slug, name=name, lifetime=lifetime)

    issued = _run(create)
    click.echo(settings_or_exit().public_url.rstrip("/") + SHARE_PATH + issued.token)
    click.echo(
        f"Share link {issued.id} to team {issued.team_slug!r} of workspace {workspace!r}, read-only, "
        f"until {iso_seconds(issued.expires_at)}. Anyone with it sees that team's page: "
        "it is shown only now. "
        f"`sprintwins share revoke {issued.id}` ends it.",
        err=True,
    )


@share_group.command("list")
@click.argument("workspace")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of one line per link.")
def share_list(workspace: str, as_json: bool) -> None:
    """List WORKSPACE's share links: id, team, name, expires, last used, revoked (never the link)."""
    from service.workspaces import registry, share_links

    def listed(session: Session) -> list[dict[str, Any]]:
        found = share_links.list_links(session, registry.get_workspace(session, workspace).id)
        return [_shown(row) for row in found]

    rows = _run(listed)
    if as_json:
        click.echo(json.dumps({"workspace": workspace, "share_links": rows}, indent=2))
        return
    if not rows:
        click.echo(
            f"No share links in {workspace!r} yet: `sprintwins share create {workspace} TEAM` makes one."
        )
    for row in rows:
        click.echo(
            f"{row['id']:>5}  {row['team']:<16}  expires {short_time(row['expires_at'])}  "
            f"last used {short_time(row['last_used_at'])}  revoked {short_time(row['revoked_at'])}  "
            f"{row['name'] or '-'}"
        )


@share_group.command("revoke")
@click.argument("link_id", type=click.IntRange(min=1, max=2**31 - 1), metavar="ID")
def share_revoke(link_id: int) -> None:
    """Revoke share link ID for good (as `share list` shows it): every screen showing it loses it at once."""
    from service.workspaces import share_links

    def revoke(session: Session) -> tuple[bool, str]:
        row, revoked_now = share_links.revoke_link(session, link_id)
        return revoked_now, iso_seconds(row.revoked_at) or ""

    revoked_now, when = _run(revoke)
    if revoked_now:
        click.echo(f"Share link {link_id} revoked.")
    else:
        click.echo(f"Share link {link_id} was already revoked at {when}.")


def _shown(listed: ListedLink) -> dict[str, Any]:
    row = listed.link
    return {
        "id": row.id,
        "team": listed.team_slug,
        "name": row.name,
        "created_at": iso_seconds(row.created_at),
        "expires_at": iso_seconds(row.expires_at),
        "last_used_at": iso_seconds(row.last_used_at),
        "revoked_at": iso_seconds(row.revoked_at),
    }
