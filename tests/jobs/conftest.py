"""The backfill job runs against the seeded Jira stand-in."""

from tests.standins.jira_board import standin as standin
