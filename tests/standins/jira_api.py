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
is recorded in `calls`. JQL is understood only as far as `jira_jql.JqlFilter` documents: a clause
it does not understand is answered with HTTP 400, never silently ignored.

The endpoints live in `jira_rest_endpoints` and `jira_agile_endpoints`, the JSON bodies they share in
`jira_payloads`, and the seeded records and flavours in `jira_records`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from werkzeug.wrappers import Request, Response

from tests.standins.jira_agile_endpoints import JiraAgileEndpoints
from tests.standins.jira_jql import JqlError
from tests.standins.jira_records import (
    DEFAULT_CREATED,
    FLAVOURS,
    STATUS_CATEGORIES,
    BoardRecord,
    DateLike,
    Flavour,
    IssueRecord,
    JiraCall,
    JiraFlavour,
    JiraUser,
    Reply,
    SprintRecord,
    SprintState,
    StatusCategory,
    as_datetime,
    error_reply,
    key_order,
)
from tests.standins.jira_rest_endpoints import JiraRestEndpoints

__all__ = ["FLAVOURS", "Flavour", "JiraCall", "JiraFlavour", "JiraStandIn", "JiraUser"]

_Handler = Callable[..., Reply]


class JiraStandIn(JiraRestEndpoints, JiraAgileEndpoints):
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
        self._boards = {}
        self._sprints = {}
        self._issues = {}
        self._users = {}
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
            self._boards[id] = BoardRecord(
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
            self._sprints[id] = SprintRecord(
                id,
                board_id,
                name,
                state,
                as_datetime(start),
                as_datetime(end),
                as_datetime(complete),
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
        if status_category not in STATUS_CATEGORIES:
            raise ValueError(f"unknown status category {status_category!r}")
        with self._lock:
            for sprint_id in sprint_ids:
                if sprint_id not in self._sprints:
                    raise KeyError(f"sprint {sprint_id} is not seeded")
            if assignee is not None and assignee not in self._users:
                self.add_user(assignee)
            created_at = as_datetime(created) or self._default_created(sprint_ids)
            resolved_at = as_datetime(resolutiondate)
            updated_at = as_datetime(updated) or resolved_at or created_at
            if status_category == "done" and resolved_at is None:
                resolved_at = updated_at
            self._next_issue_id += 1
            self._issues[key] = IssueRecord(
                id=self._next_issue_id,
                key=key,
                project_key=key.rpartition("-")[0] or key,
                sprint_ids=list(sprint_ids),
                points=float(points) if points is not None else None,
                status_category=status_category,
                status_name=status_name or str(STATUS_CATEGORIES[status_category]["name"]),
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
            taken = [key_order(k)[1] for k in self._issues if k.startswith(prefix)]
            first = max(taken, default=0) + 1
            keys = [f"{project_key}-{n}" for n in range(first, first + count)]
            for index, key in enumerate(keys):
                points = points_cycle[index % len(points_cycle)] if points_cycle else None
                self.add_issue(key, sprint_ids, points, status_category, issue_type)
            return keys

    def _default_created(self, sprint_ids: Sequence[int]) -> datetime:
        starts = [self._sprints[s].start for s in sprint_ids if self._sprints[s].start is not None]
        return min(s for s in starts if s is not None) if starts else DEFAULT_CREATED

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

    def _dispatch(self, request: Request) -> Reply:
        if self._throttle_remaining > 0:
            self._throttle_remaining -= 1
            self._throttled += 1
            reply = error_reply(self._throttle_status, "Rate limit exceeded.")
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
            reply = error_reply(
                401, "You are not authenticated. Authentication required to perform this operation."
            )
            if self.flavour.name == "server":
                reply.headers = {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED", "X-AUSERNAME": "anonymous"}
            return reply
        if request.method != "GET":
            return error_reply(405, f"The stand-in only answers GET, not {request.method}.")
        route = self._route(request.path)
        if route is None:
            return error_reply(404, f"No stand-in route for {request.path}.")
        handler, args, public = route
        if authenticated is None and not public:
            return error_reply(
                401, "You are not authenticated. Authentication required to perform this operation."
            )
        try:
            return handler(request.args, *args)
        except JqlError as error:
            return Reply({"errorMessages": [f"Error in the JQL Query: {error}."], "errors": {}}, status=400)
        except ValueError as error:  # e.g. maxResults=abc: Jira answers 400, not 500
            return error_reply(400, f"Invalid request parameter: {error}")

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
