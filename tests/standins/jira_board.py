"""Jira stand-ins seeded like a real team's board, and settings that point Sprint Wins at them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.standins.jira_api import Flavour, JiraStandIn

BOARD = 3


@pytest.fixture(params=["cloud", "server"])
def standin(request: pytest.FixtureRequest) -> Iterator[JiraStandIn]:
    with JiraStandIn(flavour=request.param) as server:
        seed_board(server)
        yield server


def seed_board(server: JiraStandIn) -> None:
    """Board 3 (project SRCH): active sprint 12 started 2026-11-02, closed sprint 11 before it."""
    server.add_board(BOARD, "Search team board", "SRCH", project_name="Search")
    server.add_sprint(
        11,
        BOARD,
        "Sprint 11",
        "closed",
        start="2026-10-19T09:00:00Z",
        end="2026-10-30T17:00:00Z",
        complete="2026-10-30T16:00:00Z",
    )
    server.add_sprint(
        12,
        BOARD,
        "Sprint 12",
        "active",
        start="2026-11-02T09:00:00Z",
        end="2026-11-13T17:00:00Z",
        goal="Ship",
    )


def jira_settings(server: JiraStandIn, **extra: Any) -> dict[str, Any]:
    """Settings overrides for the stand-in's flavour; the retry delay is bounded so tests stay quick."""
    values: dict[str, Any] = {"jira_url": server.url, "jira_max_retry_delay_seconds": 1}
    if server.flavour.name == "cloud":
        values.update(jira_email=server.email, jira_api_token=server.api_token)
    else:
        values.update(jira_pat=server.pat)
    return {**values, **extra}


def jira_env(server: JiraStandIn) -> dict[str, str]:
    return {f"SPRINTWINS_{name.upper()}": str(value) for name, value in jira_settings(server).items()}


def flavour_of(server: JiraStandIn) -> Flavour:
    return server.flavour.name
