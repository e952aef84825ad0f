"""``sprintwins jira add|list|rotate|remove``: the Jira sites that send each workspace its webhooks.

A secret is printed once, when it is made, and never again: ``list`` shows whether a site has REST
credentials and whether an old secret is still accepted, never the secrets or credentials themselves.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from service.cli.common import settings_or_exit, transaction
from service.settings import PREFIX, Settings, SettingsError

if TYPE_CHECKING:
    from service.workspaces.jira_sites import SecretCipher

_DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhd])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
KEY_ENV = f"{PREFIX}TOKEN_ENCRYPTION_KEY"


@click.group("jira")
def jira() -> None:
    """Jira sites: one webhook URL and secret per site, each landing in its workspace."""


@jira.command("add")
@click.argument("workspace")
@click.option(
    "--url", "base_url", required=True, help="The Jira site's base URL, e.g. https://acme.atlassian.net"
)
@click.option("--email", help="REST reads (sprint scope, backfill), Jira Cloud: the account's email.")
@click.option(
    "--api-token-env",
    metavar="VAR",
    help="The environment variable holding the API token (Cloud, with --email) or, without --email, "
    "a Server/Data Center personal access token. Never pass a token on the command line.",
)
def jira_add(workspace: str, base_url: str, email: str | None, api_token_env: str | None) -> None:
    """Add a Jira site to WORKSPACE (its slug): prints its webhook URL and secret, once."""
    from service.workspaces import jira_sites
    from service.workspaces.registry import WorkspaceError, get_workspace

    settings = settings_or_exit()
    cipher = _cipher(settings)
    token = _token_from_env(api_token_env) if api_token_env else None
    if email and not api_token_env:
        raise click.UsageError("--email needs --api-token-env, the variable that holds its API token")
    try:
        with transaction(settings) as session:
            owner = get_workspace(session, workspace)
            site, secret = jira_sites.add_site(
                session, owner.id, base_url, cipher, rest_email=email, rest_token=token
            )
            key, url, slug = site.key, site.base_url, owner.slug
    except (WorkspaceError, jira_sites.JiraSiteError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Added Jira site {url} to workspace {slug!r}.")
    click.echo("")
    click.echo(f"  Webhook URL: {_webhook_url(settings, jira_sites.webhook_path(key))}")
    click.echo(f"  Secret:      {secret}")
    click.echo("")
    _warn_without_public_url(settings)
    click.echo("The secret is shown only now: it is stored encrypted and cannot be shown again.")
    click.echo(
        "Next: in Jira, Settings > System > WebHooks > Create a WebHook: paste the URL and the secret, "
        "tick the issue and sprint events, and save. Its deliveries then land in this workspace."
    )
    if token is None:
        click.echo(
            "Without REST credentials this workspace's sprint scope is inferred from the webhooks; "
            "add the site again with --email and --api-token-env to read Jira itself."
        )


@jira.command("list")
@click.argument("workspace", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jira_list(workspace: str | None, as_json: bool) -> None:
    """List the Jira sites (of WORKSPACE, or of every workspace), without their secrets."""
    from service.workspaces import jira_sites
    from service.workspaces.registry import WorkspaceError, get_workspace

    settings = settings_or_exit()
    try:
        with transaction(settings) as session:
            workspace_id = get_workspace(session, workspace).id if workspace else None
            rows = [
                jira_sites.site_summary(s, slug) for s, slug in jira_sites.list_sites(session, workspace_id)
            ]
    except WorkspaceError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        sites = [{**row, "webhook_url": _webhook_url(settings, row["webhook_path"])} for row in rows]
        click.echo(json.dumps({"sites": sites}, indent=2))
        return
    if not rows:
        click.echo("No Jira sites yet: add one with `sprintwins jira add <workspace> --url <Jira URL>`.")
    for row in rows:
        grace = row["previous_secret_valid_until"]
        click.echo(
            f"{row['key']:<24} {row['workspace']:<20} {row['base_url']}  "
            f"rest={row['rest_credentials'] or '-'}"
            + (f"  old secret accepted until {grace}" if grace else "")
        )
        click.echo(f"{'':<24} {_webhook_url(settings, row['webhook_path'])}")


@jira.command("rotate")
@click.argument("site_key")
@click.option(
    "--grace",
    default="24h",
    show_default=True,
    help="How long the old secret is still accepted: e.g. 30m, 24h, 7d (at most 30d; 0s ends it now).",
)
def jira_rotate(site_key: str, grace: str) -> None:
    """Give the site SITE_KEY a new secret; prints it once. Update the webhook in Jira within the grace."""
    from service.workspaces import jira_sites

    settings = settings_or_exit()
    cipher = _cipher(settings)
    period = _duration(grace)
    try:
        with transaction(settings) as session:
            site, secret = jira_sites.rotate_secret(session, site_key, cipher, period)
            until = site.previous_valid_until
    except jira_sites.JiraSiteError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"  New secret: {secret}")
    click.echo("")
    click.echo("The secret is shown only now. Next: paste it into the webhook in Jira and save.")
    if until is not None:
        click.echo(f"The old secret is still accepted until {until.isoformat(timespec='seconds')}.")
    else:
        click.echo("The old secret is no longer accepted.")


@jira.command("remove")
@click.argument("site_key")
def jira_remove(site_key: str) -> None:
    """Remove the site SITE_KEY: its webhook URL answers 404. Wins already recorded stay."""
    from service.workspaces import jira_sites

    try:
        with transaction() as session:
            site = jira_sites.remove_site(session, site_key)
            url = site.base_url
    except jira_sites.JiraSiteError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Removed Jira site {url}; running servers refuse its deliveries within 30 seconds. "
        "Delete the webhook in Jira too."
    )


# -- helpers ---------------------------------------------------------------------------------------------


def _cipher(settings: Settings) -> SecretCipher:
    from integrations.slack.installation import TokenCipher

    if not settings.token_encryption_key:
        raise click.ClickException(
            f"Jira site secrets are stored encrypted: set {KEY_ENV} (the same key on every process); "
            'make one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        )
    try:
        return TokenCipher(settings.token_encryption_key)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _token_from_env(variable: str) -> str:
    token = os.environ.get(variable, "").strip()
    if not token:
        raise click.ClickException(f"the environment variable {variable} (--api-token-env) is unset or empty")
    return token


def _duration(text: str) -> timedelta:
    found = _DURATION.match(text)
    if found is None:
        raise click.BadParameter("give a number and a unit, e.g. 30m, 24h or 7d", param_hint="--grace")
    return timedelta(seconds=int(found[1]) * _SECONDS[found[2]])


def _webhook_url(settings: Settings, path: str) -> str:
    return settings.public_url.rstrip("/") + path


def _warn_without_public_url(settings: Settings) -> None:
    default = next(f.default for f in dataclasses.fields(Settings) if f.name == "public_url")
    if settings.public_url == default:
        click.echo(
            f"{PREFIX}PUBLIC_URL is not set, so the URL above starts with {default}: "
            "use the address at which Jira reaches this service instead."
        )
