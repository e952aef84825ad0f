"""The ``sprintwins`` command."""

from __future__ import annotations

import io
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import click

from service.cli.common import settings_or_exit, transaction
from service.domain.terminal import terminal_safe
from service.settings import Settings, SettingsError


@click.group()
@click.version_option(package_name="sprintwins")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Sprint Wins: turn a team's real progress into celebrated wins."""
    # Every command prints user text (ticket titles, names, Slack messages): filtered here, once,
    # on the way out, so no command can forget it. Restored when the command ends (tests reuse sys).
    original = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalSafe(sys.stdout), TerminalSafe(sys.stderr)

    def restore() -> None:
        sys.stdout, sys.stderr = original

    ctx.call_on_close(restore)


class TerminalSafe(io.TextIOBase):
    """A text stream that drops terminal controls from what is written (``terminal_safe``)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(terminal_safe(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._stream.errors


# -- running ---------------------------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers", type=int, default=None, help="gunicorn worker processes [default: 2 x cores; 1 embedded]"
)
@click.option("--threads", type=int, default=6, show_default=True, help="threads per worker")
def serve(host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve the webhooks, the Slack endpoints and the JSON API with gunicorn."""
    from service.cli.serve import run_gunicorn

    settings = settings_or_exit()
    try:
        settings.require_production_secrets()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    if settings.is_sqlite:
        _upgrade(settings, quiet=True)
    if workers is None:
        # In-process jobs and SQLite want one process. In production, several threads per process
        # let concurrent deliveries share commits; 4 x 6 measured best on 2 cores, for throughput
        # and for latency at a fixed rate (docs/benchmarks.md).
        workers = 1 if settings.in_process_jobs else 2 * (os.cpu_count() or 1)
    click.echo(f"Sprint Wins on http://{host}:{port}  ({_mode(settings)})", err=True)
    run_gunicorn(
        host=host, port=port, workers=workers, threads=threads, max_body_bytes=settings.max_body_bytes
    )


def _mode(settings: Settings) -> str:
    storage = "SQLite" if settings.is_sqlite else "PostgreSQL"
    jobs = "in-process jobs" if settings.in_process_jobs else "RQ jobs on Redis"
    return f"{storage}, {jobs}"


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option(
    "--fork/--no-fork", default=False, show_default=True, help="Fork a process per job (RQ's Worker)."
)
def worker(burst: bool, fork: bool) -> None:
    """Run an RQ worker: sweeps the inbox at start-up, then processes jobs."""
    from jobs.worker import run_worker

    settings = settings_or_exit()
    if settings.in_process_jobs:
        raise click.ClickException(
            "SPRINTWINS_REDIS_URL is not set: in the embedded mode jobs run inside `serve`"
        )
    run_worker(settings, burst=burst, fork=fork)


@main.command()
def scheduler() -> None:
    """Run the scheduler: enqueues periodic work (the inbox sweep) once per period."""
    from jobs.schedule import run_scheduler

    settings = settings_or_exit()
    if settings.in_process_jobs:
        raise click.ClickException("SPRINTWINS_REDIS_URL is not set: the scheduler needs Redis")
    run_scheduler(settings)


# -- database --------------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True, help="Alembic revision to upgrade to.")
def db_upgrade(revision: str) -> None:
    """Apply migrations (SQLite or PostgreSQL)."""
    _upgrade(settings_or_exit(), revision=revision)


@db.command("current")
def db_current() -> None:
    """Show the schema revision."""
    from service import migrate
    from service.db import Database

    database = Database(settings_or_exit().database_url)
    click.echo(migrate.current_revision(database) or "(empty database)")


def _upgrade(settings: Settings, revision: str = "heads", quiet: bool = False) -> None:
    from service import migrate
    from service.db import Database

    database = Database(settings.database_url)
    try:
        migrate.upgrade(database, revision)
        if not quiet:
            click.echo(f"database at revision {migrate.current_revision(database)}")
    finally:
        database.dispose()


# -- events and inbox ------------------------------------------------------------------------------------


@main.group()
def events() -> None:
    """Webhook payloads."""


@events.command("replay")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--url", help="Webhook URL [default: $SPRINTWINS_PUBLIC_URL/webhooks/jira]")
@click.option(
    "--secret",
    envvar="SPRINTWINS_JIRA_WEBHOOK_SECRET",
    help="Signing secret [$SPRINTWINS_JIRA_WEBHOOK_SECRET]",
)
def events_replay(files: tuple[Path, ...], url: str | None, secret: str | None) -> None:
    """Sign Jira payload files and POST them to a running server, one delivery each."""
    from service.cli.replay import replay_files

    target = url or settings_or_exit().public_url.rstrip("/") + "/webhooks/jira"
    results = replay_files(list(files), target, secret, echo=click.echo)
    failed = [r for r in results if not 200 <= r.status < 300]
    click.echo(f"{len(results) - len(failed)} of {len(results)} accepted by {target}")
    if failed:
        sys.exit(1)


@main.group("inbox")
def inbox_group() -> None:
    """The durable inbox of webhook deliveries."""


@inbox_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def inbox_status(as_json: bool) -> None:
    """Counts by state, and the age of the oldest unprocessed delivery."""
    from service.intake import inbox

    with transaction() as session:
        result = inbox.status(session)
    age = result.oldest_pending_age_seconds(datetime.now(UTC))
    if as_json:
        click.echo(json.dumps({"counts": result.counts, "oldest_pending_age_seconds": age}))
        return
    for state, count in result.counts.items():
        click.echo(f"{state:<10} {count}")
    click.echo("oldest pending: " + ("none" if age is None else f"{age:.0f} s ago"))


@inbox_group.command("sweep")
def inbox_sweep() -> None:
    """Enqueue every pending delivery now (the worker and scheduler also do this)."""
    from jobs import runtime
    from jobs.inbox import sweep_inbox
    from jobs.queue import InProcessJobQueue

    rt = runtime.install(runtime.Runtime.from_settings(settings_or_exit()))
    result = sweep_inbox()
    if isinstance(rt.queue, InProcessJobQueue):
        rt.queue.wait_idle(timeout=600)
    click.echo(f"{result['pending']} pending deliveries in {result['batches']} batches enqueued")


# -- demo ------------------------------------------------------------------------------------------------


@main.command()
@click.option("--port", default=8000, show_default=True, type=int, help="Port for the demo's server.")
@click.option("--exit", "exit_after", is_flag=True, help="Stop the server once the demo has played.")
def demo(port: int, exit_after: bool) -> None:
    """Start the service and play a team's last four weeks through it: signed Jira webhooks, kudos
    and cheers; then print its streaks, badges, milestones, challenges and this week's digest.

    Needs no Postgres, Redis or Slack (SQLite and in-process jobs unless SPRINTWINS_* says otherwise).
    Uses SPRINTWINS_JIRA_WEBHOOK_SECRET when set, else makes one up, and prints it.
    """
    from service.cli.demo import run_demo

    run_demo(port=port, exit_after=exit_after, echo=click.echo)


def _register_command_groups() -> None:
    """Command groups that live in their own modules, added to ``main`` here."""
    # -- more command groups (one import + add_command line each) --
    from service.cli.teams import team

    main.add_command(team)  # before the progress commands, which add ``team holiday`` to it
    from service.cli.progress import register as register_progress_commands

    register_progress_commands(main)  # recompute, rules, challenge, member, team holiday
    from service.cli.backfill import backfill

    main.add_command(backfill)
    from service.cli.digest import digest

    main.add_command(digest)
    from service.cli.inbox import inbox_failed, inbox_retry

    inbox_group.add_command(inbox_failed)
    inbox_group.add_command(inbox_retry)
    from service.cli.settings_doc import settings_group

    main.add_command(settings_group)
    from service.cli.inbox_prune import inbox_prune

    inbox_group.add_command(inbox_prune)
    from service.cli.workspaces import workspace

    main.add_command(workspace)
    from service.cli.jira_sites import jira

    main.add_command(jira)
    from service.cli.tokens import token_group

    main.add_command(token_group)  # sprintwins token create | list | revoke
    from service.cli.share_links import share_group

    main.add_command(share_group)  # sprintwins share create | list | revoke


_register_command_groups()

if __name__ == "__main__":
    main()
