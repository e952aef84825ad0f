"""The dashboard: server-rendered pages over the dashboard's read models, and the wins export."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # Imported for their routes on pages.bp: the sprint and person pages.
    from service.web.dashboard import export, pages, person_page, sprint_page  # noqa: F401

    app.register_blueprint(pages.bp)  # /, /teams/<slug> and its fragments, /assets/*
    app.register_blueprint(export.bp)  # GET /api/v1/teams/<slug>/export
    from service.web.dashboard import access, share

    share.init_app(app)  # GET /share/<token>: one team's page, read-only, for a wall display
    app.context_processor(access.header_context)  # the header's sign-in link or sign-out form
