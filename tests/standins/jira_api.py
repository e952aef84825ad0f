"""A local stand-in for the Jira REST and Agile APIs, spoken to through the real `jira.JIRA` client.

Two flavours, because Sprint Wins must handle both:

* ``cloud``: basic auth with an email and an API token; users carry ``accountId``; story points
  live in ``customfield_10016`` ("Story point estimate"); the sprint field ``customfield_10020``
  holds sprint objects; ``serverInfo`` says ``deploymentType: Cloud``.
* ``server`` (Server / Data Center): bearer personal access token; users carry ``name``/``key``;
  story points live in ``customfield_10002`` ("Story Points", a float field); the sprint field
  ``customfield_10005`` holds greenhopper ``toString()`` strings.

Connecting the real client (``get_server_info=False`` skips the ``serverInfo`` round trip, but
then ``jira.JIRA`` does not know it talks to Cloud and ``search_issues`` uses the legacy
``/rest/api/2/search``, which this stand-in serves for both flavours)::

    JIRA(server=standin.url, basic_auth=(standin.email, standin.api_token))   # cloud
    JIRA(server=standin.url, token_auth=standin.pat)                          # server

Its retries: ``ResilientSession`` retries 429/503, sleeping ``min(max_retry_delay, 2 * Retry-After)``
times a jitter in [0.5, 1]. ``max_retries`` is a constructor argument; ``max_retry_delay`` is not,
so bound it with ``client._session.max_retry_delay = 1``.

Data is seeded from Python (`add_board`, `add_sprint`, `add_issue`, `add_issues`); every request
is recorded in `calls`. JQL is understood only as far as `_JqlFilter` documents: a clause it does
not understand is answered with HTTP 400, never silently ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from tests.standins import LocalHTTPServer

__all__ = ["FLAVOURS", "Flavour", "JiraCall", "JiraFlavour", "JiraStandIn", "JiraUser"]

Flavour = Literal["cloud", "server"]
StatusCategory = Literal["new", "indeterminate", "done"]
SprintState = Literal["future", "active", "closed"]
DateLike = datetime | str | None


@dataclass(frozen=True)
class JiraFlavour:
    """What differs between Jira Cloud and Jira Server/Data Center, as far as Sprint Wins cares."""

    name: Flavour
    deployment_type: str
    version: str
    version_numbers: tuple[int, int, int]
    points_field_id: str
    points_field_name: str
    points_field_custom_type: str
    sprint_field_id: str
    rank_field_id: str


FLAVOURS: dict[Flavour, JiraFlavour] = {
    "cloud": JiraFlavour(
        name="cloud",
        deployment_type="Cloud",
        version="1001.0.0-SNAPSHOT",
        version_numbers=(1001, 0, 0),
        points_field_id="customfield_10016",
        points_field_name="Story point estimate",
        # Cloud's estimate field is a greenhopper type, not the generic float Server uses.
        points_field_custom_type="com.pyxis.greenhopper.jira:jsw-story-points",
        sprint_field_id="customfield_10020",
        rank_field_id="customfield_10019",
    ),
    "server": JiraFlavour(
        name="server",
        deployment_type="Server",
        version="9.12.15",
        version_numbers=(9, 12, 15),
        points_field_id="customfield_10002",
        points_field_name="Story Points",
        points_field_custom_type="com.atlassian.jira.plugin.system.customfieldtypes:float",
        sprint_field_id="customfield_10005",
        rank_field_id="customfield_10006",
    ),
}

_STATUS_CATEGORIES: dict[str, dict[str, Any]] = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
_STATUS_IDS = {"To Do": "10000", "In Progress": "3", "Done": "10001"}
_ISSUE_TYPE_IDS = {"Story": "10001", "Task": "10002", "Bug": "10004", "Epic": "10000", "Sub-task": "10003"}
_SUBTASK_TYPES = frozenset({"Sub-task", "Subtask"})
_DEFAULT_CREATED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_ISSUE_EXPAND = "operations,versionedRepresentations,editmeta,changelog,renderedFields"


class JiraCall(NamedTuple):
    """One request as the stand-in saw it; repeated query keys are joined with commas."""

    method: str
    path: str
    query: dict[str, str]


@dataclass(frozen=True)
class JiraUser:
    ident: str  # accountId on Cloud, username (`name`) on Server
    display_name: str
    email: str | None
    time_zone: str
    server_key: str


@dataclass
class _Board:
    id: int
    name: str
    project_key: str
    project_name: str
    estimation_field_id: str | None
    type: str


@dataclass
class _Sprint:
    id: int
    board_id: int
    name: str
    state: SprintState
    start: datetime | None
    end: datetime | None
    complete: datetime | None
    goal: str | None


@dataclass
class _Issue:
    id: int
    key: str
    project_key: str
    sprint_ids: list[int]
    points: float | None
    status_category: StatusCategory
    status_name: str
    issue_type: str
    assignee: str | None
    labels: list[str]
    summary: str
    created: datetime
    updated: datetime
    resolutiondate: datetime | None


@dataclass
class _Reply:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class _JqlError(ValueError):
    pass


_Handler = Callable[..., _Reply]


def _error(status: int, message: str) -> _Reply:
    return _Reply({"errorMessages": [message], "errors": {}}, status=status)


def _as_datetime(value: DateLike) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _agile_date(value: datetime | None) -> str | None:
    """Agile API dates: ``2026-11-02T09:00:00.000Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _issue_date(value: datetime | None) -> str | None:
    """Issue field dates: ``2026-11-05T14:03:11.000+0000``."""
    if value is None:
        return None
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.partition("-")
    return project, int(number) if number.isdigit() else 0


class _JqlFilter:
    """The small JQL subset the stand-in understands.

    Clauses joined by ``AND`` (no ``OR``, no parentheses other than ``in (...)`` lists), then an
    optional ``ORDER BY <field> [ASC|DESC]`` over key, created, updated, resolved/resolutiondate.

    Fields: sprint (id or name; ``in openSprints()`` / ``closedSprints()`` / ``futureSprints()``),
    project, key, status, statusCategory (key or name), issuetype/type, assignee, labels
    (=, !=, in, not in, ``is [not] EMPTY``), and created/updated/resolved/resolutiondate compared
    with ``>, >=, <, <=`` to ``"YYYY-MM-DD"`` or ``"YYYY-MM-DD HH:MM"`` (UTC).
    """

    _CLAUSE = re.compile(
        r"^\s*(?P<field>[A-Za-z]+)\s*(?P<op>!=|>=|<=|=|>|<|not\s+in\b|in\b|is\s+not\b|is\b)\s*(?P<value>.+?)\s*$",
        re.IGNORECASE,
    )
    _ORDER_BY = re.compile(
        r"\s+order\s+by\s+(?P<field>\w+)(?:\s+(?P<direction>asc|desc))?\s*$", re.IGNORECASE
    )
    _DATE_FIELDS = {
        "created": "created",
        "updated": "updated",
        "resolved": "resolutiondate",
        "resolutiondate": "resolutiondate",
    }

    def __init__(self, jql: str, sprints: dict[int, _Sprint], users: dict[str, JiraUser]) -> None:
        self._sprints = sprints
        self._users = users
        self.order_field: str | None = None
        self.descending = False
        text = jql.strip()
        if text.lower().startswith("order by"):
            text = " " + text
        if match := self._ORDER_BY.search(text):
            self.order_field = match["field"].lower()
            self.descending = (match["direction"] or "asc").lower() == "desc"
            text = text[: match.start()]
        if re.search(r"\s+or\s+", text, re.IGNORECASE):
            raise _JqlError("the stand-in does not support OR")
        clauses = [c for c in re.split(r"\s+and\s+", text, flags=re.IGNORECASE) if c.strip()]
        self._predicates = [self._compile(clause) for clause in clauses]
        if self.order_field not in (None, "key", "rank", *self._DATE_FIELDS):
            raise _JqlError(f"cannot order by {self.order_field}")

    def select(self, issues: Iterable[_Issue]) -> list[_Issue]:
        selected = [issue for issue in issues if all(p(issue) for p in self._predicates)]
        if self.order_field == "key":
            selected.sort(key=lambda i: _key_order(i.key), reverse=self.descending)
        elif self.order_field in self._DATE_FIELDS:
            attribute = self._DATE_FIELDS[self.order_field]
            floor = datetime.min.replace(tzinfo=UTC)
            selected.sort(key=lambda i: getattr(i, attribute) or floor, reverse=self.descending)
        elif self.descending:
            selected.reverse()
        return selected

    @staticmethod
    def _values(raw: str) -> list[str]:
        raw = raw.strip()
        if raw.startswith("(") and raw.endswith(")"):
            raw = raw[1:-1]
        return [part.strip().strip("\"'") for part in raw.split(",") if part.strip()]

    def _compile(self, clause: str) -> Callable[[_Issue], bool]:
        match = self._CLAUSE.match(clause)
        if match is None:
            raise _JqlError(f"cannot parse clause {clause!r}")
        name, op = match["field"].lower(), " ".join(match["op"].lower().split())
        raw_value = match["value"]

        if op in ("is", "is not"):
            if raw_value.strip().upper() not in ("EMPTY", "NULL"):
                raise _JqlError(f"only EMPTY is supported after IS in {clause!r}")
            attribute = {"assignee": "assignee", "resolution": "resolutiondate", "sprint": "sprint_ids"}
            if name not in attribute:
                raise _JqlError(f"cannot test {name} for EMPTY")
            attr = attribute[name]
            return lambda issue: (not getattr(issue, attr)) == (op == "is")

        if name in self._DATE_FIELDS:
            return self._date_predicate(clause, self._DATE_FIELDS[name], op, raw_value)

        if name == "sprint" and re.fullmatch(r"\s*\w+Sprints\(\)\s*", raw_value):
            state = {"opensprints()": "active", "closedsprints()": "closed", "futuresprints()": "future"}.get(
                raw_value.strip().lower()
            )
            if state is None or op not in ("in", "not in"):
                raise _JqlError(f"unsupported sprint function in {clause!r}")
            sprint_ids = {s.id for s in self._sprints.values() if s.state == state}
            return lambda issue: bool(sprint_ids & set(issue.sprint_ids)) == (op == "in")

        values = self._values(raw_value)
        if op in ("=", "!="):
            if len(values) != 1:
                raise _JqlError(f"expected one value in {clause!r}")
        elif op not in ("in", "not in"):
            raise _JqlError(f"operator {op} is not supported for {name}")
        wanted = {v.lower() for v in values}
        extract = self._extractor(clause, name)
        positive = op in ("=", "in")
        return lambda issue: bool(extract(issue) & wanted) == positive

    def _extractor(self, clause: str, name: str) -> Callable[[_Issue], set[str]]:
        if name == "sprint":

            def sprint_values(issue: _Issue) -> set[str]:
                found = {str(sid) for sid in issue.sprint_ids}
                found |= {self._sprints[sid].name.lower() for sid in issue.sprint_ids if sid in self._sprints}
                return found

            return sprint_values
        if name == "project":
            return lambda issue: {issue.project_key.lower()}
        if name in ("key", "issuekey", "issue"):
            return lambda issue: {issue.key.lower()}
        if name == "status":
            return lambda issue: {issue.status_name.lower()}
        if name == "statuscategory":
            return lambda issue: {
                issue.status_category,
                str(_STATUS_CATEGORIES[issue.status_category]["name"]).lower(),
            }
        if name in ("issuetype", "type"):
            return lambda issue: {issue.issue_type.lower()}
        if name == "assignee":
            return lambda issue: {issue.assignee.lower()} if issue.assignee else set()
        if name == "labels":
            return lambda issue: {label.lower() for label in issue.labels}
        raise _JqlError(f"the stand-in does not understand the field in {clause!r}")

    @staticmethod
    def _date_predicate(clause: str, attribute: str, op: str, raw_value: str) -> Callable[[_Issue], bool]:
        text = raw_value.strip().strip("\"'").replace("/", "-")
        try:
            bound = datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError as error:
            raise _JqlError(f"only absolute dates are supported in {clause!r}") from error
        compare: dict[str, Callable[[datetime, datetime], bool]] = {
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
        }
        if op not in compare:
            raise _JqlError(f"operator {op} is not supported for dates")
        check = compare[op]

        def predicate(issue: _Issue) -> bool:
            value = getattr(issue, attribute)
            return value is not None and check(value, bound)

        return predicate


class JiraStandIn(LocalHTTPServer):
    """A threaded HTTP server that answers the Jira endpoints Sprint Wins uses.

    Args:
        flavour: "cloud" or "server" (see the module docstring).
        page_cap: the server-side maximum page size, whatever `maxResults` asks for.
        email / api_token: the Cloud basic-auth credentials that are accepted.
        pat: the Server personal access token that is accepted (as ``Authorization: Bearer``).
    """

    def __init__(
        self,
        flavour: Flavour = "cloud",
        *,
        page_cap: int = 50,
        email: str = "sprintwins-bot@example.com",
        api_token: str = "cloud-api-token",
        pat: str = "server-personal-access-token",
    ) -> None:
        super().__init__()
        if flavour not in FLAVOURS:
            raise ValueError(f"unknown Jira flavour {flavour!r}")
        self.flavour = FLAVOURS[flavour]
        self.page_cap = page_cap
        self.email, self.api_token, self.pat = email, api_token, pat
        # Accepted credentials: basic auth user -> secret, and bearer tokens.
        self.basic_credentials: dict[str, str] = {email: api_token} if flavour == "cloud" else {}
        self.bearer_tokens: set[str] = {pat} if flavour == "server" else set()

        self._lock = threading.RLock()
        self._boards: dict[int, _Board] = {}
        self._sprints: dict[int, _Sprint] = {}
        self._issues: dict[str, _Issue] = {}
        self._users: dict[str, JiraUser] = {}
        self._next_issue_id = 10000
        self._calls: list[JiraCall] = []
        self._throttle_remaining = 0
        self._throttle_retry_after = 1
        self._throttle_status = 429
        self._throttled = 0
        self.bot = self.add_user(
            "712020:sprintwins-bot" if flavour == "cloud" else "sprintwins-bot",
            display_name="Sprint Wins Bot",
            email=email,
        )

    # -- seeding -----------------------------------------------------------------------------------

    def add_user(
        self, ident: str, *, display_name: str | None = None, email: str | None = None, time_zone: str = "UTC"
    ) -> JiraUser:
        """Register a user; `ident` is the accountId (Cloud) or the username (Server)."""
        with self._lock:
            user = JiraUser(
                ident=ident,
                display_name=display_name or ident,
                email=email,
                time_zone=time_zone,
                server_key=f"JIRAUSER{10100 + len(self._users)}",
            )
            self._users[ident] = user
            return user

    def add_board(
        self,
        id: int,
        name: str,
        project_key: str,
        *,
        project_name: str | None = None,
        estimation_field_id: str | Literal["default"] | None = "default",
        board_type: str = "scrum",
    ) -> None:
        """Add a board; its estimation field defaults to the flavour's story points field
        (pass None for a board that estimates by issue count)."""
        estimation = self.flavour.points_field_id if estimation_field_id == "default" else estimation_field_id
        with self._lock:
            self._boards[id] = _Board(
                id, name, project_key, project_name or f"{project_key} project", estimation, board_type
            )

    def add_sprint(
        self,
        id: int,
        board_id: int,
        name: str,
        state: SprintState,
        start: DateLike = None,
        end: DateLike = None,
        complete: DateLike = None,
        goal: str | None = None,
    ) -> None:
        if state not in ("future", "active", "closed"):
            raise ValueError(f"unknown sprint state {state!r}")
        with self._lock:
            if board_id not in self._boards:
                raise KeyError(f"board {board_id} is not seeded")
            self._sprints[id] = _Sprint(
                id,
                board_id,
                name,
                state,
                _as_datetime(start),
                _as_datetime(end),
                _as_datetime(complete),
                goal,
            )

    def add_issue(
        self,
        key: str,
        sprint_ids: Sequence[int] = (),
        points: float | None = None,
        status_category: StatusCategory = "new",
        issue_type: str = "Story",
        assignee: str | None = None,
        resolutiondate: DateLike = None,
        labels: Iterable[str] = (),
        summary: str | None = None,
        *,
        status_name: str | None = None,
        created: DateLike = None,
        updated: DateLike = None,
    ) -> None:
        """Add an issue. A done issue without `resolutiondate` is resolved at its `updated` time.

        `assignee` is an accountId (Cloud) or username (Server); unknown ones are registered.
        """
        if status_category not in _STATUS_CATEGORIES:
            raise ValueError(f"unknown status category {status_category!r}")
        with self._lock:
            for sprint_id in sprint_ids:
                if sprint_id not in self._sprints:
                    raise KeyError(f"sprint {sprint_id} is not seeded")
            if assignee is not None and assignee not in self._users:
                self.add_user(assignee)
            created_at = _as_datetime(created) or self._default_created(sprint_ids)
            resolved_at = _as_datetime(resolutiondate)
            updated_at = _as_datetime(updated) or resolved_at or created_at
            if status_category == "done" and resolved_at is None:
                resolved_at = updated_at
            self._next_issue_id += 1
            self._issues[key] = _Issue(
                id=self._next_issue_id,
                key=key,
                project_key=key.rpartition("-")[0] or key,
                sprint_ids=list(sprint_ids),
                points=float(points) if points is not None else None,
                status_category=status_category,
                status_name=status_name or str(_STATUS_CATEGORIES[status_category]["name"]),
                issue_type=issue_type,
                assignee=assignee,
                labels=list(labels),
                summary=summary or f"Work item {key}",
                created=created_at,
                updated=updated_at,
                resolutiondate=resolved_at,
            )

    def add_issues(
        self,
        count: int,
        sprint_ids: Sequence[int],
        *,
        project_key: str | None = None,
        points_cycle: Sequence[float | None] = (1, 2, 3, 5, 8),
        status_category: StatusCategory = "new",
        issue_type: str = "Story",
    ) -> list[str]:
        """Add `count` issues numbered after the project's existing ones; returns their keys."""
        with self._lock:
            if project_key is None:
                if not sprint_ids:
                    raise ValueError("project_key is required when no sprint is given")
                project_key = self._boards[self._sprints[sprint_ids[0]].board_id].project_key
            prefix = f"{project_key}-"
            taken = [_key_order(k)[1] for k in self._issues if k.startswith(prefix)]
            first = max(taken, default=0) + 1
            keys = [f"{project_key}-{n}" for n in range(first, first + count)]
            for index, key in enumerate(keys):
                points = points_cycle[index % len(points_cycle)] if points_cycle else None
                self.add_issue(key, sprint_ids, points, status_category, issue_type)
            return keys

    def _default_created(self, sprint_ids: Sequence[int]) -> datetime:
        starts = [self._sprints[s].start for s in sprint_ids if self._sprints[s].start is not None]
        return min(s for s in starts if s is not None) if starts else _DEFAULT_CREATED

    # -- fault injection and recording -------------------------------------------------------------

    def throttle_next(self, n: int, retry_after: int = 1, status: int = 429) -> None:
        """Answer the next `n` requests (any endpoint) with `status` and ``Retry-After``."""
        with self._lock:
            self._throttle_remaining = n
            self._throttle_retry_after = retry_after
            self._throttle_status = status

    @property
    def calls(self) -> list[JiraCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, path: str) -> list[JiraCall]:
        return [call for call in self.calls if call.path == path]

    def throttled_count(self) -> int:
        with self._lock:
            return self._throttled

    def reset_calls(self) -> None:
        """Forget recorded calls and pending throttling (seeded data stays)."""
        with self._lock:
            self._calls.clear()
            self._throttle_remaining = 0
            self._throttled = 0

    # -- HTTP entry point --------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        query = {key: ",".join(values) for key, values in request.args.lists()}
        with self._lock:
            self._calls.append(JiraCall(request.method, request.path, query))
            reply = self._dispatch(request)
        return Response(
            json.dumps(reply.body), status=reply.status, headers=reply.headers, mimetype="application/json"
        )

    def _dispatch(self, request: Request) -> _Reply:
        if self._throttle_remaining > 0:
            self._throttle_remaining -= 1
            self._throttled += 1
            reply = _error(self._throttle_status, "Rate limit exceeded.")
            reply.headers = {
                "Retry-After": str(self._throttle_retry_after),
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-FillRate": "10",
                "X-RateLimit-Interval-Seconds": "1",
            }
            return reply
        authenticated = self._authenticate(request)
        if authenticated is False:
            reply = _error(
                401, "You are not authenticated. Authentication required to perform this operation."
            )
            if self.flavour.name == "server":
                reply.headers = {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED", "X-AUSERNAME": "anonymous"}
            return reply
        if request.method != "GET":
            return _error(405, f"The stand-in only answers GET, not {request.method}.")
        route = self._route(request.path)
        if route is None:
            return _error(404, f"No stand-in route for {request.path}.")
        handler, args, public = route
        if authenticated is None and not public:
            return _error(
                401, "You are not authenticated. Authentication required to perform this operation."
            )
        try:
            return handler(request.args, *args)
        except _JqlError as error:
            return _Reply({"errorMessages": [f"Error in the JQL Query: {error}."], "errors": {}}, status=400)
        except ValueError as error:  # e.g. maxResults=abc: Jira answers 400, not 500
            return _error(400, f"Invalid request parameter: {error}")

    def _authenticate(self, request: Request) -> bool | None:
        """True: valid credentials; None: anonymous; False: credentials that must be rejected."""
        authorization = request.headers.get("Authorization", "")
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, secret = base64.b64decode(value).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return user in self.basic_credentials and self.basic_credentials[user] == secret
        if scheme.lower() == "bearer":
            return value.strip() in self.bearer_tokens
        return False

    def _route(self, path: str) -> tuple[_Handler, tuple[Any, ...], bool] | None:
        """(handler, path arguments, reachable anonymously) for a request path."""
        api = re.fullmatch(r"/rest/api/(?:2|3|latest)/(.+)", path)
        if api:
            rest = api[1].rstrip("/")
            simple: dict[str, tuple[_Handler, bool]] = {
                "serverInfo": (self._server_info, True),
                "myself": (self._myself, False),
                "field": (self._fields, False),
                "search": (self._search, False),
            }
            if rest in simple:
                handler, public = simple[rest]
                return handler, (), public
            if rest == "search/jql" and self.flavour.name == "cloud":
                return self._enhanced_search, (), False
            if match := re.fullmatch(r"issue/([A-Za-z0-9-]+)", rest):
                return self._issue, (match[1],), False
            return None
        if path.rstrip("/") == "/rest/auth/1/session":
            return self._session, (), False
        agile = re.fullmatch(r"/rest/agile/1\.0/(.+)", path)
        if agile is None:
            return None
        rest = agile[1].rstrip("/")
        patterns: list[tuple[str, _Handler]] = [
            (r"board", self._boards_list),
            (r"board/(\d+)", self._board),
            (r"board/(\d+)/configuration", self._board_configuration),
            (r"board/(\d+)/sprint", self._board_sprints),
            (r"board/(\d+)/sprint/(\d+)/issue", self._board_sprint_issues),
            (r"sprint/(\d+)", self._sprint),
            (r"sprint/(\d+)/issue", self._sprint_issues),
        ]
        for pattern, handler in patterns:
            if match := re.fullmatch(pattern, rest):
                return handler, tuple(int(group) for group in match.groups()), False
        return None

    # -- representations ---------------------------------------------------------------------------

    def _user_json(self, user: JiraUser) -> dict[str, Any]:
        if self.flavour.name == "cloud":
            body: dict[str, Any] = {
                "self": f"{self.url}/rest/api/2/user?accountId={user.ident}",
                "accountId": user.ident,
                "accountType": "atlassian",
            }
        else:
            body = {
                "self": f"{self.url}/rest/api/2/user?username={user.ident}",
                "name": user.ident,
                "key": user.server_key,
            }
        if user.email:
            body["emailAddress"] = user.email
        body.update(displayName=user.display_name, active=True, timeZone=user.time_zone)
        return body

    def _sprint_json(self, sprint: _Sprint) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": sprint.id,
            "self": f"{self.url}/rest/agile/1.0/sprint/{sprint.id}",
            "state": sprint.state,
            "name": sprint.name,
        }
        if sprint.start is not None:
            body["startDate"] = _agile_date(sprint.start)
            if self.flavour.name == "cloud":
                body["activatedDate"] = _agile_date(sprint.start)
        if sprint.end is not None:
            body["endDate"] = _agile_date(sprint.end)
        if sprint.complete is not None:
            body["completeDate"] = _agile_date(sprint.complete)
        body["originBoardId"] = sprint.board_id
        body["goal"] = sprint.goal or ""
        return body

    def _sprint_field_value(self, sprint: _Sprint) -> dict[str, Any] | str:
        if self.flavour.name == "cloud":
            value: dict[str, Any] = {
                "id": sprint.id,
                "name": sprint.name,
                "state": sprint.state,
                "boardId": sprint.board_id,
                "goal": sprint.goal or "",
            }
            for name, date in (("startDate", sprint.start), ("endDate", sprint.end)):
                if date is not None:
                    value[name] = _agile_date(date)
            if sprint.complete is not None:
                value["completeDate"] = _agile_date(sprint.complete)
            return value
        # Jira Server serialises sprints with Java's toString(); parsers must cope with this.
        attributes = [
            f"id={sprint.id}",
            f"rapidViewId={sprint.board_id}",
            f"state={sprint.state.upper()}",
            f"name={sprint.name}",
            f"startDate={_agile_date(sprint.start) or '<null>'}",
            f"endDate={_agile_date(sprint.end) or '<null>'}",
            f"completeDate={_agile_date(sprint.complete) or '<null>'}",
            f"sequence={sprint.id}",
            f"goal={sprint.goal if sprint.goal is not None else '<null>'}",
        ]
        identity = format((sprint.id * 0x9E37) & 0xFFFF, "x")
        return f"com.atlassian.greenhopper.service.sprint.Sprint@{identity}[{','.join(attributes)}]"

    def _issue_json(self, issue: _Issue, wanted: set[str] | None) -> dict[str, Any]:
        board = next((b for b in self._boards.values() if b.project_key == issue.project_key), None)
        category = _STATUS_CATEGORIES[issue.status_category]
        status_id = _STATUS_IDS.get(issue.status_name, "10100")
        type_id = _ISSUE_TYPE_IDS.get(issue.issue_type, "10005")
        is_subtask = issue.issue_type in _SUBTASK_TYPES
        issue_type: dict[str, Any] = {
            "self": f"{self.url}/rest/api/2/issuetype/{type_id}",
            "id": type_id,
            "name": issue.issue_type,
            "subtask": is_subtask,
        }
        if self.flavour.name == "cloud":
            issue_type["hierarchyLevel"] = -1 if is_subtask else (1 if issue.issue_type == "Epic" else 0)
        assignee = self._users.get(issue.assignee) if issue.assignee else None
        sprints = [self._sprints[s] for s in issue.sprint_ids if s in self._sprints]
        fields: dict[str, Any] = {
            "summary": issue.summary,
            "issuetype": issue_type,
            "status": {
                "self": f"{self.url}/rest/api/2/status/{status_id}",
                "id": status_id,
                "name": issue.status_name,
                "statusCategory": {
                    "self": f"{self.url}/rest/api/2/statuscategory/{category['id']}",
                    **category,
                },
            },
            "resolution": (
                {"self": f"{self.url}/rest/api/2/resolution/10000", "id": "10000", "name": "Done"}
                if issue.resolutiondate is not None
                else None
            ),
            "resolutiondate": _issue_date(issue.resolutiondate),
            "assignee": self._user_json(assignee) if assignee else None,
            "labels": list(issue.labels),
            "project": {
                "self": f"{self.url}/rest/api/2/project/{issue.project_key}",
                "id": str(10000 + sum(map(ord, issue.project_key))),
                "key": issue.project_key,
                "name": board.project_name if board else issue.project_key,
                "projectTypeKey": "software",
            },
            "created": _issue_date(issue.created),
            "updated": _issue_date(issue.updated),
            self.flavour.points_field_id: issue.points,
            self.flavour.sprint_field_id: [self._sprint_field_value(s) for s in sprints] or None,
        }
        if wanted is not None:
            fields = {name: value for name, value in fields.items() if name in wanted}
        return {
            "expand": _ISSUE_EXPAND,
            "id": str(issue.id),
            "self": f"{self.url}/rest/api/2/issue/{issue.id}",
            "key": issue.key,
            "fields": fields,
        }

    @staticmethod
    def _wanted_fields(args: MultiDict[str, str]) -> set[str] | None:
        """None means every field (``*all``, ``*navigable`` or no `fields` parameter)."""
        requested = {
            part.strip() for value in args.getlist("fields") for part in value.split(",") if part.strip()
        }
        if not requested or requested & {"*all", "*navigable"}:
            return None
        return requested

    def _page_bounds(self, args: MultiDict[str, str]) -> tuple[int, int]:
        start_at = max(0, int(args.get("startAt", "0") or 0))
        requested = int(args.get("maxResults", str(self.page_cap)) or self.page_cap)
        max_results = self.page_cap if requested < 0 else min(requested, self.page_cap)
        return start_at, max_results

    def _issue_page(self, args: MultiDict[str, str], issues: list[_Issue]) -> _Reply:
        selected = _JqlFilter(args.get("jql", ""), self._sprints, self._users).select(issues)
        start_at, max_results = self._page_bounds(args)
        wanted = self._wanted_fields(args)
        page = selected[start_at : start_at + max_results]
        return _Reply(
            {
                "expand": "schema,names",
                "startAt": start_at,
                "maxResults": max_results,
                "total": len(selected),
                "issues": [self._issue_json(issue, wanted) for issue in page],
            }
        )

    # -- endpoints ---------------------------------------------------------------------------------

    def _server_info(self, args: MultiDict[str, str]) -> _Reply:
        return _Reply(
            {
                "baseUrl": self.url,
                "version": self.flavour.version,
                "versionNumbers": list(self.flavour.version_numbers),
                "deploymentType": self.flavour.deployment_type,
                "buildNumber": 100_250 if self.flavour.name == "cloud" else 9_120_015,
                "buildDate": "2026-10-01T00:00:00.000+0000",
                "serverTime": _issue_date(datetime.now(UTC)),
                "scmInfo": "0000000000000000000000000000000000000000",
                "serverTitle": "Jira",
            }
        )

    def _myself(self, args: MultiDict[str, str]) -> _Reply:
        return _Reply(self._user_json(self.bot))

    def _session(self, args: MultiDict[str, str]) -> _Reply:
        return _Reply(
            {
                "self": f"{self.url}/rest/api/latest/user?username={self.bot.ident}",
                "name": self.bot.ident,
                "loginInfo": {"loginCount": 1, "previousLoginTime": "2026-11-01T09:00:00.000+0000"},
            }
        )

    def _fields(self, args: MultiDict[str, str]) -> _Reply:
        def system(field_id: str, name: str, schema_type: str, items: str | None = None) -> dict[str, Any]:
            schema: dict[str, Any] = {"type": schema_type, "system": field_id}
            if items:
                schema["items"] = items
            return {
                "id": field_id,
                "key": field_id,
                "name": name,
                "custom": False,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [field_id],
                "schema": schema,
            }

        def custom(field_id: str, name: str, schema: dict[str, Any]) -> dict[str, Any]:
            number = int(field_id.removeprefix("customfield_"))
            return {
                "id": field_id,
                "key": field_id,
                "name": name,
                "custom": True,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [f"cf[{number}]", name],
                "schema": {**schema, "customId": number},
            }

        flavour = self.flavour
        sprint_items = "json" if flavour.name == "cloud" else "string"
        return _Reply(
            [
                system("summary", "Summary", "string"),
                system("issuetype", "Issue Type", "issuetype"),
                system("status", "Status", "status"),
                system("resolution", "Resolution", "resolution"),
                system("resolutiondate", "Resolved", "datetime"),
                system("assignee", "Assignee", "user"),
                system("labels", "Labels", "array", items="string"),
                system("project", "Project", "project"),
                system("created", "Created", "datetime"),
                system("updated", "Updated", "datetime"),
                custom(
                    flavour.points_field_id,
                    flavour.points_field_name,
                    {"type": "number", "custom": flavour.points_field_custom_type},
                ),
                custom(
                    flavour.sprint_field_id,
                    "Sprint",
                    {
                        "type": "array",
                        "items": sprint_items,
                        "custom": "com.pyxis.greenhopper.jira:gh-sprint",
                    },
                ),
                custom(
                    flavour.rank_field_id,
                    "Rank",
                    {"type": "any", "custom": "com.pyxis.greenhopper.jira:gh-lexo-rank"},
                ),
            ]
        )

    def _search(self, args: MultiDict[str, str]) -> _Reply:
        return self._issue_page(args, list(self._issues.values()))

    def _enhanced_search(self, args: MultiDict[str, str]) -> _Reply:
        """Cloud's ``/search/jql``: pages linked by an opaque `nextPageToken`, no `total`."""
        selected = _JqlFilter(args.get("jql", ""), self._sprints, self._users).select(self._issues.values())
        token = args.get("nextPageToken")
        try:
            start_at = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
        except (ValueError, binascii.Error):
            return _error(400, "The provided next page token is invalid or expired.")
        _, max_results = self._page_bounds(MultiDict({"maxResults": args.get("maxResults", "50")}))
        wanted = self._wanted_fields(args)
        page = selected[start_at : start_at + max_results]
        body: dict[str, Any] = {"issues": [self._issue_json(issue, wanted) for issue in page]}
        if start_at + max_results < len(selected):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(start_at + max_results).encode()).decode()
            body["isLast"] = False
        else:
            body["isLast"] = True
        return _Reply(body)

    def _issue(self, args: MultiDict[str, str], key: str) -> _Reply:
        issue = self._issues.get(key) or next((i for i in self._issues.values() if str(i.id) == key), None)
        if issue is None:
            return _error(404, "Issue does not exist or you do not have permission to see it.")
        return _Reply(self._issue_json(issue, self._wanted_fields(args)))

    def _board_or_404(self, board_id: int) -> _Board | _Reply:
        board = self._boards.get(board_id)
        if board is None:
            return _error(
                404,
                "The requested board cannot be viewed because it either does not exist "
                "or you do not have permission to view it.",
            )
        return board

    def _board_json(self, board: _Board) -> dict[str, Any]:
        return {
            "id": board.id,
            "self": f"{self.url}/rest/agile/1.0/board/{board.id}",
            "name": board.name,
            "type": board.type,
            "location": {
                "projectKey": board.project_key,
                "projectName": board.project_name,
                "displayName": f"{board.project_name} ({board.project_key})",
                "projectTypeKey": "software",
                "name": f"{board.project_name} ({board.project_key})",
            },
        }

    def _boards_list(self, args: MultiDict[str, str]) -> _Reply:
        boards = sorted(self._boards.values(), key=lambda b: b.id)
        if project := args.get("projectKeyOrId"):
            boards = [b for b in boards if b.project_key == project]
        if name := args.get("name"):
            boards = [b for b in boards if name.lower() in b.name.lower()]
        start_at, max_results = self._page_bounds(args)
        page = boards[start_at : start_at + max_results]
        return _Reply(
            {
                "maxResults": max_results,
                "startAt": start_at,
                "total": len(boards),
                "isLast": start_at + max_results >= len(boards),
                "values": [self._board_json(b) for b in page],
            }
        )

    def _board(self, args: MultiDict[str, str], board_id: int) -> _Reply:
        board = self._board_or_404(board_id)
        return board if isinstance(board, _Reply) else _Reply(self._board_json(board))

    def _board_configuration(self, args: MultiDict[str, str], board_id: int) -> _Reply:
        board = self._board_or_404(board_id)
        if isinstance(board, _Reply):
            return board
        estimation: dict[str, Any] = {"type": "issueCount"}
        if board.estimation_field_id is not None:
            display_name = (
                self.flavour.points_field_name
                if board.estimation_field_id == self.flavour.points_field_id
                else board.estimation_field_id
            )
            estimation = {
                "type": "field",
                "field": {"fieldId": board.estimation_field_id, "displayName": display_name},
            }
        columns = [
            {
                "name": name,
                "statuses": [{"id": _STATUS_IDS[name], "self": f"{self.url}/rest/api/2/status/{sid}"}],
            }
            for name, sid in _STATUS_IDS.items()
        ]
        return _Reply(
            {
                "id": board.id,
                "name": board.name,
                "type": board.type,
                "self": f"{self.url}/rest/agile/1.0/board/{board.id}/configuration",
                "location": {"type": "project", "key": board.project_key, "name": board.project_name},
                "filter": {
                    "id": str(10000 + board.id),
                    "self": f"{self.url}/rest/api/2/filter/{10000 + board.id}",
                },
                "columnConfig": {"columns": columns, "constraintType": "issueCount"},
                "estimation": estimation,
                "ranking": {
                    "rankCustomFieldId": int(self.flavour.rank_field_id.removeprefix("customfield_"))
                },
            }
        )

    def _board_sprints(self, args: MultiDict[str, str], board_id: int) -> _Reply:
        board = self._board_or_404(board_id)
        if isinstance(board, _Reply):
            return board
        states = {s.strip().lower() for s in args.get("state", "").split(",") if s.strip()}
        sprints = sorted(
            (
                s
                for s in self._sprints.values()
                if s.board_id == board_id and (not states or s.state in states)
            ),
            key=lambda s: s.id,
        )
        start_at, max_results = self._page_bounds(args)
        page = sprints[start_at : start_at + max_results]
        return _Reply(
            {
                "maxResults": max_results,
                "startAt": start_at,
                "isLast": start_at + max_results >= len(sprints),
                "values": [self._sprint_json(s) for s in page],
            }
        )

    def _sprint_or_404(self, sprint_id: int) -> _Sprint | _Reply:
        sprint = self._sprints.get(sprint_id)
        if sprint is None:
            return _error(404, "Sprint does not exist or you do not have permission to view it.")
        return sprint

    def _sprint(self, args: MultiDict[str, str], sprint_id: int) -> _Reply:
        sprint = self._sprint_or_404(sprint_id)
        return sprint if isinstance(sprint, _Reply) else _Reply(self._sprint_json(sprint))

    def _sprint_issues(self, args: MultiDict[str, str], sprint_id: int) -> _Reply:
        sprint = self._sprint_or_404(sprint_id)
        if isinstance(sprint, _Reply):
            return sprint
        return self._issue_page(args, [i for i in self._issues.values() if sprint_id in i.sprint_ids])

    def _board_sprint_issues(self, args: MultiDict[str, str], board_id: int, sprint_id: int) -> _Reply:
        board = self._board_or_404(board_id)
        if isinstance(board, _Reply):
            return board
        return self._sprint_issues(args, sprint_id)
