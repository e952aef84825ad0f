"""The REST client's tests run against the same seeded Jira stand-in as the scope and backfill tests."""

from tests.jira_rest.conftest import standin

__all__ = ["standin"]
