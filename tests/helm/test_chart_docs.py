"""What the chart tells whoever installs it: values.yaml comments every value the templates read, and
NOTES.txt, rendered by a real helm, gives the webhook URLs and the next step."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.helm.test_rendered import CHART, KUBE_VERSION, RELEASE, _helm

VALUES_PATH = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
YAML_KEY = re.compile(r"^( *)([A-Za-z_][A-Za-z0-9_]*):(.*)$")


# -- values.yaml documents what the templates read ---------------------------------------------------------


def _documented(values_text: str) -> dict[str, bool]:
    """Each key path of values.yaml, and whether a comment sits on its line or right above it."""
    found: dict[str, bool] = {}
    stack: list[tuple[int, str]] = []
    comment_above = False
    for line in values_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment_above = True
            continue
        match = YAML_KEY.match(line)
        if not match:
            comment_above = False
            continue
        indent, key, rest = len(match.group(1)), match.group(2), match.group(3)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        found[".".join(k for _, k in stack)] = comment_above or " #" in rest
        comment_above = False
    return found


def test_every_values_path_the_templates_read_is_in_values_yaml_with_a_comment() -> None:
    documented = _documented((CHART / "values.yaml").read_text())
    used = {
        match.group(1).lstrip(".")
        for path in (CHART / "templates").iterdir()
        for match in VALUES_PATH.finditer(path.read_text())
    }
    assert len(used) > 50
    missing = sorted(path for path in used if path not in documented)
    assert missing == [], f"values.yaml does not declare {missing}"
    silent = sorted(path for path in used if not documented[path])
    assert silent == [], f"values.yaml has no comment for {silent}"


def test_the_comment_check_tells_documented_keys_from_silent_ones() -> None:
    text = "# the image\nimage:\n  repository: x  # where\n  tag: ''\n\n  # pulls\n  pullPolicy: Always\n"
    assert _documented(text) == {
        "image": True,
        "image.repository": True,
        "image.tag": False,
        "image.pullPolicy": True,
    }


# -- NOTES.txt -------------------------------------------------------------------------------------------


def _render_notes(tmp_path: Path, values_name: str) -> str:
    """NOTES.txt as helm prints it after an install (helm template leaves NOTES out, so a copy of the
    chart carries it inside a ConfigMap that is rendered with the same values)."""
    chart = tmp_path / "sprintwins"
    shutil.copytree(CHART, chart)
    notes = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "zz-notes.yaml").write_text(
        '{{- define "test.notes" }}' + notes + "{{- end }}\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n"
        'data:\n  notes: {{ include "test.notes" . | quote }}\n'
    )
    command = [
        _helm(),
        "template",
        RELEASE,
        str(chart),
        "--namespace",
        RELEASE,
        "--kube-version",
        KUBE_VERSION,
    ]
    command += ["--values", str(CHART / "ci" / values_name), "--show-only", "templates/zz-notes.yaml"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    notes_text: str = yaml.safe_load(result.stdout)["data"]["notes"]
    return notes_text


def test_notes_tell_the_webhook_urls_and_the_next_step(tmp_path: Path) -> None:
    notes = _render_notes(tmp_path, "production-values.yaml")
    assert "https://wins.example.com/webhooks/jira" in notes
    assert "https://wins.example.com/slack/events" in notes
    assert "https://wins.example.com/slack/install" in notes
    assert "get secret sprintwins-env" in notes  # where to read the webhook secret back
    assert "sprintwins team create TEAM" in notes
    assert "scrapes /metrics on the web Service with the Bearer token" in notes
    assert "rq:queue:<queue> at redis-master.data.svc:6379" in notes
    for name in ("default", "forking", "spare"):
        assert f"{RELEASE}-worker-{name}" in notes
    default_notes = _render_notes(tmp_path / "default", "default-values.yaml")
    assert "https://sprintwins.example.com/webhooks/jira" in default_notes
    assert "port-forward service/sprintwins-web" in default_notes
    assert "does not serve yet" not in default_notes
