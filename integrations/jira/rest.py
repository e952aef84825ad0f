"""Jira's REST and Agile APIs through the `jira` library: the client, the points field, sprints and issues.

Only reads. Rate limits are the library's business: its ``ResilientSession`` retries 429 and 503,
sleeping ``min(max_retry_delay, 2 * Retry-After)`` with jitter, up to ``max_retries`` times; we
bound both from settings so a throttled backfill waits politely but never for an hour.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jira import JIRA, JIRAError

from integrations.jira.parse import parse_event, parse_jira_datetime
from service.domain.events import IssueChanged, SprintAction, SprintChanged
from service.settings import Settings

# The greenhopper types Jira Software gives its own fields, whatever the site calls them.
STORY_POINTS_TYPE = "com.pyxis.greenhopper.jira:jsw-story-points"
SPRINT_FIELD_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"
# Names Jira's templates give the points field: "Story Points" (Server, company-managed Cloud)
# and "Story point estimate" (team-managed Cloud).
STORY_POINTS_NAMES = ("story points", "story point estimate")

# What a scope refresh or a backfill needs of an issue; the sprint field is added once resolved.
# The Agile API adds `sprint` and `closedSprints` itself on real Jira; asking is harmless elsewhere.
ISSUE_FIELDS = (
    "summary",
    "issuetype",
    "status",
    "resolution",
    "resolutiondate",
    "assignee",
    "labels",
    "project",
    "created",
    "updated",
    "sprint",
    "closedSprints",
)
PAGE_SIZE = 100  # what we ask for; servers cap it (Cloud at 50 or 100), and we follow `total`


class JiraNotConfigured(RuntimeError):
    """No Jira URL or no credentials: scope must be inferred from the events we observed."""


@dataclass(frozen=True)
class JiraSite:
    """Where and how to reach Jira, from settings; ``site`` keys per-site caches."""

    url: str
    basic_auth: tuple[str, str] | None = dataclasses.field(repr=False)  # secrets: never in a log line
    token_auth: str | None = dataclasses.field(repr=False)
    max_retries: int
    max_retry_delay_s: int
    timeout_s: float

    @property
    def site(self) -> str:
        return self.url.rstrip("/")

    @property
    def flavour(self) -> str:
        return "cloud" if self.basic_auth else "server"


def site_from_settings(settings: Settings) -> JiraSite | None:
    """The configured site, or None when Jira REST is not set up (the events-only mode).

    Cloud authenticates with an email and an API token (basic auth); Server and Data Center with
    a personal access token (bearer). When both are given, the Cloud pair wins: a PAT on Cloud is
    not a thing, while an email + token pair is never configured by accident.
    """
    if not settings.jira_url:
        return None
    basic: tuple[str, str] | None = None
    token: str | None = None
    if settings.jira_email and settings.jira_api_token:
        basic = (settings.jira_email, settings.jira_api_token)
    elif settings.jira_pat:
        token = settings.jira_pat
    else:
        return None
    return JiraSite(
        url=settings.jira_url.rstrip("/"),
        basic_auth=basic,
        token_auth=token,
        max_retries=settings.jira_max_retries,
        max_retry_delay_s=settings.jira_max_retry_delay_seconds,
        timeout_s=settings.jira_timeout_seconds,
    )


def site_with_credentials(settings: Settings, url: str, *, email: str | None, token: str) -> JiraSite:
    """A stored Jira site's REST access (``sprintwins jira add``), with the deployment's retry bounds.

    With an email, the token is a Cloud API token (basic auth); alone, a Server/Data Center personal
    access token (bearer), as with the settings.
    """
    return JiraSite(
        url=url.rstrip("/"),
        basic_auth=(email, token) if email else None,
        token_auth=None if email else token,
        max_retries=settings.jira_max_retries,
        max_retry_delay_s=settings.jira_max_retry_delay_seconds,
        timeout_s=settings.jira_timeout_seconds,
    )


def connect(site: JiraSite) -> JIRA:
    """A client for ``site``; no request is made until it is used."""
    client = JIRA(
        server=site.url,
        basic_auth=site.basic_auth,
        token_auth=site.token_auth,
        # serverInfo would cost a round trip per client and only matters to search_issues,
        # which we do not use: the Agile endpoints are the same on Cloud and Server.
        get_server_info=False,
        max_retries=site.max_retries,
        timeout=site.timeout_s,
    )
    # Not a constructor argument in jira 3.10; without it one Retry-After can mean a 60 s sleep.
    client._session.max_retry_delay = site.max_retry_delay_s
    return client


def client_from_settings(settings: Settings) -> JIRA:
    site = site_from_settings(settings)
    if site is None:
        raise JiraNotConfigured(
            "Jira REST needs SPRINTWINS_JIRA_URL plus SPRINTWINS_JIRA_EMAIL and SPRINTWINS_JIRA_API_TOKEN "
            "(Cloud) or SPRINTWINS_JIRA_PAT (Server/Data Center)"
        )
    return connect(site)


# -- the story points field ---------------------------------------------------------------------------


def resolve_points_field(
    client: JIRA, board_id: int | None = None, *, fields: Sequence[dict[str, Any]] | None = None
) -> str | None:
    """The custom field that holds story points: the board's estimation field, else the field list.

    A board that estimates by issue count (or that we may not read) tells us nothing, so the
    site's field list decides. None when the site has no points field at all. Pass ``fields``
    when the caller already holds the field list, to save the request.
    """
    if board_id is not None:
        field_id = board_estimation_field(client, board_id)
        if field_id:
            return field_id
    return points_field_from_list(client.fields() if fields is None else fields)


def board_estimation_field(client: JIRA, board_id: int) -> str | None:
    try:
        config = client._get_json(f"board/{board_id}/configuration", base=client.AGILE_BASE_URL)
    except JIRAError as error:
        if error.status_code in (403, 404):
            return None
        raise
    estimation = config.get("estimation") if isinstance(config, dict) else None
    if not isinstance(estimation, dict) or estimation.get("type") != "field":
        return None
    field = estimation.get("field")
    field_id = field.get("fieldId") if isinstance(field, dict) else None
    return field_id if isinstance(field_id, str) and field_id else None


def points_field_from_list(fields: Iterable[dict[str, Any]]) -> str | None:
    """Pick the points field from ``/rest/api/2/field``; the strongest evidence wins.

    In order: Jira Software's own story-points type; a field named exactly like Jira's
    templates name it; a number field whose name mentions story points.
    """
    ranked: list[tuple[int, str]] = []
    for field in fields:
        field_id = field.get("id")
        if not isinstance(field_id, str) or not field.get("custom"):
            continue
        schema = _object(field.get("schema"))
        name = str(field.get("name") or "").strip().lower()
        if schema.get("custom") == STORY_POINTS_TYPE:
            ranked.append((0, field_id))
        elif name in STORY_POINTS_NAMES:
            ranked.append((1 + STORY_POINTS_NAMES.index(name), field_id))
        elif schema.get("type") == "number" and "story point" in name:
            ranked.append((9, field_id))
    return min(ranked, key=lambda r: (r[0], _field_number(r[1])))[1] if ranked else None


def sprint_field_from_list(fields: Iterable[dict[str, Any]]) -> str | None:
    for field in fields:
        schema = _object(field.get("schema"))
        if schema.get("custom") == SPRINT_FIELD_TYPE and isinstance(field.get("id"), str):
            return str(field["id"])
    return None


def _field_number(field_id: str) -> int:
    number = field_id.removeprefix("customfield_")
    return int(number) if number.isdigit() else 1 << 30


# -- sprints and their issues --------------------------------------------------------------------------


def board_sprints(
    client: JIRA, board_id: int, states: Sequence[str] = ("active", "closed")
) -> list[dict[str, Any]]:
    """Every sprint of a board in ``states``, as the Agile API's raw JSON, every page."""
    state = ",".join(states) if states else None
    sprints = client.sprints(board_id, state=state, maxResults=False)
    return [dict(sprint.raw) for sprint in sprints]


def sprint(client: JIRA, sprint_id: int) -> dict[str, Any]:
    return dict(client.sprint(sprint_id).raw)


def sprint_issues(client: JIRA, sprint_id: int, fields: Sequence[str]) -> list[dict[str, Any]]:
    """Every issue of a sprint (``/rest/agile/1.0/sprint/{id}/issue``), as raw issue JSON.

    Pages by ``startAt`` until ``total`` is reached. The server caps the page size whatever we
    ask, so we advance by what actually came back; an empty page ends the loop even if ``total``
    disagrees, so a server that miscounts cannot keep us here.
    """
    issues: list[dict[str, Any]] = []
    seen: set[str] = set()
    start_at = 0
    while True:
        page = client._get_json(
            f"sprint/{sprint_id}/issue",
            params={"startAt": start_at, "maxResults": PAGE_SIZE, "fields": ",".join(fields)},
            base=client.AGILE_BASE_URL,
        )
        batch = [issue for issue in page.get("issues", []) if isinstance(issue, dict)]
        for issue in batch:
            key = str(issue.get("key"))
            if key not in seen:  # an issue ranked while we page may show up twice
                seen.add(key)
                issues.append(issue)
        start_at += len(batch)
        total = page.get("total")
        if not batch or (isinstance(total, int) and start_at >= total):
            return issues


# -- REST JSON as the typed events the webhook parser produces ------------------------------------------
#
# An issue from the REST API has the same shape as a webhook's ``issue``, so the webhook parser
# reads it: the recorder then cannot tell a backfilled issue from a delivered one.


def issue_event(raw_issue: dict[str, Any], points_field: str | None) -> IssueChanged | None:
    """The issue as an ``IssueChanged`` at its ``updated`` time; completions dated by ``resolutiondate``.

    ``updated`` orders it against webhook deliveries (a newer delivery wins, an older one is
    stale); a win's ``occurred_at`` is when the work was resolved, not when we happened to look.
    """
    fields = _object(raw_issue.get("fields"))
    stamp = parse_jira_datetime(fields.get("updated")) or parse_jira_datetime(fields.get("created"))
    if stamp is None:
        return None
    timestamp_ms = _millis(stamp)
    payload = {"webhookEvent": "jira:issue_updated", "timestamp": timestamp_ms, "issue": raw_issue}
    event = parse_event(payload, received_at_ms=timestamp_ms, points_field=points_field)
    if not isinstance(event, IssueChanged):
        return None
    resolved = parse_jira_datetime(fields.get("resolutiondate"))
    if event.is_complete and resolved is not None:
        event = dataclasses.replace(event, occurred_at=resolved)
    return event


def sprint_events(raw_sprint: dict[str, Any]) -> list[SprintChanged]:
    """``sprint_started`` at the sprint's start, and ``sprint_closed`` at its completion if closed."""
    events: list[SprintChanged] = []
    moments = [(SprintAction.STARTED, raw_sprint.get("startDate") or raw_sprint.get("activatedDate"))]
    if str(raw_sprint.get("state", "")).lower() == "closed":
        moments.append((SprintAction.CLOSED, raw_sprint.get("completeDate") or raw_sprint.get("endDate")))
    for action, raw_date in moments:
        moment = parse_jira_datetime(raw_date)
        if moment is None:
            continue
        payload = {
            "webhookEvent": f"sprint_{action.value}",
            "timestamp": _millis(moment),
            "sprint": raw_sprint,
        }
        event = parse_event(payload, received_at_ms=_millis(moment))
        if isinstance(event, SprintChanged):
            events.append(event)
    return events


def _object(value: object) -> dict[str, Any]:
    """A JSON object from the API, or an empty one where it sent something else."""
    return value if isinstance(value, dict) else {}


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
