"""``sprintwins digest preview|run <team>``: see a team's digest now, or post it now."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from service.settings import Settings, SettingsError

PERIODS = ("week", "day", "sprint")


@click.group("digest")
def digest() -> None:
    """Celebration digests: preview one, or post it now."""


@digest.command("preview")
@click.argument("team")
@click.option("--period", type=click.Choice(PERIODS), default="week", show_default=True)
def preview(team: str, period: str) -> None:
    """Print TEAM's digest for this week (Monday to Sunday), today or the current sprint.

    Nothing is posted or stored. It lists what the team's rules count, leading with the sprints'
    progress.
    """
    from service.db import Database
    from service.digests.build import compose_for_period, period_for_run
    from service.domain.digest_blocks import render_console
    from service.domain.digest_periods import RunPeriod
    from service.teams.registry import TeamError, get_team

    settings = _settings()
    database = Database(settings.database_url)
    now = datetime.now(UTC)
    try:
        with database.sessions() as session:
            found = get_team(session, team)
            window = period_for_run(session, found, RunPeriod(period), now)
            composed = compose_for_period(session, found, window, now=now, post_when_empty=True)
    except (TeamError, LookupError) as error:
        raise click.ClickException(str(error)) from None
    finally:
        database.dispose()
    assert composed is not None  # post_when_empty always composes
    click.echo(render_console(composed), nl=False)


@digest.command("run")
@click.argument("team")
@click.option("--period", type=click.Choice(PERIODS), default="week", show_default=True)
def run(team: str, period: str) -> None:
    """Post TEAM's digest now to its linked channels; without Slack, render it here and store it.

    Once per period and channel: running it again reports what was posted.
    """
    from jobs import runtime
    from jobs.digests import DigestInProgress, run_digest_now
    from service.domain.digest_periods import RunPeriod
    from service.teams.registry import TeamError, get_team

    rt = runtime.install(runtime.Runtime.from_settings(_settings()))
    try:
        with rt.database.sessions() as session:
            team_id = get_team(session, team).id
        outcomes = run_digest_now(team_id, RunPeriod(period))
    except (TeamError, LookupError, DigestInProgress) as error:
        raise click.ClickException(str(error)) from None
    finally:
        runtime.reset()
    failed = False
    for outcome in outcomes:
        if outcome.rendered is not None:
            click.echo(outcome.rendered, nl=False)
            click.echo(f"(Slack is not configured: digest {outcome.digest_id} rendered and stored)")
        elif outcome.state == "posted":
            click.echo(f"posted to {outcome.channel_id} (ts {outcome.ts})")
        else:
            failed = True
            click.echo(f"{outcome.state} for {outcome.channel_id}: {outcome.error or ''}".rstrip(": "))
    if failed:
        raise SystemExit(1)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
