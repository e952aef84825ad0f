"""``docs/configuration.md``, written from the settings object itself so the page cannot drift.

Each row comes from a field of :class:`service.settings.Settings`: its variable, its default, the
text in the field's ``metadata["doc"]``, and the modules that read it. Readers are found by parsing
the source (an attribute of that name read from something called ``settings``), so a new reader
shows up in the page the next time it is written, and the test that compares the page with this
output fails until it is.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import click

from service.settings import PREFIX, Settings

SOURCE_PACKAGES = ("service", "jobs", "integrations")

HEADER = """# Configuration

Every setting is an environment variable named `SPRINTWINS_<NAME>`; unset (or empty) means the default.
A malformed value stops the process at start-up with a message naming the variable.
Secrets are never printed, logged or shown in `repr`.

This page is written by `sprintwins settings reference > docs/configuration.md` from the settings
object (`service/settings.py`); the test suite fails when the two disagree. "Read by" lists the modules
that read the setting, found in the source.

| variable | default | meaning | read by |
| --- | --- | --- | --- |
"""


def reference(root: Path) -> str:
    """The whole page, for the checkout at ``root``."""
    readers = _readers(root)
    rows = []
    for f in dataclasses.fields(Settings):
        default = _default(f)
        doc = str(f.metadata.get("doc", "")).replace("|", "\\|")
        secret = " (secret)" if f.repr is False else ""
        modules = ", ".join(f"`{m}`" for m in sorted(readers.get(f.name, ())))
        rows.append(f"| `{PREFIX}{f.name.upper()}` | {default} | {doc}{secret} | {modules or 'none'} |")
    return HEADER + "\n".join(rows) + "\n"


def undocumented() -> list[str]:
    """Fields that carry no ``doc`` text: the test names them."""
    return [f.name for f in dataclasses.fields(Settings) if not f.metadata.get("doc")]


def _default(f: dataclasses.Field[object]) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
        return "unset" if value is None else f"`{str(value).lower() if isinstance(value, bool) else value}`"
    if f.name == "database_url":
        return "`sqlite:///<cwd>/var/sprintwins.db`"
    return "computed"


# Properties of Settings that read a field: a reader of the property reads the field.
DERIVED = {"production": "env", "in_process_jobs": "redis_url", "is_sqlite": "database_url"}


def _readers(root: Path) -> dict[str, set[str]]:
    names = {f.name: f.name for f in dataclasses.fields(Settings)} | DERIVED
    found: dict[str, set[str]] = {}
    for path in _sources(root):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        relative = path.relative_to(root).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in names and _is_settings(node.value):
                found.setdefault(names[node.attr], set()).add(relative)
    return found


def _is_settings(node: ast.expr) -> bool:
    """``settings.x``, ``self.settings.x``, ``runtime.settings.x``, ``self._settings.x`` and the like."""
    if isinstance(node, ast.Name):
        return node.id.lstrip("_") == "settings"
    if isinstance(node, ast.Attribute):
        return node.attr.lstrip("_") == "settings"
    return False


def _sources(root: Path) -> Iterator[Path]:
    for package in SOURCE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if path.name != "settings.py" or path.parent.name != "service":
                yield path


@click.group("settings")
def settings_group() -> None:
    """The SPRINTWINS_* settings."""


@settings_group.command("reference")
def settings_reference() -> None:
    """Print docs/configuration.md: every setting, its default, meaning and readers."""
    click.echo(reference(Path(__file__).resolve().parents[2]), nl=False)
