"""docs/configuration.md is the settings object written out: every setting documented, none drifted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from click.testing import CliRunner

from service.cli.main import main
from service.cli.settings_doc import reference, undocumented
from service.settings import PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_says_what_it_is_for() -> None:
    assert undocumented() == []


def test_the_page_matches_the_settings_object() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == reference(ROOT), "regenerate: sprintwins settings reference > docs/configuration.md"


def test_each_setting_has_one_row_naming_the_modules_that_read_it() -> None:
    page = reference(ROOT)
    for f in dataclasses.fields(Settings):
        [row] = [line for line in page.splitlines() if line.startswith(f"| `{PREFIX}{f.name.upper()}` |")]
        assert not row.endswith("| none |"), f"nothing reads {f.name}: remove the setting or use it"
    webhook = next(line for line in page.splitlines() if "`SPRINTWINS_JIRA_WEBHOOK_SECRET`" in line)
    assert "`service/web/jira_webhook.py`" in webhook and "(secret)" in webhook
    env = next(line for line in page.splitlines() if line.startswith("| `SPRINTWINS_ENV`"))
    assert "`service/" in env  # found through the Settings.production property


def test_the_command_prints_the_page() -> None:
    result = CliRunner().invoke(main, ["settings", "reference"])
    assert result.exit_code == 0
    assert result.output == reference(ROOT)
