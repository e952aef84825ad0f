"""Keep a sprint's scope current: fetched from Jira REST when configured, inferred from events otherwise.

"Configured" is per workspace (``rest_site_for_workspace``): the REST credentials of the workspace's
Jira site, or for the implicit workspace the deployment-wide ``SPRINTWINS_JIRA_*`` settings.

The hook (wired by the pipeline): when a ``sprint_started``/``sprint_updated`` event is recorded, or
an issue moves into or out of a sprint, call ``request_scope_refresh([sprint jira id, ...])``. Its job
id is unique per sprint per minute, so a burst of moves costs one refresh.

Jira is asked outside any database transaction (a slow or throttled site must not hold locks): the
sprint's issues are fetched first (``fetch_sprint_scope``), then stored in a transaction of their own
(``store_fetched_scope``). The board backfill fetches and stores sprint scopes the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from jira import JIRA, JIRAError
from sqlalchemy.orm import Session

from integrations.jira import rest
from integrations.slack.installation import TokenCipher
from jobs import runtime
from jobs.queue import JobQueue
from service.db import Database
from service.domain.events import DomainEvent, IssueChanged, SprintAction, SprintChanged
from service.models import DEFAULT_WORKSPACE_ID, Sprint
from service.progress import points_field as points_fields
from service.progress import sprint_scope as scope
from service.settings import Settings
from service.workspaces import jira_sites

log = logging.getLogger(__name__)


def scope_refresh_targets(events: Iterable[DomainEvent]) -> set[int]:
    """Jira ids of the sprints whose scope these events may have changed.

    A sprint that started or was edited, and any sprint an issue moved into or out of.
    """
    targets: set[int] = set()
    for event in events:
        if isinstance(event, SprintChanged) and event.action in _SCOPE_ACTIONS:
            if event.sprint.jira_id is not None:
                targets.add(event.sprint.jira_id)
        elif isinstance(event, IssueChanged) and event.sprint_move is not None:
            targets.update(event.sprint_move.added_ids)
            targets.update(event.sprint_move.removed_ids)
            # Some sites name the sprints in the changelog without ids; the issue's sprint field
            # still has the id of the sprint it is in now. (A sprint left by name only is refreshed
            # at its next event.)
            targets.update(ref.jira_id for ref in event.sprints or () if ref.jira_id is not None)
    return targets


_SCOPE_ACTIONS = frozenset({SprintAction.STARTED, SprintAction.UPDATED})


def scope_job_id(sprint_jira_id: int, now: float, workspace_id: int = DEFAULT_WORKSPACE_ID) -> str:
    # Each workspace's Jira site numbers its own sprints: sprint 12 of two workspaces is two jobs.
    where = "" if workspace_id == DEFAULT_WORKSPACE_ID else f"w{workspace_id}-"
    return f"scope-refresh-{where}{sprint_jira_id}-{int(now // 60)}"


def request_scope_refresh(
    sprint_jira_ids: Iterable[int],
    queue: JobQueue | None = None,
    now: float | None = None,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> list[int]:
    """Enqueue a refresh for each sprint unless one was requested this minute; returns those enqueued.

    The sprints are ``workspace_id``'s: Jira ids are only unique within one site.
    """
    queue = queue or runtime.current().queue
    stamp = time.time() if now is None else now
    # The implicit workspace's jobs keep their one argument, as jobs queued before workspaces did.
    extra = () if workspace_id == DEFAULT_WORKSPACE_ID else (workspace_id,)
    return [
        sprint_id
        for sprint_id in sorted(set(sprint_jira_ids))
        if queue.enqueue_unique(
            refresh_sprint_scope, sprint_id, *extra, job_id=scope_job_id(sprint_id, stamp, workspace_id)
        )
    ]


def refresh_sprint_scope(sprint_jira_id: int, workspace_id: int = DEFAULT_WORKSPACE_ID) -> dict[str, Any]:
    """Fetch and store one sprint's scope. Idempotent: a refresh that finds nothing new writes nothing.

    Takes the sprint's Jira id and its workspace (primitives, for RQ's JSON serializer). Jira is
    read with the workspace's own credentials (``rest_site_for_workspace``); without any, the scope
    is inferred from the tickets the webhooks put in the sprint, and says so.
    """
    rt = runtime.current()
    with rt.database.sessions() as session:
        sprint = scope.sprint_by_jira_id(session, sprint_jira_id, workspace_id=workspace_id)
        if sprint is None:
            # The sprint is not ours (yet): its first event will make it and ask again.
            return {"sprint": sprint_jira_id, "status": "unknown sprint"}
        board_id = sprint.board_id
        site = rest_site_for_workspace(session, rt.settings, workspace_id)
    if site is None:
        with rt.database.transaction() as session:
            result = scope.store_events_scope(session, _reloaded(session, sprint.id))
        return {"sprint": sprint_jira_id, "status": "stored", **asdict(result)}
    client = rest.connect(site)
    try:
        points_field = points_field_for(
            rt.database, client, site.site, board_id, configured=rt.settings.story_points_field
        )
        fetched = fetch_sprint_scope(client, sprint_jira_id, points_field)
    except JIRAError as error:
        if error.status_code != 404:
            raise  # RQ retries; the library already retried 429s
        with rt.database.transaction() as session:
            scope.mark_removed_sprint(session, _reloaded(session, sprint.id))
        log.info("sprint %s is gone from Jira; its scope is marked removed", sprint_jira_id)
        return {"sprint": sprint_jira_id, "status": "gone from Jira"}
    finally:
        client.close()  # type: ignore[no-untyped-call]
    with rt.database.transaction() as session:
        result = store_fetched_scope(session, _reloaded(session, sprint.id), fetched)
    return {"sprint": sprint_jira_id, "status": "stored", **asdict(result)}


def rest_site_for_workspace(session: Session, settings: Settings, workspace_id: int) -> rest.JiraSite | None:
    """Where a workspace's REST reads (sprint scope, backfill) go; None: scope is inferred from events.

    The workspace's Jira site with REST credentials comes first (the oldest, if several have some).
    The deployment-wide ``SPRINTWINS_JIRA_*`` settings are the implicit workspace's alone: any other
    workspace reading through them would read another organisation's Jira with its account.
    """
    key = settings.token_encryption_key
    credentials = jira_sites.rest_credentials(session, workspace_id, TokenCipher(key) if key else None)
    if credentials is not None:
        return rest.site_with_credentials(
            settings, credentials.base_url, email=credentials.email, token=credentials.token
        )
    return rest.site_from_settings(settings) if workspace_id == DEFAULT_WORKSPACE_ID else None


def _reloaded(session: Session, sprint_id: int) -> Sprint:
    """The sprint read again in this transaction: the row may have changed while Jira answered."""
    sprint = session.get(Sprint, sprint_id)
    if sprint is None:
        raise LookupError(f"sprint {sprint_id} was deleted during the refresh")
    return sprint


# -- fetching from Jira (no database) and storing what was fetched ------------------------------------


@dataclass(frozen=True)
class FetchedScope:
    """A sprint and its issues as Jira's Agile API returned them."""

    sprint: dict[str, Any]
    issues: list[dict[str, Any]]
    points_field: str | None

    def issue_events(self) -> list[IssueChanged]:
        """The issues as domain events (those ``rest.issue_event`` can read), in Jira's order."""
        return [e for e in (rest.issue_event(raw, self.points_field) for raw in self.issues) if e is not None]


def fetch_sprint_scope(
    client: JIRA,
    sprint_id: int,
    points_field: str | None,
    *,
    sprint: dict[str, Any] | None = None,
    extra_fields: Sequence[str] = (),
) -> FetchedScope:
    fields = [*rest.ISSUE_FIELDS, *extra_fields, *([points_field] if points_field else [])]
    raw_sprint = sprint if sprint is not None else rest.sprint(client, sprint_id)
    return FetchedScope(raw_sprint, rest.sprint_issues(client, sprint_id, fields), points_field)


def store_fetched_scope(session: Session, sprint: Sprint, fetched: FetchedScope) -> scope.StoreResult:
    """Store what ``fetch_sprint_scope`` found, in the caller's transaction."""
    return scope.store_jira_scope(session, sprint, fetched.issue_events(), fetched.points_field)


def points_field_for(
    database: Database,
    client: JIRA,
    site: str,
    board_id: int | None,
    *,
    configured: str | None = None,
    fields: Sequence[dict[str, Any]] | None = None,
) -> str | None:
    """``SPRINTWINS_STORY_POINTS_FIELD`` if set; else what Jira said last time; else ask Jira and remember.

    Jira is asked outside any transaction: a slow or throttled site must not hold database locks.
    """
    if configured:
        return configured
    with database.sessions() as session:
        known, field_id = points_fields.cached_points_field(session, site, board_id)
    if known:
        return field_id
    field_id = rest.resolve_points_field(client, board_id, fields=fields)
    with database.transaction() as session:
        points_fields.remember_points_field(session, site, board_id, field_id)
    return field_id
