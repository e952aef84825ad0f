"""Every ``sprintwins`` command and group explains itself with ``--help``."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from service.cli.main import main


def _commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


COMMANDS = list(_commands(main))


def test_the_tree_holds_every_command_we_document() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    expected = {"demo", "serve", "team create", "team detach", "team list", "team rename", "team timezone"}
    assert expected | {"member list", "member export", "events replay"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS])
def test_every_command_has_help_text(path: tuple[str, ...], command: click.Command) -> None:
    result = CliRunner().invoke(main, [*path, "--help"], env={"SPRINTWINS_DATABASE_URL": "sqlite://"})
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: main {' '.join(path)}")
    assert command.help and command.help.strip(), f"`sprintwins {' '.join(path)}` has no help text"
    first_line = " ".join(command.help.strip().splitlines()[0].split())
    assert len(first_line) >= 15, first_line
    assert first_line in " ".join(result.output.split())  # rewrapped to the terminal, but all there


def test_the_top_level_help_lists_every_command_with_a_summary() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = result.output.split("Commands:")[1].splitlines()
    for name in main.commands:
        line = next(line for line in listed if line.split() and line.split()[0] == name)
        assert len(line.split()) > 1, f"{name} is listed without a summary"
