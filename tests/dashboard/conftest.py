"""A seeded app for the page tests, and readers of the numbers a page carries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AppFactory
from tests.dashboard.seed import seed


@pytest.fixture
def seeded_app(make_app: AppFactory) -> Flask:
    app = make_app("sqlite")
    seed(app)
    return app


@pytest.fixture
def seeded(seeded_app: Flask) -> FlaskClient:
    return seeded_app.test_client()


def api_wins(client: FlaskClient, query: str = "") -> list[dict[str, Any]]:
    """Every win the JSON API lists for the query, following its cursor."""
    found: list[dict[str, Any]] = []
    cursor = ""
    while True:
        body = client.get(f"/api/v1/teams/tes/wins?limit=500&{query}{cursor}").json
        found += body["wins"]
        if not body["next_cursor"]:
            return found
        cursor = f"&cursor={body['next_cursor']}"


def cells(html: str) -> dict[str, int]:
    """The heatmap's day cells: date -> count."""
    return {d: int(n) for d, n in re.findall(r'data-date="([\d-]+)" data-count="(\d+)"', html)}


def rows(html: str, table_class: str) -> list[list[str]]:
    """The cells of a text-alternative table, row by row."""
    table = re.search(rf'<table class="{table_class}">(.*?)</table>', html, re.S)
    assert table, table_class
    body = table.group(1).split("<tbody>", 1)[1]
    return [
        re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def feed_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-win-id="(\d+)"', html)]


def iterate_pages(client: FlaskClient, url: str) -> Iterator[str]:
    """The team page, then each "Older wins" page after it."""
    while url:
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.get_data(as_text=True)
        yield html
        older = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = older.group(1).replace("&amp;", "&") if older else ""
