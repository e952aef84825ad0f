"""Sprint scope reads Jira through the REST credentials of the workspace's own Jira site.

The deployment-wide ``SPRINTWINS_JIRA_*`` settings stay the implicit workspace's: another workspace
never reads through them. Against the Jira stand-in (Cloud and Server), on SQLite and Postgres.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import select

from integrations.jira import rest
from jobs import scope as scope_jobs
from jobs.queue import RQJobQueue, connect_redis
from service.cli.main import main
from service.models import DEFAULT_WORKSPACE_ID, Team
from service.models.scope import SprintScopeSource
from service.settings import Settings
from service.web.extensions import runtime_of
from service.workspaces.jira_sites import SecretsUnreadable
from tests.conftest import AppFactory
from tests.jobs.helpers import run_jobs, sprint_payload
from tests.standins.jira_api import JiraStandIn
from tests.standins.jira_board import BOARD, jira_settings
from tests.standins.jira_board import standin as standin
from tests.workspaces.test_jira_sites_cli import (
    BACKENDS,
    ENCRYPTION_KEY,
    AddedSite,
    add_site,
    make_workspace,
    site_app,
)
from tests.workspaces.test_jira_sites_webhook import post_to_site

START_MS = 1_793_610_000_000  # 2026-11-02 09:00 UTC, when the stand-in's sprint 12 started


def add_site_with_rest(app: Flask, workspace: str, server: JiraStandIn) -> AddedSite:
    """A site whose REST credentials are the stand-in's: an email and API token, or a PAT alone."""
    if server.flavour.name == "cloud":
        options = ("--email", server.email, "--api-token-env", "JIRA_TOKEN")
        return add_site(app, workspace, server.url, *options, JIRA_TOKEN=server.api_token)
    return add_site(app, workspace, server.url, "--api-token-env", "JIRA_TOKEN", JIRA_TOKEN=server.pat)


def start_sprint(app: Flask, site: AddedSite) -> None:
    payload = sprint_payload("started", 12, START_MS, board=BOARD, name="Sprint 12")
    payload["sprint"]["startDate"] = "2026-11-02T09:00:00.000Z"
    response = post_to_site(app.test_client(), site.path, payload, secret=site.secret, delivery_id="s-12")
    assert response.status_code == 202
    run_jobs(app)  # records the sprint, and its scope refresh runs as a follow-up


def scope_source(app: Flask) -> str | None:
    with runtime_of(app).database.sessions() as session:
        return session.scalar(select(SprintScopeSource.source))


def sprint_workspace(app: Flask) -> list[int]:
    with runtime_of(app).database.sessions() as session:
        return list(session.scalars(select(Team.workspace_id)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_workspace_reads_its_sprints_through_its_own_site(
    make_app: AppFactory, standin: JiraStandIn, backend: str, request: pytest.FixtureRequest
) -> None:
    redis = request.getfixturevalue("redis_url") if backend == "postgres" else None
    app = site_app(make_app, backend, redis=redis, jira_max_retry_delay_seconds=1)  # no SPRINTWINS_JIRA_URL
    acme_id = make_workspace(app, "acme")
    acme = add_site_with_rest(app, "acme", standin)
    standin.add_issue("SRCH-1", [12], points=3)
    standin.add_issue("SRCH-2", [12], points=5)

    start_sprint(app, acme)
    standin.reset_calls()
    result = scope_jobs.refresh_sprint_scope(12, acme_id)

    assert sprint_workspace(app) == [acme_id]
    assert (result["status"], result["issues"]) == ("stored", 2)
    assert scope_source(app) == "jira"
    # The stand-in answers only the site's credentials: a scope from Jira means they were used.
    assert len(standin.calls_to("/rest/agile/1.0/sprint/12/issue")) == 1
    # The implicit workspace has no sprint 12 and no Jira account: nothing to read, nothing read.
    assert scope_jobs.refresh_sprint_scope(12)["status"] == "unknown sprint"
    assert len(standin.calls_to("/rest/agile/1.0/sprint/12/issue")) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_another_workspace_never_reads_through_the_deployment_wide_account(
    make_app: AppFactory, standin: JiraStandIn, backend: str
) -> None:
    # The deployment's own Jira account is configured, and belongs to the implicit workspace.
    app = site_app(make_app, backend, **jira_settings(standin))
    globex_id = make_workspace(app, "globex")
    globex = add_site(app, "globex", "https://globex.atlassian.net")  # webhooks only, no REST credentials
    standin.add_issue("SRCH-1", [12], points=3)

    start_sprint(app, globex)
    result = scope_jobs.refresh_sprint_scope(12, globex_id)

    assert result["status"] == "stored"
    assert scope_source(app) == "events"  # inferred from what globex's webhooks said
    assert standin.calls == []


def test_which_site_each_workspace_reads(make_app: AppFactory, standin: JiraStandIn) -> None:
    app = site_app(make_app, **jira_settings(standin, jira_url="https://deployment.example"))
    acme_id, globex_id = make_workspace(app, "acme"), make_workspace(app, "globex")
    add_site(app, "globex", "https://globex.atlassian.net")  # no REST credentials
    add_site_with_rest(app, "acme", standin)
    settings = runtime_of(app).settings

    def site_of(workspace_id: int, settings: Settings = settings) -> rest.JiraSite | None:
        with runtime_of(app).database.sessions() as session:
            return scope_jobs.rest_site_for_workspace(session, settings, workspace_id)

    implicit, acme, globex = site_of(DEFAULT_WORKSPACE_ID), site_of(acme_id), site_of(globex_id)
    assert implicit is not None and implicit.url == "https://deployment.example"
    assert acme is not None and acme.url == standin.url
    if standin.flavour.name == "cloud":
        assert (acme.basic_auth, acme.token_auth) == ((standin.email, standin.api_token), None)
    else:
        assert (acme.basic_auth, acme.token_auth) == (None, standin.pat)
    assert standin.api_token not in repr(acme) and standin.pat not in repr(acme)
    assert globex is None
    # Credentials stored, but this process cannot read them: an error, not a silent fallback.
    with pytest.raises(SecretsUnreadable, match="SPRINTWINS_TOKEN_ENCRYPTION_KEY"):
        site_of(acme_id, settings.replace(token_encryption_key=None))


def test_refresh_requests_name_the_sprints_workspace(redis_url: str) -> None:
    # Real RQ on Redis: sprint 12 of two workspaces is two jobs, each carrying its workspace.
    queue = RQJobQueue(connect_redis(redis_url), "scope-workspace-test")
    minute = 1_800_000_000.0
    period = int(minute // 60)

    assert scope_jobs.request_scope_refresh([12], queue, now=minute) == [12]
    assert scope_jobs.request_scope_refresh([12], queue, now=minute, workspace_id=7) == [12]
    assert scope_jobs.request_scope_refresh([12], queue, now=minute + 30, workspace_id=7) == []

    assert sorted(queue.rq.job_ids) == [f"scope-refresh-12-{period}", f"scope-refresh-w7-12-{period}"]
    implicit = queue.rq.fetch_job(f"scope-refresh-12-{period}")
    other = queue.rq.fetch_job(f"scope-refresh-w7-12-{period}")
    assert implicit is not None and implicit.args == [12]
    assert other is not None and (other.func_name, other.args) == ("jobs.scope.refresh_sprint_scope", [12, 7])


# -- backfill ------------------------------------------------------------------------------------------


def backfill(app: Flask, *args: str, **env: str) -> Result:
    values = {"SPRINTWINS_DATABASE_URL": runtime_of(app).database.url, "SPRINTWINS_REDIS_URL": "", **env}
    return CliRunner().invoke(main, ["backfill", "jira", "--board", str(BOARD), *args], env=values)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backfill_reads_the_workspaces_own_site_into_that_workspace(
    make_app: AppFactory, standin: JiraStandIn, backend: str
) -> None:
    app = site_app(make_app, backend, jira_max_retry_delay_seconds=1)
    acme_id = make_workspace(app, "acme")
    add_site_with_rest(app, "acme", standin)
    standin.add_issue("SRCH-5", [11], points=3, status_category="done", resolutiondate="2026-10-21T10:00:00Z")

    result = backfill(
        app, "--sprints", "1", "--workspace", "acme", SPRINTWINS_TOKEN_ENCRYPTION_KEY=ENCRYPTION_KEY
    )

    assert result.exit_code == 0, result.output
    assert "teams: srch" in result.output
    assert sprint_workspace(app) == [acme_id]


def test_backfill_never_reads_another_workspace_through_the_deployment_account(
    make_app: AppFactory, standin: JiraStandIn
) -> None:
    app = site_app(make_app)
    make_workspace(app, "globex")
    add_site(app, "globex", "https://globex.atlassian.net")  # webhooks only
    env = {f"SPRINTWINS_{name.upper()}": str(value) for name, value in jira_settings(standin).items()}

    result = backfill(app, "--workspace", "globex", **env, SPRINTWINS_TOKEN_ENCRYPTION_KEY=ENCRYPTION_KEY)

    assert result.exit_code == 1
    assert "sprintwins jira add" in result.output
    assert standin.calls == [] and sprint_workspace(app) == []
