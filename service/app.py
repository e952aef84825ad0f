"""The app factory. Nothing is built at import time: settings, database and queue are made here."""

from __future__ import annotations

from flask import Flask

from service.settings import Settings


def create_app(settings: Settings | None = None, *, install_runtime: bool = True) -> Flask:
    """Build the Flask app: defaults, then ``SPRINTWINS_*`` from the environment, then ``settings``."""
    from jobs import runtime as job_runtime
    from service.observability.logs import configure_logging
    from service.web import api, bench, errors, health, jira_webhook
    from service.web.extensions import RUNTIME

    settings = settings or Settings.from_env()
    settings.require_production_secrets()
    configure_logging(settings)  # structured lines (service.observability.logs)

    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=settings.max_body_bytes, JSON_SORT_KEYS=False)
    rt = job_runtime.Runtime.from_settings(settings)
    if install_runtime:
        # In-process jobs run in this process and must see the same database and queue.
        job_runtime.install(rt)
    app.extensions[RUNTIME] = rt

    errors.init_app(app)
    from service.web import metrics

    metrics.init_app(app, rt)  # GET /metrics (behind SPRINTWINS_METRICS_TOKEN) and each request's id
    app.register_blueprint(health.bp)
    jira_webhook.init_app(app, rt)
    app.register_blueprint(api.bp)
    if settings.bench_endpoints:
        app.register_blueprint(bench.bp)
    # -- more blueprints and extensions (one block each, imported lazily) --
    from service.web import progress_api

    app.register_blueprint(progress_api.bp)  # /api/v1/teams/<slug>/{rules,challenges,streaks}
    from service.web import scope_api

    scope_api.init_app(app)  # GET /api/v1/teams/<slug>/sprints/<id>/scope
    from service.web import openapi

    app.register_blueprint(openapi.bp)  # GET /api/v1/openapi.json, written from the routes above
    from service.web import dashboard

    dashboard.init_app(app)  # the pages (/, /teams/<slug>) and GET /api/v1/teams/<slug>/export
    from service.web.slack import routes as slack_web

    slack_web.init_app(app, rt)  # the Bolt app (auth.test at build time) and /slack/* routes
    from service.web import signin

    signin.init_app(app)  # Sign in with Slack (/auth/*), the session cookie and its CSRF token
    return app
