"""``sprintwins workspace create | list``, and the ``--workspace SLUG`` option other commands share.

A workspace is the root of an organisation's data. Without ``--workspace`` a command works in the
implicit workspace, the one the embedded default and single-workspace Slack mode use.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from service.cli.common import transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Command = TypeVar("Command", bound=Callable[..., Any])


def workspace_option(command: Command) -> Command:
    """``--workspace SLUG``: which workspace's teams, people and history the command works on."""
    return click.option(
        "--workspace",
        "workspace_slug",
        metavar="SLUG",
        default=None,
        help="The workspace to work in [default: the implicit workspace].",
    )(command)


def workspace_id_of(session: Session, slug: str | None) -> int:
    """The id of the workspace a command names; an unknown slug ends the command with its message."""
    from service.models import DEFAULT_WORKSPACE_ID
    from service.workspaces.registry import WorkspaceError, get_workspace

    if slug is None:
        return DEFAULT_WORKSPACE_ID
    try:
        return get_workspace(session, slug).id
    except WorkspaceError as error:
        raise click.ClickException(str(error)) from None


@click.group()
def workspace() -> None:
    """Workspaces: the root of each organisation's teams, people and history."""


@workspace.command("create")
@click.argument("slug")
@click.option("--name", help="What people call the workspace [default: the slug].")
def workspace_create(slug: str, name: str | None) -> None:
    """Create a workspace; SLUG is its short name (lower-case letters, digits and dashes)."""
    from service.workspaces.registry import WorkspaceError, create_workspace

    try:
        with transaction() as session:
            made = create_workspace(session, slug, name)
            click.echo(f"created workspace {made.slug} ({made.name})")
    except WorkspaceError as error:
        raise click.ClickException(str(error)) from None


@workspace.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of one line per workspace.")
def workspace_list(as_json: bool) -> None:
    """List the workspaces: slug, name and Slack workspace."""
    from service.workspaces.registry import list_workspaces

    with transaction() as session:
        rows = [
            {"slug": w.slug, "name": w.name, "slack_team_id": w.slack_team_id}
            for w in list_workspaces(session)
        ]
    if as_json:
        click.echo(json.dumps({"workspaces": rows}, indent=2))
        return
    for row in rows:
        click.echo(f"{row['slug']:<24} {row['name']:<30} slack={row['slack_team_id'] or '-'}")
