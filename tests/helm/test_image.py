"""The Dockerfile the chart's pods run: linted, and held to the chart's and the CLI's contracts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from service.cli.main import main

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
VALUES = REPO / "helm" / "sprintwins" / "values.yaml"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments left out."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def _last(name: str) -> str:
    return [rest for word, rest in _instructions() if word == name][-1]


def _runtime_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in _instructions():
        if word == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
    return env


def _values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


def test_hadolint_finds_nothing() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.exists():
        pytest.fail("hadolint is missing: run `bash .ci/chart-check --install` (or pip install -e '.[test]')")
    result = subprocess.run(
        [str(hadolint), "--failure-threshold", "style", "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_two_stages_on_slim_python_3_11_and_wheels_only_in_the_second() -> None:
    stages = [rest for word, rest in _instructions() if word == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]
    [base] = [rest for word, rest in _instructions() if word == "ARG" and rest.startswith("PYTHON_IMAGE=")]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim(-\w+)?", base)
    runs = [rest for word, rest in _instructions() if word == "RUN"]
    assert any("pip wheel" in run and "--wheel-dir /wheels" in run for run in runs)
    assert any("--no-index" in run and "from=build" in run for run in runs)


def test_runs_as_the_user_the_chart_expects() -> None:
    values = _values()
    assert _last("USER") == "10001:10001"
    for context in (values["podSecurityContext"], values["securityContext"]):
        assert context["runAsUser"] == 10001
        assert context["runAsGroup"] == 10001
    assert values["podSecurityContext"]["fsGroup"] == 10001


def test_entry_point_is_the_sprintwins_command_and_the_default_is_a_real_serve() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert json.loads(_last("ENTRYPOINT")) == ["sprintwins"]
    assert "sprintwins" in pyproject["project"]["scripts"]
    command = json.loads(_last("CMD"))
    assert command[:3] == ["serve", "--host", "0.0.0.0"]
    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    for option in (word for word in command if word.startswith("--")):
        assert option in help_text
    port = command[command.index("--port") + 1]
    assert int(port) == _values()["web"]["port"]
    assert _last("EXPOSE") == port


def test_everything_that_writes_goes_to_the_tmp_the_chart_mounts() -> None:
    env = _runtime_env()
    for name in ("HOME", "TMPDIR", "XDG_RUNTIME_DIR"):
        assert env[name] == "/tmp", name
    helpers = (REPO / "helm" / "sprintwins" / "templates" / "_helpers.tpl").read_text()
    assert re.search(r"mountPath: /tmp$", helpers, re.MULTILINE)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    # No default database URL: the embedded SQLite path is unwritable there, so a forgotten URL fails.
    assert "SPRINTWINS_DATABASE_URL" not in env
    assert env["SPRINTWINS_ENV"] == "production"


def test_the_build_context_holds_exactly_what_the_build_copies() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    copied = {
        source.rstrip("/")
        for word, rest in _instructions()
        if word == "COPY" and "--from" not in rest
        for source in rest.split()[:-1]  # every word but the destination
    }
    packages = {name.rstrip("*") for name in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= copied
    assert {"pyproject.toml", pyproject["project"]["readme"]} <= copied
    rules = [
        line
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert rules[0] == "*"  # everything out, then each copied path back in
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert allowed == copied
    for path in copied:
        assert (REPO / path).exists(), path
