"""Whatever a query string holds, a page answers 200 or a 400 naming the value, never a 500."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.teams import registry
from service.web.extensions import runtime_of
from tests.conftest import AppFactory

PARAMETERS = ["person", "kind", "sprint", "cursor", "limit", "after", "format"]
ROUTES = ["/", "/teams/tes", "/teams/tes/live", "/api/v1/teams/tes/export"]

values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=5).map(lambda s: s + "\x00"),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(["ticket", "kudos", "csv", "json", "0", "1", "NaN", "1e309", "-0", " 1", "x" * 5000]),
)
queries = st.lists(st.tuples(st.sampled_from(PARAMETERS) | st.text(max_size=8), values), max_size=5)


def _app(make_app: AppFactory) -> Flask:
    app = make_app("sqlite")
    with runtime_of(app).database.transaction() as session:
        registry.create_team(session, "tes", "Test team")
    return app


def test_page_routes_never_fail_on_hostile_query_strings(make_app: AppFactory) -> None:
    client = _app(make_app).test_client()

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(route=st.sampled_from(ROUTES), query=queries)
    def check(route: str, query: list[tuple[str, str]]) -> None:
        response = client.get(f"{route}?{urlencode(query)}")
        assert response.status_code in (200, 400), (route, query, response.status_code)
        if response.status_code == 400 and route.startswith("/api/"):
            assert response.json["field"]
        elif response.status_code == 400:
            assert "was refused" in response.get_data(as_text=True)

    check()
