"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) against a live server.

One test walks the pages in order, so the browser and the server start once: pages load under the
strict CSP, the heatmap carries the API's numbers, a filter and an older page of the feed work, a
signed webhook's win appears without navigation, a hostile title stays text, a sprint's retro and a
person's page open through their links, axe-core finds no serious or critical problem in light or dark
mode on every page, and each fits 360 px. Screenshots go to test-artifacts/.

Another test plays ``sprintwins demo`` and photographs its team page, 1280 px wide in light mode, for
the README: into test-artifacts/, or into the folder ``SPRINTWINS_SCREENSHOT_DIR`` names
(``SPRINTWINS_SCREENSHOT_DIR=docs/images`` refreshes ``docs/images/team-page.png``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright import sync_api
from werkzeug.serving import make_server

from service.cli import demo_history
from tests.conftest import AppFactory
from tests.dashboard.conftest import api_wins
from tests.dashboard.seed import ACTIVE_SPRINT, HOSTILE_TITLE, OPTED_OUT_NAME, post_signed, seed, ticket_done

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
COUNTED = {"ticket", "manual", "kudos"}
SCREENSHOT_DIR = "SPRINTWINS_SCREENSHOT_DIR"

if not CHROMIUM.exists():  # .ci/dev test installs it; never a browser Playwright downloads
    pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium", pytrace=False)


@pytest.fixture
def live_server(make_app: AppFactory) -> Iterator[tuple[str, Flask]]:
    app = make_app("sqlite")
    seed(app)
    yield from _serving(app)


@pytest.fixture
def demo_server(make_app: AppFactory, tmp_path: Path) -> Iterator[str]:
    """The data ``sprintwins demo`` plays (its own server, stopped when it is done) in the SQLite file
    the app of ``make_app`` then serves here."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SPRINTWINS_")},
        "SPRINTWINS_DATABASE_URL": f"sqlite:///{tmp_path / 'sprintwins.db'}",
        "SPRINTWINS_REDIS_URL": "",
        "TMPDIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "service.cli.main", "demo", "--exit", "--port", str(port)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for base, _ in _serving(make_app("sqlite")):
        yield base


def _serving(app: Flask) -> Iterator[tuple[str, Flask]]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join(10)
    server.server_close()


def readme_screenshot() -> Path:
    """Where the README's screenshot goes: ``team-page.png`` in the folder ``SPRINTWINS_SCREENSHOT_DIR``
    names, else beside the other screenshots in the artifacts, so an ordinary run writes nothing into the
    tree."""
    named = os.environ.get(SCREENSHOT_DIR, "").strip()
    path = Path(named) / "team-page.png" if named else ARTIFACTS / "demo-team-page.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _http_post(base: str) -> Any:
    def post(path: str, body: bytes, headers: dict[str, str]) -> Any:
        request = urllib.request.Request(base + path, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return response

    return post


def _serious(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .filter(v => v.impact === 'serious' || v.impact === 'critical')
             .map(v => ({id: v.id, impact: v.impact, targets: v.nodes.slice(0, 3).map(n => n.target)}))"""
    )
    return found


def test_dashboard_in_a_real_browser(live_server: tuple[str, Flask]) -> None:
    base, app = live_server
    api = app.test_client()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            dialogs: list[str] = []
            problems: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))

            # The overview, then the team page through its link.
            page.goto(base + "/")
            assert page.locator("li.card[data-team='tes'] h2").inner_text() == "test1"
            page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
            page.click("text=test1")
            page.wait_for_url(base + "/teams/tes")
            page.screenshot(path=str(ARTIFACTS / "team-page.png"), full_page=True)

            # The heatmap's cells carry the API's counts, by the team's (UTC) day.
            shown = page.eval_on_selector_all(
                "rect.heat", "cells => cells.map(c => [c.dataset.date, Number(c.dataset.count)])"
            )
            by_day = Counter(
                w["occurred_at"][:10] for w in api_wins(api, "status=active") if w["kind"] in COUNTED
            )
            assert {d: n for d, n in shown if n} == dict(by_day) and len(shown) >= 364

            # The hostile title is text on the page, and nothing ran.
            assert page.locator("a.win-title", has_text=HOSTILE_TITLE).count() == 1
            assert OPTED_OUT_NAME not in page.content() and "a teammate" in page.content()

            # A filter, then an older page of the feed.
            person = page.locator("select[name=person] option", has_text="Bob Builder").get_attribute("value")
            page.select_option("select[name=person]", value=person)
            page.click("button[type=submit]")
            page.wait_for_url(f"**person={person}**")
            names = page.locator("#feed-list .win-person").all_inner_texts()
            assert names and set(names) == {"Bob Builder"}
            page.goto(base + "/teams/tes?limit=5")
            first = page.eval_on_selector_all(
                "#feed-list li", "items => items.map(i => Number(i.dataset.winId))"
            )
            page.click("a[rel=next]")
            page.wait_for_url("**cursor=**")
            second = page.eval_on_selector_all(
                "#feed-list li", "items => items.map(i => Number(i.dataset.winId))"
            )
            expected = [w["id"] for w in api_wins(api)]
            assert first + second == expected[:10]

            # Live: a signed webhook's win appears in the feed without navigation.
            page.goto(base + "/teams/tes")
            page.evaluate("window.stillTheSamePage = true")
            now = datetime.now(UTC)
            payload = ticket_done(
                "TES-77", now, ("acc-cy", "Cy Named"), ACTIVE_SPRINT, "active", "Live browser win"
            )
            post_signed(_http_post(base), payload, "browser-live-1")
            page.locator("#feed-list li", has_text="Live browser win").wait_for(timeout=20_000)
            assert page.evaluate("window.stillTheSamePage") is True
            assert page.locator("#feed-list li").first.inner_text().count("Live browser win") == 1

            # The sprint retro through the team page's link, then a person's page through the retro's.
            page.locator(f"a[href='/teams/tes/sprints/{ACTIVE_SPRINT}']").first.click()
            page.wait_for_url(f"**/teams/tes/sprints/{ACTIVE_SPRINT}")
            assert page.locator(".done-list .win-title", has_text=HOSTILE_TITLE).count() == 1
            assert OPTED_OUT_NAME not in page.content() and "a teammate" in page.content()
            page.screenshot(path=str(ARTIFACTS / "sprint-page.png"), full_page=True)
            page.click(".contributors-table a >> text=Bob Builder")
            page.wait_for_url("**/people/*")
            person_url = page.url.removeprefix(base)
            assert page.locator("h1").inner_text() == "Bob Builder"
            assert page.locator("rect.heat").count() >= 364
            page.screenshot(path=str(ARTIFACTS / "person-page.png"), full_page=True)
            page.goto(base + "/teams/tes")

            # Keyboard: the first Tab reaches the skip link, which moves focus to the content.
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.className") == "skip"

            # 360 px wide: no horizontal scroll.
            page.set_viewport_size({"width": 360, "height": 800})
            pages = ("/", "/teams/tes", f"/teams/tes/sprints/{ACTIVE_SPRINT}", person_url)
            for url in pages:
                page.goto(base + url)
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), url
            page.screenshot(path=str(ARTIFACTS / "team-page-360.png"), full_page=True)

            assert dialogs == []
            assert problems == [], problems  # a CSP refusal would show here
            context.close()

            # axe-core, injected past the CSP in a context of its own, in light and in dark mode.
            for scheme in ("light", "dark"):
                audit = browser.new_context(bypass_csp=True, color_scheme=scheme)
                checked = audit.new_page()
                for url in pages:
                    checked.goto(base + url)
                    assert _serious(checked) == [], (scheme, url, json.dumps(_serious(checked)))
                if scheme == "dark":
                    checked.screenshot(path=str(ARTIFACTS / "person-page-dark.png"), full_page=True)
                    checked.goto(base + "/teams/tes")
                    checked.screenshot(path=str(ARTIFACTS / "team-page-dark.png"), full_page=True)
                audit.close()
        finally:
            browser.close()


def test_the_readme_screenshot_of_the_demo_team_page(demo_server: str) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
            page = context.new_page()
            page.goto(f"{demo_server}/teams/{demo_history.TEAM_SLUG}")
            assert page.locator("h1").inner_text() == demo_history.TEAM_NAME
            names = set(page.locator("#feed-list .win-person").all_inner_texts())
            assert names & {p.name for p in demo_history.PEOPLE}, names  # the demo's people, not a test's
            shot = readme_screenshot()
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            context.close()
        finally:
            browser.close()
