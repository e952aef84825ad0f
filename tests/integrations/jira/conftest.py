"""The REST client's tests run against the same seeded Jira stand-in as the scope and backfill tests."""

from tests.standins.jira_board import standin as standin
