"""What the pages and the export accept in their query strings, checked before any query runs.

Built on the API's input rules (``service.web.api_inputs``): a bad value is a 400 naming the field, a
NUL, an over-long value or a number past a column's range included.
"""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from service.dashboard.wins import FeedFilter
from service.domain.wins import WinKind
from service.web.api_inputs import MAX_MEMBER_ID, MAX_SPRINT_ID, Text, _Input, _known_cursor

MAX_FEED_PAGE = 100
Cursor = Annotated[Text, Field(max_length=200), AfterValidator(_known_cursor)]
MemberId = Annotated[int, Field(ge=1, le=MAX_MEMBER_ID)]
SprintId = Annotated[int, Field(ge=0, le=MAX_SPRINT_ID)]


class _Query(_Input):
    @model_validator(mode="before")
    @classmethod
    def _as_given(cls, data: object) -> object:
        # As the API reads its query string: an empty value is "not given"; of a repeated one, the first.
        if not isinstance(data, dict):
            return data
        firsts = {
            key: value[0] if isinstance(value, list) and value else value for key, value in data.items()
        }
        return {key: value for key, value in firsts.items() if value != ""}


class FeedQuery(_Query):
    """The team page's feed: ``person`` (our member id), ``kind``, ``sprint`` (Jira's id), ``cursor``."""

    person: MemberId | None = None
    kind: WinKind | None = None
    sprint: SprintId | None = None
    cursor: Cursor | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_FEED_PAGE)] = 25

    def feed_filter(self) -> FeedFilter:
        return FeedFilter(
            member_id=self.person,
            kind=self.kind.value if self.kind else None,
            sprint=self.sprint,
            cursor=self.cursor,
            limit=self.limit,
        )


class LiveQuery(FeedQuery):
    """The live fragment: the feed's filters and the newest win id the page already shows."""

    after: Annotated[int, Field(ge=0, le=MAX_MEMBER_ID)] = 0


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    JSON = "json"


class ExportQuery(_Query):
    """``GET /api/v1/teams/<slug>/export``: ``format`` (required) and an optional Jira ``sprint`` id."""

    format: ExportFormat
    sprint: SprintId | None = None
