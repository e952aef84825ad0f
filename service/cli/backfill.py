"""``sprintwins backfill jira --board N --sprints 6``: a new team's history, imported through Jira REST."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from service.cli.workspaces import workspace_id_of, workspace_option
from service.settings import Settings, SettingsError

if TYPE_CHECKING:
    from rich.progress import TaskID

    from integrations.jira.rest import JiraSite
    from service.db import Database


@click.group()
def backfill() -> None:
    """Import history so a new team's wins, progress and digests are not empty on day one."""


@backfill.command("jira")
@click.option("--board", "board_id", type=int, required=True, help="The Jira board id (scrum board).")
@click.option(
    "--sprints",
    "sprint_count",
    type=click.IntRange(0, 500),
    default=6,
    show_default=True,
    help="How many of the latest closed sprints to import (the active one always comes too).",
)
@workspace_option
def backfill_jira(board_id: int, sprint_count: int, workspace_slug: str | None) -> None:
    """Import a board's last closed sprints, its active sprint and their issues into a workspace.

    Closed issues become ticket wins dated when they were resolved; sprints become sprint wins.
    Running it again changes nothing. Jira's rate limits are respected: the client waits and
    retries on HTTP 429 (SPRINTWINS_JIRA_MAX_RETRIES, SPRINTWINS_JIRA_MAX_RETRY_DELAY_SECONDS).
    """
    # Imported here: every `sprintwins` command loads this module, few of them need Jira or rich.
    from jira import JIRAError

    from integrations.jira import rest
    from jobs.backfill import backfill_board
    from service.db import Database

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    database = Database(settings.database_url)
    try:
        workspace_id, site = _workspace_and_site(database, settings, workspace_slug)
    except BaseException:
        database.dispose()
        raise
    client = rest.connect(site)
    try:
        with _ProgressBar() as bar:
            report = backfill_board(
                database,
                client,
                site.site,
                board_id,
                sprint_count,
                configured_points_field=settings.story_points_field,
                progress=bar,
                workspace_id=workspace_id,
            )
    except JIRAError as error:
        raise click.ClickException(f"Jira answered {error.status_code}: {error.text or error}") from None
    finally:
        client.close()  # type: ignore[no-untyped-call]  # the jira library leaves it unannotated
        database.dispose()
    click.echo(
        f"board {board_id}: {len(report.sprints)} sprints, {report.issues_seen} issues seen, "
        f"{report.issues_recorded} recorded, {report.ticket_wins} ticket wins, "
        f"{report.sprint_events_recorded} sprint events, {report.scope_rows_changed} scope rows changed"
    )
    click.echo(f"story points field: {report.points_field or 'none (counting issues)'}")
    click.echo(f"teams: {', '.join(report.teams) or '-'}")
    if not report.changed_anything:
        click.echo("nothing new: everything was already imported")


def _workspace_and_site(database: Database, settings: Settings, slug: str | None) -> tuple[int, JiraSite]:
    """The workspace to import into, and the Jira site to read: the workspace's own (``jira add``)."""
    from jobs.scope import rest_site_for_workspace
    from service import migrate
    from service.workspaces.jira_sites import SecretsUnreadable

    if settings.is_sqlite:
        migrate.upgrade(database)  # the embedded default: as `serve` does, so a fresh clone just works
    with database.sessions() as session:
        workspace_id = workspace_id_of(session, slug)
        try:
            site = rest_site_for_workspace(session, settings, workspace_id)
        except SecretsUnreadable as error:
            raise click.ClickException(str(error)) from None
    if site is None:
        raise click.ClickException(
            "backfill needs Jira REST: `sprintwins jira add <workspace> --url URL --email E "
            "--api-token-env VAR` gives a workspace its site's credentials; the implicit workspace may use "
            "SPRINTWINS_JIRA_URL and either SPRINTWINS_JIRA_EMAIL + SPRINTWINS_JIRA_API_TOKEN (Cloud) or "
            "SPRINTWINS_JIRA_PAT (Server/Data Center)"
        )
    return workspace_id, site


class _ProgressBar:
    """rich's progress bar, one step per sprint; on a non-terminal it prints its final state once."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("sprints"),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
        )
        self._task: TaskID | None = None

    def __enter__(self) -> _ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def planned(self, sprints: int) -> None:
        self._task = self._progress.add_task("Importing sprints", total=sprints)

    def sprint_done(self, name: str, issues: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, advance=1, description=f"{name} ({issues} issues)")
