"""``sprintwins team ...``: list, create, rename; claim Jira projects or boards; set channel and zone.

Every command works inside one workspace (``--workspace SLUG``, by default the implicit one): a slug
names a team only within its workspace.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from service.cli.common import transaction
from service.cli.workspaces import workspace_id_of, workspace_option

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@click.group()
def team() -> None:
    """Teams: list, create, rename, attach projects or boards, set channel and time zone."""


@team.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of one line per team.")
@workspace_option
def team_list(as_json: bool, workspace_slug: str | None) -> None:
    """List the workspace's teams: slug, name, Jira projects, time zone and Slack channel."""
    from service.teams import registry as teams

    with transaction() as session:
        workspace_id = workspace_id_of(session, workspace_slug)
        rows = [teams.team_summary(t) for t in teams.list_teams(session, workspace_id=workspace_id)]
    if as_json:
        click.echo(json.dumps({"teams": rows}, indent=2))
        return
    if not rows:
        click.echo("No teams yet: one appears for each Jira project that sends an event.")
    for row in rows:
        projects = ", ".join(row["jira_projects"]) or "-"
        click.echo(
            f"{row['slug']:<20} {row['name']:<30} projects={projects} tz={row['timezone']} "
            f"channel={row['slack_channel'] or '-'}"
        )


def _team_command(workspace_slug: str | None, action: Callable[[Session, int], object]) -> None:
    """Run ``action(session, workspace id)`` in one transaction and print what it returns."""
    from service.teams.registry import TeamError

    try:
        with transaction() as session:
            result = action(session, workspace_id_of(session, workspace_slug))
            click.echo(result)
    except TeamError as error:
        raise click.ClickException(str(error)) from None


@team.command("create")
@click.argument("slug")
@click.option("--name", help="What people call the team [default: the slug].")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone, e.g. Europe/Berlin.")
@workspace_option
def team_create(slug: str, name: str | None, timezone: str, workspace_slug: str | None) -> None:
    """Create a team of your own; SLUG is its short name in commands and URLs (e.g. web)."""
    from service.teams import registry as teams

    _team_command(
        workspace_slug,
        lambda s, ws: f"created team {teams.create_team(s, slug, name, timezone, workspace_id=ws).slug}",
    )


@team.command("rename")
@click.argument("slug")
@click.argument("name")
@workspace_option
def team_rename(slug: str, name: str, workspace_slug: str | None) -> None:
    """Give the team SLUG a new display NAME (its slug stays)."""
    from service.teams import registry as teams

    _team_command(
        workspace_slug,
        lambda s, ws: f"{slug} is now called {teams.rename_team(s, slug, name, workspace_id=ws).name!r}",
    )


@team.command("attach")
@click.argument("slug")
@click.argument("key")
@click.option("--board", is_flag=True, help="KEY is a Jira board id rather than a project key.")
@workspace_option
def team_attach(slug: str, key: str, board: bool, workspace_slug: str | None) -> None:
    """Claim a Jira project (or board) for a team; its history moves with it."""
    from service.teams import registry as teams

    kind = "board" if board else "project"

    def attach(session: Session, workspace_id: int) -> str:
        team = teams.attach(session, slug, kind, key, workspace_id=workspace_id)
        return f"{slug} now claims {', '.join(team.jira_projects) or key}"

    _team_command(workspace_slug, attach)


@team.command("detach")
@click.argument("slug")
@click.argument("key")
@click.option("--board", is_flag=True, help="KEY is a Jira board id rather than a project key.")
@workspace_option
def team_detach(slug: str, key: str, board: bool, workspace_slug: str | None) -> None:
    """Stop claiming a Jira project (or board) for a team; wins already recorded stay."""
    from service.teams import registry as teams

    kind = "board" if board else "project"

    def detach(session: Session, workspace_id: int) -> str:
        teams.detach(session, slug, kind, key, workspace_id=workspace_id)
        return f"{slug} no longer claims {kind} {key}"

    _team_command(workspace_slug, detach)


@team.command("channel")
@click.argument("slug")
@click.argument("channel_id", required=False)
@workspace_option
def team_channel(slug: str, channel_id: str | None, workspace_slug: str | None) -> None:
    """Set (or, with no CHANNEL_ID, clear) the team's Slack channel."""
    from service.teams import registry as teams

    def set_channel(session: Session, workspace_id: int) -> str:
        team = teams.set_channel(session, slug, channel_id, workspace_id=workspace_id)
        return f"{slug} channel: {team.slack_channel or '(none)'}"

    _team_command(workspace_slug, set_channel)


@team.command("timezone")
@click.argument("slug")
@click.argument("tz")
@workspace_option
def team_timezone(slug: str, tz: str, workspace_slug: str | None) -> None:
    """Set the team's time zone (IANA name, e.g. Europe/Berlin): its days, streaks and digests follow it."""
    from service.teams import registry as teams

    _team_command(
        workspace_slug,
        lambda s, ws: f"{slug} time zone: {teams.set_timezone(s, slug, tz, workspace_id=ws).timezone}",
    )
