"""Fixtures that start the stand-ins for the tests in this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.standins.jira_api import JiraStandIn
from tests.standins.slack_api import SlackStandIn


@pytest.fixture
def slack_standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def jira_cloud() -> Iterator[JiraStandIn]:
    with JiraStandIn(flavour="cloud") as standin:
        yield standin


@pytest.fixture
def jira_server() -> Iterator[JiraStandIn]:
    with JiraStandIn(flavour="server") as standin:
        yield standin
