"""The Helm chart in ``helm/sprintwins``, read as template text (test_rendered.py renders it).

The checks read the chart as text and YAML and hold it to the service's real contracts: the
commands it runs exist in the CLI, the variables it sets are settings, every ``.Values`` path a
template reads is declared, and the scheduler and migration hook keep their promised shape.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from flask import Flask
from rq.queue import Queue

from service.cli.main import main
from service.settings import PREFIX, Settings
from service.web import health, jira_webhook
from service.web.slack import routes as slack

CHART = Path(__file__).resolve().parents[2] / "helm" / "sprintwins"
TEMPLATES = CHART / "templates"
TEMPLATE_FILES = sorted(p for p in TEMPLATES.iterdir() if p.suffix in {".yaml", ".tpl", ".txt"})

ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
VALUES_PATH = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
COMMAND_LINE = re.compile(r"^\s*command:\s*\[(.*)\]\s*$", re.MULTILINE)
NOTES_COMMAND = re.compile(r"-- sprintwins ([a-z][a-z ]*?)\s*$", re.MULTILINE)
SETTING_NAME = re.compile(rf"\b{PREFIX}[A-Z][A-Z0-9_]*\b")
OPENS_BLOCK = {"if", "range", "with", "define", "block"}


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _values() -> dict[str, Any]:
    return _load_yaml(CHART / "values.yaml")


def _actions(text: str) -> list[str]:
    """The bodies of the template actions, after checking no delimiter stands outside one."""
    outside = ACTION.sub("", text)
    assert "{{" not in outside and "}}" not in outside, "a {{ or }} without its partner"
    bodies = [m.group(1) for m in ACTION.finditer(text)]
    for body in bodies:
        assert "{{" not in body, f"an action opened inside another: {{{{{body}}}}}"
    return bodies


def _keyword(body: str) -> str | None:
    """The control keyword an action starts with (if, end, ...), ignoring trim markers."""
    inner = body.strip()
    inner = inner.removeprefix("-").removesuffix("-").strip()
    if inner.startswith("/*"):
        return None
    word = re.match(r"[A-Za-z]+", inner)
    return word.group(0) if word else None


def _commands(text: str) -> list[list[str]]:
    """The literal words of each ``command: [...]`` line (templated values are left out)."""
    return [re.findall(r'"([^"]*)"', m.group(1)) for m in COMMAND_LINE.finditer(text)]


def _invocations() -> list[tuple[str, list[str]]]:
    """(file, words after ``sprintwins``) for every command a template runs or NOTES suggests."""
    found = []
    for path in TEMPLATE_FILES:
        text = path.read_text()
        for words in _commands(text):
            assert words[0] == "sprintwins", f"{path.name} runs {words[0]!r}, not the sprintwins command"
            found.append((path.name, words[1:]))
        found.extend((path.name, m.group(1).split()) for m in NOTES_COMMAND.finditer(text))
    return found


def _command_path(words: list[str]) -> list[str]:
    """The leading words that name the command (``db upgrade``), before any option."""
    first_option = next((i for i, word in enumerate(words) if word.startswith("-")), len(words))
    return words[:first_option]


def _documents(path: Path) -> list[str]:
    return [doc for doc in re.split(r"^---\s*$", path.read_text(), flags=re.MULTILINE) if "kind:" in doc]


def _annotation(document: str, name: str) -> str:
    match = re.search(rf'^\s*"{re.escape(name)}":\s*"?([^"\n]*)"?\s*$', document, re.MULTILINE)
    assert match, f"no {name} annotation"
    return match.group(1)


# -- the chart's own files -------------------------------------------------------------------------------


def test_chart_yaml_is_a_v2_chart_of_this_app() -> None:
    chart = _load_yaml(CHART / "Chart.yaml")
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "sprintwins"
    assert chart["type"] == "application"
    assert chart["appVersion"] == "0.1.0"  # a string: an unquoted 0.1 would not survive YAML
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart["version"])


def test_values_yaml_parses_and_holds_the_production_defaults() -> None:
    values = _values()
    assert values["config"]["env"] == "production"
    assert values["existingSecret"] == ""
    assert values["podSecurityContext"]["runAsNonRoot"] is True
    assert values["securityContext"]["readOnlyRootFilesystem"] is True
    assert values["ingress"]["enabled"] is False
    assert values["autoscaling"]["enabled"] is False
    # The values the chart renders must also be ones Settings accepts.
    config = values["config"]
    Settings(
        env=config["env"],
        log_level=config["logLevel"],
        queue_name=config["queueName"],
        inbox_batch_size=config["inboxBatchSize"],
        drain_request_interval_ms=config["drainRequestIntervalMs"],
        max_body_bytes=config["maxBodyBytes"],
    ).validate()


def test_every_template_file_is_expected() -> None:
    names = {p.name for p in TEMPLATE_FILES}
    assert names >= {
        "_helpers.tpl",
        "NOTES.txt",
        "configmap.yaml",
        "secret.yaml",
        "web-deployment.yaml",
        "web-service.yaml",
        "ingress.yaml",
        "hpa.yaml",
        "worker-deployment.yaml",
        "scheduler-deployment.yaml",
        "migrate-job.yaml",
    }


# -- template syntax -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.name)
def test_template_actions_are_balanced(path: Path) -> None:
    open_blocks: list[str] = []
    for body in _actions(path.read_text()):
        if body.startswith("-"):
            assert body[1:2].isspace(), f"'{{{{-' needs a space after it: {{{{{body}}}}}"
        if body.endswith("-"):
            assert body[-2:-1].isspace(), f"'-}}}}' needs a space before it: {{{{{body}}}}}"
        if _keyword(body) is None:
            continue
        assert body.count("(") == body.count(")"), f"unbalanced parentheses in {{{{{body}}}}}"
        assert body.count('"') % 2 == 0, f"unbalanced quotes in {{{{{body}}}}}"
        keyword = _keyword(body)
        if keyword in OPENS_BLOCK:
            open_blocks.append(keyword)
        elif keyword == "else":
            assert open_blocks, f"else outside a block in {path.name}"
        elif keyword == "end":
            assert open_blocks, f"an end with nothing open in {path.name}"
            open_blocks.pop()
    assert open_blocks == [], f"{path.name} leaves {open_blocks} open"


def test_balance_check_catches_the_mistakes_it_is_for() -> None:
    with pytest.raises(AssertionError):
        _actions("name: {{ include 'x' . }")
    with pytest.raises(AssertionError):
        _actions("name: {{ .Values.a {{ .Values.b }}")
    assert _keyword("- if .Values.x ") == "if"
    assert _keyword("- /* a comment */") is None


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.name)
def test_every_values_path_a_template_reads_is_declared(path: Path) -> None:
    values = _values()
    for match in VALUES_PATH.finditer(path.read_text()):
        node: Any = values
        for key in match.group(1).lstrip(".").split("."):
            assert isinstance(node, dict) and key in node, (
                f"{path.name} reads .Values{match.group(1)}, which values.yaml does not declare"
            )
            node = node[key]


def test_helpers_define_everything_the_templates_include() -> None:
    defined = set(re.findall(r'define "([^"]+)"', (TEMPLATES / "_helpers.tpl").read_text()))
    for path in TEMPLATE_FILES:
        for name in re.findall(r'include "([^"]+)"', path.read_text()):
            assert name in defined, f"{path.name} includes {name!r}, which _helpers.tpl does not define"


# -- contracts with the service --------------------------------------------------------------------------


def test_the_chart_runs_the_four_processes_of_a_production_install() -> None:
    commands = {" ".join(_command_path(words)) for _, words in _invocations()}
    assert commands >= {"serve", "worker", "scheduler", "db upgrade"}


@pytest.mark.parametrize(
    ("source", "words"), _invocations(), ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_every_command_the_chart_runs_is_a_real_cli_command(source: str, words: list[str]) -> None:
    path = _command_path(words)
    options = [w for w in words if w.startswith("--")]
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, f"{source}: `sprintwins {' '.join(path)}` is not a command\n{result.output}"
    for option in options:
        assert option in result.output, f"{source}: `sprintwins {' '.join(path)}` has no {option}"


def test_web_probes_hit_the_health_endpoints_and_serve_binds_all_interfaces() -> None:
    values = _values()
    assert values["web"]["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert values["web"]["readinessProbe"]["httpGet"]["path"] == "/readyz"
    [words] = _commands((TEMPLATES / "web-deployment.yaml").read_text())
    assert words[:4] == ["sprintwins", "serve", "--host", "0.0.0.0"]
    assert {"--port", "--workers", "--threads"} <= set(words)
    # The root filesystem is read-only: gunicorn's control socket must land on the /tmp emptyDir.
    web = (TEMPLATES / "web-deployment.yaml").read_text()
    assert re.search(r"- name: XDG_RUNTIME_DIR\n\s+value: /tmp\n", web)
    assert re.search(r"mountPath: /tmp$", (TEMPLATES / "_helpers.tpl").read_text(), re.MULTILINE)

    # The paths the probes and NOTES name are the ones the blueprints serve.
    app = Flask(__name__)
    for blueprint in (health.bp, jira_webhook.bp, slack.bp):
        app.register_blueprint(blueprint)
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/healthz", "/readyz", "/webhooks/jira", "/slack/events", "/slack/install"} <= rules


def test_every_variable_the_chart_sets_is_a_setting() -> None:
    known = {PREFIX + f.name.upper() for f in dataclasses.fields(Settings)}
    for path in TEMPLATE_FILES:
        for name in SETTING_NAME.findall(path.read_text()):
            assert name in known, f"{path.name} sets {name}, which Settings does not read"


def test_secrets_live_in_the_secret_and_never_in_the_configmap() -> None:
    secret = (TEMPLATES / "secret.yaml").read_text()
    configmap = (TEMPLATES / "configmap.yaml").read_text()
    # Settings marks secrets repr=False; the URLs carry passwords too.
    secret_names = {PREFIX + f.name.upper() for f in dataclasses.fields(Settings) if not f.repr}
    secret_names |= {f"{PREFIX}DATABASE_URL", f"{PREFIX}REDIS_URL"}
    for name in secret_names:
        assert f"{name}:" in secret, f"{name} is missing from secret.yaml"
        assert name not in configmap, f"{name} would be stored in the ConfigMap"
    assert secret.lstrip().startswith("{{- if not .Values.existingSecret }}")
    for name in ("ENV", "PUBLIC_URL", "LOG_LEVEL", "INBOX_BATCH_SIZE", "DRAIN_REQUEST_INTERVAL_MS"):
        assert f"{PREFIX}{name}:" in configmap


def test_worker_groups_default_to_the_one_real_queue() -> None:
    values = _values()
    assert [group["queue"] for group in values["workers"]] == [Settings().queue_name]
    assert all(group["name"] for group in values["workers"])
    text = (TEMPLATES / "worker-deployment.yaml").read_text()
    assert "range $group := .Values.workers" in text
    assert "SPRINTWINS_QUEUE_NAME" in text


def test_worker_grace_period_outlasts_a_job() -> None:
    # SIGTERM is RQ's warm shutdown: the pod must live until the job in hand times out at worst.
    assert _values()["worker"]["terminationGracePeriodSeconds"] > Queue.DEFAULT_TIMEOUT


def test_scheduler_is_a_single_replica_replaced_with_recreate() -> None:
    text = (TEMPLATES / "scheduler-deployment.yaml").read_text()
    assert re.search(r"^  replicas: 1$", text, re.MULTILINE)
    assert re.search(r"^  strategy:\n    type: Recreate$", text, re.MULTILINE)
    assert "scheduler" not in (TEMPLATES / "hpa.yaml").read_text()


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook() -> None:
    documents = _documents(TEMPLATES / "migrate-job.yaml")
    [job] = [doc for doc in documents if "kind: Job" in doc]
    assert _commands(job) == [["sprintwins", "db", "upgrade"]]
    assert _annotation(job, "helm.sh/hook") == "pre-install,pre-upgrade"
    assert set(_annotation(job, "helm.sh/hook-delete-policy").split(",")) == {
        "before-hook-creation",
        "hook-succeeded",
    }
    # Whatever the Job reads on a first install must be a hook created before it.
    for other in documents:
        if other is job:
            continue
        assert _annotation(other, "helm.sh/hook") == "pre-install,pre-upgrade"
        assert int(_annotation(other, "helm.sh/hook-weight")) < int(_annotation(job, "helm.sh/hook-weight"))


def test_notes_point_jira_and_slack_at_their_endpoints() -> None:
    notes = (TEMPLATES / "NOTES.txt").read_text()
    assert "{{ $publicUrl }}/webhooks/jira" in notes
    assert "{{ $publicUrl }}/slack/events" in notes
