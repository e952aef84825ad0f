"""``sprintwins recompute | rules | challenge | member | team holiday``: the progress engine's commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.orm import Session

from service.cli.common import transaction
from service.cli.workspaces import workspace_id_of, workspace_option
from service.domain.team_rules import TeamRulesError
from service.progress import admin as progress_admin
from service.teams import registry as teams

if TYPE_CHECKING:
    from service.models import Member


def _run(action: Callable[[Session], Any]) -> Any:
    """Run ``action`` in one transaction; domain refusals become clear CLI errors (exit 1)."""
    try:
        with transaction() as session:
            return action(session)
    except TeamRulesError as error:
        problems = "\n".join(f"  - {p}" for p in error.problems)
        raise click.ClickException(
            f"invalid team rules ({len(error.problems)} problems):\n{problems}"
        ) from None
    except (progress_admin.AdminError, teams.TeamError) as error:
        raise click.ClickException(str(error)) from None


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-27") from None


_TODAY = click.option("--today", help="The team's local date to judge by (YYYY-MM-DD) [default: now].")


def _echo_changes(changes: Any, slug: str) -> None:
    if changes.nothing:
        click.echo(f"{slug}: up to date, nothing changed")
        return
    for label, items in (("+", changes.created), ("~", changes.updated), ("-", changes.retracted)):
        for kind, title in items:
            click.echo(f"{label} {kind:<10} {title}")
    s = changes.summary()
    click.echo(
        f"{slug}: {s['created']} new, {s['updated']} updated, {s['retracted']} retracted engine wins; "
        f"{s['streaks_changed']} streak rows and {s['challenges_changed']} challenges changed"
    )


# -- recompute -------------------------------------------------------------------------------------------


@click.command()
@click.argument("team")
@_TODAY
def recompute(team: str, today: str | None) -> None:
    """Recompute TEAM's streaks, badges, milestones and challenges from its whole history."""
    changes = _run(lambda s: progress_admin.recompute_slug(s, team, _day(today)))
    _echo_changes(changes, team)


# -- rules -----------------------------------------------------------------------------------------------


@click.group()
def rules() -> None:
    """A team's own rules: what counts as a win, and which celebrations are on."""


@rules.command("show")
@click.argument("team")
def rules_show(team: str) -> None:
    """Print the effective rules of TEAM as JSON (the defaults for anything not set)."""
    shown = _run(lambda s: progress_admin.show_rules(s, team))
    click.echo(json.dumps(shown, indent=2, sort_keys=True))


def _parse_assignment(text: str) -> tuple[str, object]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{text!r}: write KEY=VALUE, e.g. min_points=1 or issue_types=Story,Bug")
    key = key.strip()
    try:
        value: object = json.loads(raw)
    except ValueError:
        # Bare words: a comma list for list settings, else the text itself (validation judges it).
        value = [v.strip() for v in raw.split(",") if v.strip()] if key in progress_admin.LIST_KEYS else raw
    if (
        isinstance(value, str | int | float)
        and key in progress_admin.LIST_KEYS
        and not isinstance(value, bool)
    ):
        value = [str(value)]
    return key, value


@rules.command("set")
@click.argument("team")
@click.argument("assignments", nargs=-1, required=True)
@_TODAY
def rules_set(team: str, assignments: tuple[str, ...], today: str | None) -> None:
    """Change some of TEAM's rules: KEY=VALUE (JSON values, or comma lists), then recompute.

    Example: sprintwins rules set web issue_types=Story,Bug min_points=1 count_subtasks=false
    """
    changes = dict(_parse_assignment(a) for a in assignments)
    stored, outcome = _run(lambda s: progress_admin.update_rules(s, team, changes, _day(today)))
    click.echo(json.dumps(stored, indent=2, sort_keys=True))
    _echo_changes(outcome, team)


@rules.command("load")
@click.argument("team")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_TODAY
def rules_load(team: str, file: Path, today: str | None) -> None:
    """Replace TEAM's rules with a JSON file's mapping, then recompute."""
    try:
        data = json.loads(file.read_text())
    except ValueError as error:
        raise click.ClickException(f"{file} is not valid JSON: {error}") from None
    stored, outcome = _run(lambda s: progress_admin.replace_rules(s, team, data, _day(today)))
    click.echo(json.dumps(stored, indent=2, sort_keys=True))
    _echo_changes(outcome, team)


# -- challenges ------------------------------------------------------------------------------------------


@click.group()
def challenge() -> None:
    """Micro-challenges for a team or one person."""


@challenge.command("add")
@click.argument("team")
@click.argument("spec")
@click.option("--member", "member_id", type=int, help="A personal challenge for this member id.")
@_TODAY
def challenge_add(team: str, spec: str, member_id: int | None, today: str | None) -> None:
    """Set a challenge, e.g. "close 5 bugs this week" or "one small win a day for 5 days"."""
    row = _run(lambda s: progress_admin.add_challenge(s, team, spec, member_id, today=_day(today)))
    who = "the team" if row["member_id"] is None else f"member {row['member_id']}"
    click.echo(
        f"challenge {row['id']} for {who}: {row['title']} "
        f"({row['metric']} {row['target']:g}, {row['starts_on']} to {row['ends_on']})"
    )


@challenge.command("list")
@click.argument("team")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def challenge_list(team: str, as_json: bool) -> None:
    """List TEAM's challenges: whose, their window, and progress or when they were done."""
    rows = _run(lambda s: progress_admin.list_challenges(s, team))
    if as_json:
        click.echo(json.dumps({"challenges": rows}, indent=2))
        return
    if not rows:
        click.echo(f"{team} has no challenges yet")
    for r in rows:
        who = "team" if r["member_id"] is None else f"member {r['member_id']}"
        state = f"done {r['completed_at']}" if r["completed_at"] else f"{r['progress']:g}/{r['target']:g}"
        click.echo(f"{r['id']:>5} {who:<12} {r['starts_on']}..{r['ends_on']} {state:<28} {r['title']}")


# -- members (privacy) -----------------------------------------------------------------------------------


@click.group()
def member() -> None:
    """People: list them, export or erase a person's data, protect a day of their streak."""


@member.command("list")
@click.option("--team", "team_slug", help="Only the people seen in this team (its wins or tickets).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@workspace_option
def member_list(team_slug: str | None, as_json: bool, workspace_slug: str | None) -> None:
    """List a workspace's people with their ids (for the other member commands), names and identities."""
    from service.teams.members import list_members

    def listed(session: Session) -> list[dict[str, Any]]:
        workspace_id = workspace_id_of(session, workspace_slug)
        team_id = (
            None if team_slug is None else teams.get_team(session, team_slug, workspace_id=workspace_id).id
        )
        return [_member_row(m) for m in list_members(session, team_id, workspace_id=workspace_id)]

    rows = _run(listed)
    if as_json:
        click.echo(json.dumps({"members": rows}, indent=2))
        return
    if not rows:
        click.echo("No people yet: they appear with their first Jira event or Slack win.")
    for row in rows:
        shared = "" if row["sharing"] else "  (not named in posts: sharing is off)"
        click.echo(f"{row['id']:>5}  {row['name']}{shared}")
        if row["jira_account_id"]:
            click.echo(f"         jira   {row['jira_account_id']}")
        if row["slack_user_id"]:
            click.echo(f"         slack  {row['slack_user_id']} in workspace {row['slack_team_id']}")
        if row["email"]:
            click.echo(f"         email  {row['email']}")


def _member_row(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "name": member.display_name,
        "jira_account_id": member.jira_account_id,
        "slack_team_id": member.slack_team_id,
        "slack_user_id": member.slack_user_id,
        "email": member.email,
        "sharing": not member.sharing_opt_out,
    }


@member.command("export")
@click.argument("member_id", type=int)
def member_export(member_id: int) -> None:
    """Print everything stored about a person, as JSON."""
    click.echo(json.dumps(_run(lambda s: progress_admin.export_member(s, member_id)), indent=2))


@member.command("forget")
@click.argument("member_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_TODAY
def member_forget(member_id: int, yes: bool, today: str | None) -> None:
    """Erase a person; their wins stay in team totals, anonymously.

    Their streaks, badges, freezes and personal challenges are deleted; their ticket, manual and
    kudos wins lose their name and personal details but keep counting for the team. Their name,
    email and ids are then scrubbed from every other table: titles, digests, webhook bodies
    (docs/privacy.md).
    """
    if not yes:
        click.confirm(f"Erase member {member_id} and everything personal about them?", abort=True)
    report = _run(lambda s: progress_admin.forget_member(s, member_id, _day(today)))
    click.echo(
        f"member {member_id} forgotten: {report['anonymised_wins']} wins kept anonymously, "
        f"{report['deleted_wins']} personal streak/badge/challenge wins deleted, "
        f"{report['scrubbed_kudos']} kudos given made anonymous, "
        f"{report['anonymised_cheers']} cheers anonymised; "
        f"{report['scrubbed_rows']} other rows scrubbed of their name and ids "
        f"({report['inbox_rows']} of them webhook deliveries)"
    )


@member.command("freeze")
@click.argument("member_id", type=int)
@click.argument("day")
@click.option("--team", "team_slug", help="Only in this team [default: every team they have wins in].")
@_TODAY
def member_freeze(member_id: int, day: str, team_slug: str | None, today: str | None) -> None:
    """Protect DAY (YYYY-MM-DD) of a person's streak: a day off that does not break it."""
    the_day = _day(day)
    assert the_day is not None
    slugs = _run(lambda s: progress_admin.freeze_day(s, member_id, the_day, team_slug, _day(today)))
    click.echo(f"member {member_id}: {the_day} frozen in {', '.join(slugs)}")


# -- team holiday ----------------------------------------------------------------------------------------


@click.command("holiday")
@click.argument("team")
@click.argument("day")
@click.option("--name", default="", help="What the day is, e.g. 'Founders day'.")
@_TODAY
def team_holiday(team: str, day: str, name: str, today: str | None) -> None:
    """Add a team holiday (YYYY-MM-DD): nobody's streak breaks on it."""
    the_day = _day(day)
    assert the_day is not None
    _run(lambda s: progress_admin.add_holiday(s, team, the_day, name, _day(today)))
    click.echo(f"{team}: {the_day} is a holiday")


def register(main: click.Group) -> None:
    """Add the progress commands to ``sprintwins`` (and ``holiday`` to its ``team`` group)."""
    for command in (recompute, rules, challenge, member):
        main.add_command(command)
    team_group = main.commands.get("team")
    if isinstance(team_group, click.Group):
        team_group.add_command(team_holiday)
