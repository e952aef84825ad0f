"""``/api/v1`` as declared: spectree holds each route to its pydantic models and writes the OpenAPI 3.1
document from them, served at ``GET /api/v1/openapi.json``.

A route takes part by its decorator, ``@API.validate(resp=answers(HTTP_200=...))``, with its query and
body models as the view's ``query`` and ``json`` parameters. Before the view runs, spectree validates
them (a refusal is our usual 400 naming the field); after it, it checks the answer against the model
declared for its status. The access and path checks stay blueprint hooks (``service.web.api.guard``), so
they run first, and the document declares them: the bearer scheme, and the path parameters' bounds.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from pydantic import ValidationError
from spectree import Response as Answers
from spectree import SecurityScheme, SpecTree
from spectree.models import SecureType, SecuritySchemeData

from service.web.api_inputs import MAX_SLUG, MAX_SPRINT_ID, bad_input
from service.web.api_models import ErrorOut, ExportOut

DOCUMENT = "sprintwins.openapi"
# What the path segments accept (TeamPath checks them before any view runs): printable, 1 to 64.
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "slug": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_SLUG,
        "pattern": r"^[^\x00-\x1f\x7f]+$",
    },
    "sprint_id": {"type": "integer", "minimum": 0, "maximum": MAX_SPRINT_ID},
}


def refuse(_request: Any, _response: Any, error: Exception | None, *_rest: Any) -> None:
    """spectree's hook after validating a request: a refused value leaves as our 400, never its 422."""
    if isinstance(error, ValidationError):
        raise bad_input(error)


API = SpecTree(
    "flask",
    title="Sprint Wins API",
    version="1",
    description=(
        "Read a team's wins, sprints and streaks; set its rules and challenges. Every route needs "
        "`Authorization: Bearer <token>` with an API token (`sprintwins token create <workspace>`), "
        "and answers for that token's workspace only; a read-only token may not write (403). A "
        "signed-in dashboard session works too. Outside production, requests from the server's own "
        "machine need no token and act in the default workspace."
    ),
    # Only routes that declare themselves are described (not /healthz, the webhooks or Slack).
    mode="strict",
    page_templates={},
    security_schemes=[
        SecurityScheme(
            name="bearer",
            data=SecuritySchemeData(
                type=SecureType.HTTP,
                scheme="bearer",
                description=(
                    "an API token made by `sprintwins token create <workspace> [--write]`; it reads "
                    "(and, made with --write, writes) that workspace's teams only"
                ),
            ),
        )
    ],
    security={"bearer": []},
    validation_error_status=400,
    validation_error_model=ErrorOut,
    before=refuse,
    # Schemas named as the classes are (each name is used once), for clients generated from the document.
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
)


def answers(*, with_body: bool = False, writes: bool = False, **ok: Any) -> Answers:
    """The route's success model(s), plus the errors every ``/api/v1`` route can give."""
    errors: dict[str, Any] = {
        "HTTP_401": (ErrorOut, "an API token is required and was missing, unknown or revoked"),
        "HTTP_404": (ErrorOut, "no such team (or sprint) in the token's workspace"),
        "HTTP_503": (ErrorOut, "the database or the job queue is down; retry after Retry-After seconds"),
    }
    if with_body:
        errors["HTTP_413"] = (ErrorOut, "the body is larger than the server accepts")
    if writes:
        errors["HTTP_403"] = (ErrorOut, "the token (or session) is read-only; this needs read-write")
    return Answers(**ok, **errors)


def document(app: Flask) -> dict[str, Any]:
    """The OpenAPI document, built once per app from the routes registered on it."""
    if DOCUMENT not in app.extensions:
        spec = copy.deepcopy(API.spec)
        for operations in spec["paths"].values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "path" and parameter["name"] in PATH_PARAMETERS:
                        parameter["schema"] = dict(PATH_PARAMETERS[parameter["name"]])
                    elif parameter["in"] == "query":
                        parameter["schema"] = _given_or_left_out(parameter["schema"])
        _declare_export(spec)
        app.extensions[DOCUMENT] = spec
    built: dict[str, Any] = app.extensions[DOCUMENT]
    return built


EXPORT = "/api/v1/teams/{slug}/export"


def _declare_export(spec: dict[str, Any]) -> None:
    """The export answers CSV or JSON, by its ``format``: spectree declares JSON models only."""
    operation = spec["paths"].get(EXPORT, {}).get("get")
    if operation is None:
        return
    schema = ExportOut.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        spec["components"]["schemas"].setdefault(name, definition)
    spec["components"]["schemas"]["ExportOut"] = schema
    operation["responses"]["200"] = {
        "description": "the wins: CSV with a header row (format=csv) or JSON (format=json)",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/ExportOut"}},
        },
    }


def _given_or_left_out(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is given or left out; a query string has no null, so ``X | None`` is ``X``."""
    choices = [choice for choice in schema.get("anyOf", []) if choice != {"type": "null"}]
    if len(choices) != 1:
        return schema
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    return {**rest, **choices[0]}


# Its name starts with "openapi" so spectree leaves the document's own route out of the document.
bp = Blueprint("openapi", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """Public, like the code: it describes the API and holds no data."""
    return jsonify(document(current_app._get_current_object()))  # type: ignore[attr-defined]
