"""``GET /api/v1/openapi.json``: the API as its pydantic models declare it, and the answers that follow it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.domain import team_rules
from tests.conftest import AppFactory
from tests.web.test_api import seeded


@pytest.fixture
def document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.is_json
    body: dict[str, Any] = response.json
    return body


def schema_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


def test_it_is_openapi_3_1_with_the_bearer_scheme(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"]["type"] == "http"
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["security"] == [{"bearer": []}]


def test_writes_declare_the_403_of_a_read_only_token(document: dict[str, Any]) -> None:
    assert "sprintwins token create" in document["components"]["securitySchemes"]["bearer"]["description"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert ("403" in operation["responses"]) == (method in ("put", "post")), (method, path)


def test_only_the_api_is_described(document: dict[str, Any]) -> None:
    assert all(path.startswith("/api/v1/teams") for path in document["paths"])
    assert "/api/v1/openapi.json" not in document["paths"]


def test_the_document_needs_no_token(make_app: AppFactory) -> None:
    """It describes the API and holds no data; the routes it describes still want the token."""
    client = make_app("sqlite", env="production", api_token="t0ken").test_client()
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/teams").status_code == 401


def test_every_route_declares_its_answers_and_errors(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            ok = "201" if method == "post" else "200"
            assert {ok, "400", "401", "404", "503"} <= set(operation["responses"]), (method, path)
            error = operation["responses"]["503"]["content"]["application/json"]["schema"]["$ref"]
            assert error.endswith("/ErrorOut")


def test_path_parameters_carry_their_bounds(document: dict[str, Any]) -> None:
    scope = document["paths"]["/api/v1/teams/{slug}/sprints/{sprint_id}/scope"]["get"]
    schemas = {p["name"]: p["schema"] for p in scope["parameters"] if p["in"] == "path"}
    assert schemas["slug"]["maxLength"] == 64 and schemas["slug"]["minLength"] == 1
    assert schemas["sprint_id"] == {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}


def test_the_wins_query_is_declared(document: dict[str, Any]) -> None:
    wins = document["paths"]["/api/v1/teams/{slug}/wins"]["get"]
    query = {p["name"]: p for p in wins["parameters"] if p["in"] == "query"}
    assert set(query) == {"since", "until", "kind", "member", "status", "limit", "cursor"}
    assert not any(p["required"] for p in query.values())
    assert query["limit"]["schema"]["maximum"] >= 1


def test_the_rules_body_declares_the_domains_bounds(document: dict[str, Any]) -> None:
    put = document["paths"]["/api/v1/teams/{slug}/rules"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/RulesBody")
    rules = schema_of(document, "RulesBody")
    assert rules["additionalProperties"] is False
    fields = rules["properties"]
    assert fields["comeback_pause_days"]["maximum"] == team_rules.MAX_DAYS
    assert fields["velocity_window"]["maximum"] == team_rules.MAX_VELOCITY_WINDOW
    assert fields["min_points"]["maximum"] == team_rules.MAX_POINTS
    assert fields["streak_thresholds"]["items"]["maximum"] == team_rules.MAX_DAYS
    assert set(fields["enabled_streaks"]["items"]["enum"]) == team_rules.STREAK_SCOPES


def test_answers_declare_every_field_they_send(app: Flask, document: dict[str, Any]) -> None:
    """A field sent but not declared would fail the schema check: each answer is exactly its model."""
    client = seeded(app, 2)
    win = client.get("/api/v1/teams/tes/wins?kind=ticket").json["wins"][0]
    assert set(win) == set(schema_of(document, "WinOut")["properties"])
    assert schema_of(document, "WinOut")["additionalProperties"] is False
    rules = client.get("/api/v1/teams/tes/rules").json
    assert set(rules["rules"]) == set(schema_of(document, "EffectiveRules")["properties"])


def test_errors_keep_their_shape(app: Flask) -> None:
    client: FlaskClient = seeded(app, 1)
    refused = client.get("/api/v1/teams/tes/wins?limit=0")
    assert refused.status_code == 400
    assert set(refused.json) == {"error", "status", "field", "problems"} and refused.json["field"] == "limit"
    missing = client.get("/api/v1/teams/nope/streaks")
    assert missing.status_code == 404 and set(missing.json) == {"error", "status"}
