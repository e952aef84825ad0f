"""schemathesis against the API's own document: every declared route, with and without the token.

Requests are generated from ``GET /api/v1/openapi.json`` (valid ones and ones that break the schema)
and sent to a seeded app on SQLite and on Postgres. No answer may be a 5xx, and every answer must match
what the document declares for it: its status, its content type and its schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from werkzeug.exceptions import NotFound

from jobs import runtime as job_runtime
from jobs.queue import InProcessJobQueue
from service import migrate
from service.app import create_app
from service.settings import Settings
from service.web.extensions import runtime_of
from tests.conftest import SECRET, _empty_tables
from tests.web.test_api import seeded

TOKEN = "fuzz-t0ken"
SEEDED_SLUG = "tes"
# Per route and backend (10 routes, SQLite and Postgres), valid and schema-breaking requests mixed:
# 25 with the token, 10 without (there the answer is always the same 401). About 30 s in all.
EXAMPLES = 25
EXAMPLES_WITHOUT_TOKEN = 10

# A value valid by the schema can still be refused, and must be: a cursor this API never handed out, a
# date whose offset puts it outside the calendar, a challenge in words the parser cannot read, a member
# id that names nobody. Each is a 400 naming the field, which the other checks hold to the document.
# Every other built-in check runs: no 5xx, status, content type, schema and headers as declared, data
# that breaks the schema refused, and the bearer token not ignored.
CHECKS = {"positive_data_acceptance": {"enabled": False}}
WITH_TOKEN = schemathesis.Config.from_dict(
    {"checks": CHECKS, "auth": {"openapi": {"bearer": {"bearer": TOKEN}}}}
)
WITHOUT_TOKEN = schemathesis.Config.from_dict({"checks": CHECKS})


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fuzzed_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One seeded app per backend for the whole module: the generated requests share it."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'sprintwins.db'}"
    # Production: there a request without a token is refused even from this machine, as the
    # document's security says; the legacy key acts in the default workspace, where the seed is.
    settings_ = Settings.from_env(
        {}, env="production", database_url=url, redis_url=None, jira_webhook_secret=SECRET, api_token=TOKEN
    )
    app = create_app(settings_)
    database = runtime_of(app).database
    if request.param == "postgres":
        _empty_tables(database)
    else:
        migrate.upgrade(database)
    seeded(app, 2)  # through the Jira webhook and the real pipeline, which need no API token
    yield app
    queue = runtime_of(app).queue
    if isinstance(queue, InProcessJobQueue):
        queue.wait_idle(30)
    runtime_of(app).close()
    job_runtime.reset()


ROUTES = [
    ("GET", "/api/v1/teams"),
    ("GET", "/api/v1/teams/{slug}/wins"),
    ("GET", "/api/v1/teams/{slug}/sprints"),
    ("GET", "/api/v1/teams/{slug}/sprints/{sprint_id}/scope"),
    ("GET", "/api/v1/teams/{slug}/rules"),
    ("PUT", "/api/v1/teams/{slug}/rules"),
    ("GET", "/api/v1/teams/{slug}/challenges"),
    ("POST", "/api/v1/teams/{slug}/challenges"),
    ("GET", "/api/v1/teams/{slug}/streaks"),
    ("GET", "/api/v1/teams/{slug}/export"),
]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # No shrinking: on a failure schemathesis already prints the request to reproduce it with, and
    # shrinking through its strategies can take minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


Strategies = dict[tuple[str, str, bool, GenerationMode], Any]


def loaded(app: Flask, config: Any = WITHOUT_TOKEN) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


@pytest.fixture(scope="module")
def strategies(fuzzed_app: Flask) -> Strategies:
    """For each route, with the token or without, requests as schemathesis makes them: valid ones
    (``POSITIVE``) and ones that break the schema (``NEGATIVE``)."""
    built: Strategies = {}
    for with_token in (True, False):
        schema = loaded(fuzzed_app, WITH_TOKEN if with_token else WITHOUT_TOKEN)
        for method, path in ROUTES:
            for mode in GenerationMode:
                built[(method, path, with_token, mode)] = schema[path][method].as_strategy(mode)
    return built


def test_the_document_lists_every_route(fuzzed_app: Flask) -> None:
    """What the tests below fuzz is what the document declares."""
    operations = {(op.ok().method.upper(), op.ok().path) for op in loaded(fuzzed_app).get_all_operations()}
    assert operations == set(ROUTES)


@pytest.mark.parametrize("route", ROUTES, ids=" ".join)
@FUZZ
@given(data=st.data(), mode=st.sampled_from(GenerationMode), seeded_team=st.booleans())
def test_with_the_token_no_answer_is_5xx_or_undeclared(
    strategies: Strategies,
    route: tuple[str, str],
    data: st.DataObject,
    mode: GenerationMode,
    seeded_team: bool,
) -> None:
    case = data.draw(strategies[(*route, True, mode)])
    if mode is GenerationMode.POSITIVE and seeded_team and "slug" in (case.path_parameters or {}):
        case.path_parameters["slug"] = SEEDED_SLUG  # half reach real rows, half a team that is not there
    case.call_and_validate()


@pytest.mark.parametrize("route", ROUTES, ids=" ".join)
@settings(FUZZ, max_examples=EXAMPLES_WITHOUT_TOKEN)
@given(data=st.data(), mode=st.sampled_from(GenerationMode))
def test_without_the_token_every_route_is_401(
    fuzzed_app: Flask,
    strategies: Strategies,
    route: tuple[str, str],
    data: st.DataObject,
    mode: GenerationMode,
) -> None:
    case = data.draw(strategies[(*route, False, mode)])
    response = case.call()
    # A path no route matches (a sprint id of -1) is not an API URL at all: the router's 404 comes
    # before any route's checks.
    expected = 401 if routed(fuzzed_app, case.formatted_path, case.method) else 404
    assert response.status_code == expected, (case.method, case.formatted_path, response.text[:300])
    case.validate_response(response)


def routed(app: Flask, path: str, method: str) -> bool:
    try:
        app.url_map.bind("localhost").match(path, method=method)
    except NotFound:
        return False
    return True
