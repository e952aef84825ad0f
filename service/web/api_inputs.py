"""What ``/api/v1`` accepts, declared once as pydantic models and checked before any query runs.

Every value a request brings (path segment, query parameter, JSON body) passes through here, so a bad
one is a 400 naming its field and never reaches the database or a library that could throw. The
models are the routes' schemas: the same classes can be served as an OpenAPI document.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from flask import request
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from service.domain import team_rules
from service.domain.json_depth import nests_deeper_than
from service.domain.wins import WinKind, WinStatus
from service.web.errors import BadInput
from service.wins import queries

# Column bounds: Member.id is a 32-bit integer; Jira's sprint ids are stored as 64-bit ones.
MAX_MEMBER_ID = queries.MAX_INT32
MAX_SPRINT_ID = 2**63 - 1
# Numbers a JSON client can round-trip exactly; anything larger is not a count or an id of ours.
MAX_JSON_INT = 2**53 - 1
MAX_JSON_DEPTH = 32
MAX_TEXT = 1000
MAX_SLUG = 64


def _printable(value: str) -> str:
    # NUL cannot be stored or even compared on Postgres, and no slug, id or sentence needs controls.
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters (such as NUL)")
    return value


Text = Annotated[str, AfterValidator(_printable)]


def _iso_datetime(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        # A date near year 1 or 9999 with an offset has no UTC equivalent: refuse it here, not in the query.
        return aware.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("must be an ISO 8601 date or date-time, such as 2026-11-01") from None


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]


def _known_cursor(value: str) -> str:
    queries.decode_cursor(value)  # raises QueryError, a ValueError, for anything we did not hand out
    return value


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class TeamPath(_Input):
    """The path of every ``/api/v1/teams/<slug>/...`` route."""

    slug: Annotated[Text, Field(min_length=1, max_length=MAX_SLUG)]
    sprint_id: Annotated[int, Field(ge=0, le=MAX_SPRINT_ID)] | None = None


# Only a cursor this API handed out: it names a position in the wins, and anything else is a 400.
Cursor = Annotated[Text, Field(max_length=200), AfterValidator(_known_cursor)]


class WinsQuery(_Input):
    """``GET /api/v1/teams/<slug>/wins``: filters and a keyset cursor, newest first."""

    since: IsoDateTime | None = None
    until: IsoDateTime | None = None
    kind: WinKind | None = None
    member: Annotated[Text, Field(max_length=128)] | None = None
    status: WinStatus | None = None
    limit: Annotated[int, Field(ge=1, le=queries.MAX_LIMIT)] = 50
    cursor: Cursor | None = None

    @model_validator(mode="before")
    @classmethod
    def _as_given(cls, data: object) -> object:
        # As the API always read its query string: an empty value means "not given", and of a
        # repeated parameter the first one counts.
        if not isinstance(data, dict):
            return data
        firsts = {
            key: value[0] if isinstance(value, list) and value else value for key, value in data.items()
        }
        return {key: value for key, value in firsts.items() if value != ""}

    def win_filter(self) -> queries.WinFilter:
        try:
            return self._win_filter()
        except queries.QueryError as error:  # each message starts with the parameter's name
            raise BadInput(str(error).split()[0], str(error)) from None

    def _win_filter(self) -> queries.WinFilter:
        return queries.WinFilter(
            since=self.since,
            until=self.until,
            kind=self.kind.value if self.kind else None,
            member=self.member,
            status=self.status.value if self.status else None,
            limit=self.limit,
            cursor=self.cursor,
        )


def _spec_given(value: str) -> str:
    if not value.strip():
        raise ValueError('must say what the challenge is, e.g. "close 5 bugs this week"')
    return value


class ChallengeBody(_Input):
    """``POST /api/v1/teams/<slug>/challenges``: ``{"spec": "close 5 bugs this week", "member_id": 12}``."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    spec: Annotated[Text, Field(max_length=MAX_TEXT), AfterValidator(_spec_given)]
    member_id: Annotated[int, Field(ge=1, le=MAX_MEMBER_ID)] | None = None


def _one_of(names: frozenset[str]) -> AfterValidator:
    def known(value: str) -> str:
        if value not in names:
            raise ValueError(f"unknown name {value!r}; known: {', '.join(sorted(names))}")
        return value

    return AfterValidator(known)


def _listed(names: frozenset[str]) -> Any:
    # The document lists the names, so a client can offer them as a choice.
    choices: list[Any] = sorted(names)
    return Field(json_schema_extra={"enum": choices})


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a non-empty string")
    return value


# Printable, with at least one character that is not a space: what _printable and _non_blank accept.
PRINTABLE_NON_BLANK = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
Name = Annotated[
    Text,
    AfterValidator(_non_blank),
    Field(
        min_length=1,
        max_length=team_rules.MAX_NAME_LENGTH,
        json_schema_extra={"pattern": PRINTABLE_NON_BLANK},
    ),
]
Names = Annotated[list[Name], Field(max_length=team_rules.MAX_NAMES)]
Milestone = Annotated[str, _one_of(team_rules.MILESTONE_NAMES), _listed(team_rules.MILESTONE_NAMES)]
Badge = Annotated[str, _one_of(team_rules.BADGE_NAMES), _listed(team_rules.BADGE_NAMES)]
StreakScope = Annotated[str, _one_of(team_rules.STREAK_SCOPES), _listed(team_rules.STREAK_SCOPES)]
Days = Annotated[int, Field(ge=1, le=team_rules.MAX_DAYS)]


class RulesBody(_Input):
    """``PUT /api/v1/teams/<slug>/rules``: the team's rules; a key left out follows the default.

    The bounds are the domain's (``service.domain.team_rules``), which validates the same body again
    and words the answer, so the API, the command line and the settings page refuse the same values.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    issue_types: Names | None = None
    required_labels: Names = []
    excluded_labels: Names = []
    projects: Names | None = None
    min_points: Annotated[float, Field(ge=0, le=team_rules.MAX_POINTS, allow_inf_nan=False)] = 0.0
    count_subtasks: bool = True
    enabled_milestones: Annotated[list[Milestone], Field(max_length=team_rules.MAX_NAMES)] = sorted(
        team_rules.MILESTONE_NAMES
    )
    enabled_badges: Annotated[list[Badge], Field(max_length=team_rules.MAX_NAMES)] = sorted(
        team_rules.BADGE_NAMES
    )
    enabled_streaks: Annotated[list[StreakScope], Field(max_length=team_rules.MAX_NAMES)] = sorted(
        team_rules.STREAK_SCOPES
    )
    streak_thresholds: Annotated[
        list[Days], Field(min_length=1, max_length=team_rules.MAX_STREAK_THRESHOLDS)
    ] = [5, 10, 30]
    comeback_pause_days: Days = 10
    velocity_window: Annotated[int, Field(ge=1, le=team_rules.MAX_VELOCITY_WINDOW)] = 6
    bug_squasher_bugs: Annotated[int, Field(ge=1, le=team_rules.MAX_BUG_SQUASHER_BUGS)] = 5


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: object) -> M:
    """``data`` as ``model``, or ``BadInput`` naming the first bad field and listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise bad_input(error) from None


def bad_input(error: ValidationError) -> BadInput:
    """The 400 for a refused model: the first bad field named, every problem listed."""
    problems = [_problem(e) for e in error.errors(include_url=False)]
    return BadInput(_field(error.errors(include_url=False)[0]), problems[0], problems)


def _field(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "body"


def _problem(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is required"
    return f'"{_field(error)}": {message}'


def json_body() -> object:
    """The request's JSON, refused with a 400 unless it is plain, finite, shallow and storable.

    Runs before the route's model sees the body (``service.web.api.check_body``): the JSON reader would
    take NaN, or recurse without end on deep nesting, before any model could refuse them.
    """
    if not request.is_json:
        raise BadInput("body", "the body must be JSON (Content-Type: application/json)")
    data = request.get_data()
    if nests_deeper_than(data, MAX_JSON_DEPTH):
        raise BadInput("body", f'"body": is nested more than {MAX_JSON_DEPTH} levels deep')
    try:
        body = json.loads(data, parse_constant=_no_constant)
    except ValueError:
        raise BadInput("body", "the body must be JSON (Content-Type: application/json)") from None
    _check_values(body)
    return body


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _check_values(body: object) -> None:
    # Iterative; the nesting was bounded before parsing (json_body).
    pending: list[tuple[str, object]] = [("body", body)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            raise BadInput(path, f'"{path}": must not contain NUL characters')
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int) and abs(value) > MAX_JSON_INT:
            raise BadInput(path, f'"{path}": must be between -{MAX_JSON_INT} and {MAX_JSON_INT}')
        elif isinstance(value, float) and not math.isfinite(value):
            raise BadInput(path, f'"{path}": must be a finite number')
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise BadInput(path, f'"{path}": keys must not contain NUL characters')
                pending.append((f"{path}.{key}", item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
