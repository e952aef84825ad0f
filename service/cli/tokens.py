"""``sprintwins token create | list | revoke``: the API tokens of a workspace.

A token is printed once, when it is made, alone on standard output (so ``TOKEN=$(sprintwins token
create acme)`` keeps it) with the advice on standard error; only its hash is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from service.cli.common import iso_seconds, run_refusing, short_time

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from service.models import ApiToken

T = TypeVar("T")


def _run(action: Callable[[Session], T]) -> T:
    """Run ``action`` in one transaction; an unknown workspace or token ends the command (exit 1)."""
    from service.workspaces.registry import WorkspaceError
    from service.workspaces.tokens import TokenError

    return run_refusing(action, (WorkspaceError, TokenError))


@click.group("token")
def token_group() -> None:
    """API tokens: each reads (or, made with --write, also changes) one workspace through /api/v1."""


@token_group.command("create")
@click.argument("workspace")
@click.option("--write", "can_write", is_flag=True, help="Let the token change rules and challenges too.")
@click.option("--name", default="", help="What the token is for, e.g. 'ci' or 'grafana'.")
def token_create(workspace: str, can_write: bool, name: str) -> None:
    """Make a token for WORKSPACE (its slug) and print it, once."""
    from service.workspaces import registry, tokens

    def create(session: Session) -> tokens.IssuedToken:
        return tokens.create_token(
            session, registry.get_workspace(session, workspace).id, name=name, can_write=can_write
        )

    issued = _run(create)
    click.echo(issued.secret)
    click.echo(
        f"Token {issued.id} ({tokens.scope_name(issued.can_write)}) for workspace {workspace!r}. "
        "It is shown only now: store it. Send it as 'Authorization: Bearer <token>'; "
        f"`sprintwins token revoke {issued.id}` ends it.",
        err=True,
    )


@token_group.command("list")
@click.argument("workspace")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of one line per token.")
def token_list(workspace: str, as_json: bool) -> None:
    """List WORKSPACE's tokens: id, name, scope, created, last used, revoked (never the token)."""
    from service.workspaces import registry, tokens

    def listed(session: Session) -> list[dict[str, Any]]:
        found = tokens.list_tokens(session, registry.get_workspace(session, workspace).id)
        return [_shown(row) for row in found]

    rows = _run(listed)
    if as_json:
        click.echo(json.dumps({"workspace": workspace, "tokens": rows}, indent=2))
        return
    if not rows:
        click.echo(f"No tokens in {workspace!r} yet: `sprintwins token create {workspace}` makes one.")
    for row in rows:
        click.echo(
            f"{row['id']:>5}  {row['scope']:<10}  created {short_time(row['created_at'])}  "
            f"last used {short_time(row['last_used_at'])}  revoked {short_time(row['revoked_at'])}  "
            f"{row['name'] or '-'}"
        )


@token_group.command("revoke")
@click.argument("token_id", type=click.IntRange(min=1, max=2**31 - 1), metavar="ID")
def token_revoke(token_id: int) -> None:
    """Revoke token ID for good (as `token list` shows it): it stops working at once."""
    from service.workspaces import tokens

    def revoke(session: Session) -> tuple[bool, str]:
        row, revoked_now = tokens.revoke_token(session, token_id)
        return revoked_now, iso_seconds(row.revoked_at) or ""

    revoked_now, when = _run(revoke)
    if revoked_now:
        click.echo(f"Token {token_id} revoked.")
    else:
        click.echo(f"Token {token_id} was already revoked at {when}.")


def _shown(row: ApiToken) -> dict[str, Any]:
    from service.workspaces.tokens import scope_name

    return {
        "id": row.id,
        "name": row.name,
        "scope": scope_name(row.can_write),
        "created_at": iso_seconds(row.created_at),
        "last_used_at": iso_seconds(row.last_used_at),
        "revoked_at": iso_seconds(row.revoked_at),
    }
