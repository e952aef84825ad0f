"""integrations/jira/rest.py through the real `jira` client against the Jira stand-in (both flavours)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from jira import JIRA, JIRAError

from integrations.jira import rest
from service.domain.events import SprintAction, StatusCategory
from service.settings import Settings
from tests.standins.jira_api import JiraStandIn
from tests.standins.jira_board import BOARD, jira_settings


@pytest.fixture
def client(standin: JiraStandIn) -> Iterator[JIRA]:
    jira = rest.client_from_settings(Settings.from_env({}, **jira_settings(standin)))
    yield jira
    jira.close()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, None),
        ({"jira_url": "https://x.atlassian.net"}, None),  # a URL without credentials is not configured
        ({"jira_url": "https://x.atlassian.net", "jira_email": "a@x.io"}, None),
        (
            {"jira_url": "https://x.atlassian.net/", "jira_email": "a@x.io", "jira_api_token": "t"},
            ("https://x.atlassian.net", ("a@x.io", "t"), None, "cloud"),
        ),
        (
            {"jira_url": "https://jira.corp", "jira_pat": "p"},
            ("https://jira.corp", None, "p", "server"),
        ),
        (
            {
                "jira_url": "https://x.atlassian.net",
                "jira_email": "a@x.io",
                "jira_api_token": "t",
                "jira_pat": "p",
            },
            ("https://x.atlassian.net", ("a@x.io", "t"), None, "cloud"),
        ),
    ],
)
def test_site_from_settings(values: dict[str, str], expected: tuple[Any, ...] | None) -> None:
    site = rest.site_from_settings(Settings.from_env({}, **values))

    if expected is None:
        assert site is None
        with pytest.raises(rest.JiraNotConfigured):
            rest.client_from_settings(Settings.from_env({}, **values))
    else:
        assert site is not None
        assert (site.site, site.basic_auth, site.token_auth, site.flavour) == expected


def test_client_authenticates_with_its_flavours_credentials_and_bounds_retries(
    standin: JiraStandIn, client: JIRA
) -> None:
    me = client.myself()

    assert me["displayName"] == "Sprint Wins Bot"
    assert client._session.max_retry_delay == 1
    assert [call.path for call in standin.calls] == ["/rest/api/2/myself"]  # no serverInfo round trip


def test_points_field_from_the_board_configuration(standin: JiraStandIn, client: JIRA) -> None:
    standin.add_board(4, "Odd board", "ODD", estimation_field_id="customfield_12345")

    assert rest.resolve_points_field(client, BOARD) == standin.flavour.points_field_id
    assert rest.resolve_points_field(client, 4) == "customfield_12345"
    assert standin.calls_to("/rest/api/2/field") == []  # the board answered; the field list was not needed


@pytest.mark.parametrize("board", [None, 4, 99], ids=["no board", "estimates by count", "unknown board"])
def test_points_field_from_the_field_list(standin: JiraStandIn, client: JIRA, board: int | None) -> None:
    standin.add_board(4, "Kanban by count", "OPS", estimation_field_id=None)

    assert rest.resolve_points_field(client, board) == standin.flavour.points_field_id
    assert len(standin.calls_to("/rest/api/2/field")) == 1


def _field(field_id: str, name: str, schema: dict[str, Any], custom: bool = True) -> dict[str, Any]:
    return {"id": field_id, "name": name, "custom": custom, "schema": schema}


FLOAT = {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"}
JSW = {"type": "number", "custom": rest.STORY_POINTS_TYPE}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ([], None),
        ([_field("summary", "Summary", {"type": "string"}, custom=False)], None),
        ([_field("customfield_10002", "Story Points", FLOAT)], "customfield_10002"),
        ([_field("customfield_10016", "Story point estimate", JSW)], "customfield_10016"),
        # Company-managed Cloud has both; Jira Software's own type is what its boards use.
        (
            [
                _field("customfield_10026", "Story Points", FLOAT),
                _field("customfield_10016", "Estimate", JSW),
            ],
            "customfield_10016",
        ),
        ([_field("customfield_10500", "Team story points (old)", FLOAT)], "customfield_10500"),
        ([_field("customfield_10501", "story points", {"type": "string"})], "customfield_10501"),
        ([_field("customfield_10502", "Points of interest", FLOAT)], None),
        (
            [
                _field("customfield_10700", "Story Points", FLOAT),
                _field("customfield_10600", "Story Points", FLOAT),
            ],
            "customfield_10600",
        ),
    ],
)
def test_points_field_ranking(fields: list[dict[str, Any]], expected: str | None) -> None:
    assert rest.points_field_from_list(fields) == expected


def test_sprint_issues_follow_capped_pages(standin: JiraStandIn, client: JIRA) -> None:
    keys = standin.add_issues(120, [12])
    points = standin.flavour.points_field_id

    issues = rest.sprint_issues(client, 12, ["summary", points])

    assert [issue["key"] for issue in issues] == keys
    assert all(set(issue["fields"]) == {"summary", points} for issue in issues)
    pages = standin.calls_to("/rest/agile/1.0/sprint/12/issue")
    assert [call.query["startAt"] for call in pages] == ["0", "50", "100"]
    assert [call.query["maxResults"] for call in pages] == ["100"] * 3


def test_an_empty_sprint_is_one_request(standin: JiraStandIn, client: JIRA) -> None:
    assert rest.sprint_issues(client, 11, ["summary"]) == []
    assert len(standin.calls_to("/rest/agile/1.0/sprint/11/issue")) == 1


@pytest.mark.parametrize(
    ("states", "expected"), [(("active",), [12]), (("active", "closed"), [11, 12]), ((), [11, 12, 13])]
)
def test_board_sprints_by_state(
    standin: JiraStandIn, client: JIRA, states: tuple[str, ...], expected: list[int]
) -> None:
    standin.add_sprint(13, BOARD, "Sprint 13", "future")

    assert [s["id"] for s in rest.board_sprints(client, BOARD, states)] == expected


def test_a_429_with_retry_after_is_waited_out(standin: JiraStandIn, client: JIRA) -> None:
    standin.add_issues(3, [12])
    standin.throttle_next(1, retry_after=1)

    started = time.monotonic()
    issues = rest.sprint_issues(client, 12, ["summary"])

    assert len(issues) == 3
    assert standin.throttled_count() == 1
    assert len(standin.calls_to("/rest/agile/1.0/sprint/12/issue")) == 2  # the throttled one, then success
    # Retry-After: 1 asks for 2 s, bounded to max_retry_delay (1 s) times a jitter in [0.5, 1].
    assert 0.45 <= time.monotonic() - started < 3


def test_throttling_beyond_max_retries_is_an_error(standin: JiraStandIn) -> None:
    client = rest.client_from_settings(Settings.from_env({}, **jira_settings(standin, jira_max_retries=1)))
    standin.throttle_next(5, retry_after=1)

    with pytest.raises(JIRAError) as raised:
        rest.sprint_issues(client, 12, ["summary"])

    assert raised.value.status_code == 429
    assert standin.throttled_count() == 2  # the first try and one retry
    client.close()


def test_rest_issue_becomes_the_webhook_parsers_event(standin: JiraStandIn, client: JIRA) -> None:
    standin.add_issue(
        "SRCH-7",
        [11, 12],
        points=5,
        status_category="done",
        assignee="ada",
        resolutiondate="2026-11-05T14:03:11Z",
        updated="2026-11-06T08:00:00Z",
        summary="Index synonyms",
    )
    [raw] = rest.sprint_issues(
        client, 12, [*rest.ISSUE_FIELDS, standin.flavour.points_field_id, standin.flavour.sprint_field_id]
    )

    event = rest.issue_event(raw, standin.flavour.points_field_id)

    assert event is not None
    assert (event.issue_key, event.project_key, event.summary, event.points) == (
        "SRCH-7",
        "SRCH",
        "Index synonyms",
        5.0,
    )
    assert event.status_category is StatusCategory.DONE and event.is_complete
    assert event.occurred_at.isoformat() == "2026-11-05T14:03:11+00:00"  # the resolution, not `updated`
    # `updated` orders it against webhook deliveries.
    assert event.timestamp_ms == int(datetime(2026, 11, 6, 8, tzinfo=UTC).timestamp() * 1000)
    assert event.url == f"{standin.url}/browse/SRCH-7"
    assert event.assignee is not None and event.assignee.display_name == "ada"
    assert event.sprints is not None and [s.jira_id for s in event.sprints] == [11, 12]


def test_sprint_events_at_start_and_completion(standin: JiraStandIn, client: JIRA) -> None:
    closed, active = rest.board_sprints(client, BOARD)

    closed_events = rest.sprint_events(closed)
    [started] = rest.sprint_events(active)

    assert [(e.action, e.occurred_at.isoformat()) for e in closed_events] == [
        (SprintAction.STARTED, "2026-10-19T09:00:00+00:00"),
        (SprintAction.CLOSED, "2026-10-30T16:00:00+00:00"),
    ]
    assert (started.action, started.sprint.jira_id, started.sprint.board_id, started.sprint.goal) == (
        SprintAction.STARTED,
        12,
        BOARD,
        "Ship",
    )
