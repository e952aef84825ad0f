"""The Jira stand-in, exercised through the real `jira.JIRA` client over real HTTP."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from jira import JIRA, JIRAError
from jira.resources import Issue

from tests.standins.jira_api import FLAVOURS, Flavour, JiraStandIn

Connect = Callable[..., JIRA]
GREENHOPPER_SPRINT = re.compile(
    r"^com\.atlassian\.greenhopper\.service\.sprint\.Sprint@[0-9a-f]+\[(?P<body>.*)\]$"
)


@pytest.fixture
def connect() -> Iterator[Connect]:
    """Build real JIRA clients for a stand-in, with its flavour's credentials; closes them afterwards."""
    clients: list[JIRA] = []

    def build(standin: JiraStandIn, **kwargs: Any) -> JIRA:
        if "basic_auth" not in kwargs and "token_auth" not in kwargs and not kwargs.pop("anonymous", False):
            if standin.flavour.name == "cloud":
                kwargs["basic_auth"] = (standin.email, standin.api_token)
            else:
                kwargs["token_auth"] = standin.pat
        client = JIRA(server=standin.url, timeout=5, **kwargs)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture(params=["cloud", "server"])
def standin(request: pytest.FixtureRequest) -> Iterator[JiraStandIn]:
    with JiraStandIn(flavour=request.param) as server:
        server.add_board(3, "Search team board", "SRCH", project_name="Search")
        server.add_sprint(
            12,
            3,
            "Sprint 12",
            "active",
            start="2026-11-02T09:00:00Z",
            end="2026-11-13T17:00:00Z",
            goal="Ship search",
        )
        server.add_sprint(
            11,
            3,
            "Sprint 11",
            "closed",
            start="2026-10-19T09:00:00Z",
            end="2026-10-30T17:00:00Z",
            complete="2026-10-30T16:00:00Z",
        )
        yield server


def parse_greenhopper(value: str) -> dict[str, str]:
    match = GREENHOPPER_SPRINT.match(value)
    assert match is not None, value
    return dict(pair.split("=", 1) for pair in match["body"].split(","))


def sprint_issue_pages(client: JIRA, sprint_id: int, fields: str = "*all") -> list[Issue]:
    # jira 3.10 has no public method for /rest/agile/1.0/sprint/{id}/issue; `_fetch_pages` with
    # maxResults=False is the library's own "fetch every page" loop, driven by startAt/total.
    return list(
        client._fetch_pages(
            Issue,
            "issues",
            f"sprint/{sprint_id}/issue",
            0,
            False,
            {"fields": fields},
            base=client.AGILE_BASE_URL,
        )
    )


def test_server_info_tells_the_client_which_flavour_it_talks_to(
    standin: JiraStandIn, connect: Connect
) -> None:
    client = connect(standin)

    assert client._is_cloud is (standin.flavour.name == "cloud")
    assert client._version == FLAVOURS[standin.flavour.name].version_numbers


def test_myself_carries_the_flavours_user_identity(standin: JiraStandIn, connect: Connect) -> None:
    me = connect(standin, get_server_info=False).myself()

    if standin.flavour.name == "cloud":
        assert me["accountId"] == standin.bot.ident
        assert "name" not in me and "key" not in me
    else:
        assert me["name"] == standin.bot.ident
        assert me["key"].startswith("JIRAUSER")
        assert "accountId" not in me
    assert me["emailAddress"] == standin.email


@pytest.mark.parametrize(
    ("flavour", "points_id", "points_name", "points_type", "sprint_id"),
    [
        (
            "cloud",
            "customfield_10016",
            "Story point estimate",
            "com.pyxis.greenhopper.jira:jsw-story-points",
            "customfield_10020",
        ),
        (
            "server",
            "customfield_10002",
            "Story Points",
            "com.atlassian.jira.plugin.system.customfieldtypes:float",
            "customfield_10005",
        ),
    ],
)
def test_field_list_names_the_points_and_sprint_fields(
    connect: Connect, flavour: Flavour, points_id: str, points_name: str, points_type: str, sprint_id: str
) -> None:
    with JiraStandIn(flavour=flavour) as standin:
        fields = {f["id"]: f for f in connect(standin, get_server_info=False).fields()}

    assert fields[points_id]["name"] == points_name
    assert fields[points_id]["schema"]["custom"] == points_type
    assert fields[sprint_id]["name"] == "Sprint"
    assert fields[sprint_id]["schema"]["custom"] == "com.pyxis.greenhopper.jira:gh-sprint"
    assert fields[sprint_id]["custom"] is True and fields["summary"]["custom"] is False


def test_board_and_its_estimation_field(standin: JiraStandIn, connect: Connect) -> None:
    standin.add_board(4, "Kanban by count", "OPS", estimation_field_id=None)
    client = connect(standin, get_server_info=False)

    [board] = client.boards(projectKeyOrID="SRCH")
    config = client._get_json("board/3/configuration", base=client.AGILE_BASE_URL)
    by_count = client._get_json("board/4/configuration", base=client.AGILE_BASE_URL)

    assert (board.id, board.name, board.location.projectKey) == (3, "Search team board", "SRCH")
    assert config["estimation"]["field"]["fieldId"] == standin.flavour.points_field_id
    assert by_count["estimation"] == {"type": "issueCount"}
    with pytest.raises(JIRAError) as missing:
        client._get_json("board/99", base=client.AGILE_BASE_URL)
    assert missing.value.status_code == 404


def test_board_sprints_filter_by_state_and_paginate(standin: JiraStandIn, connect: Connect) -> None:
    for sprint_id in range(100, 160):
        standin.add_sprint(sprint_id, 3, f"Old sprint {sprint_id}", "closed")
    client = connect(standin, get_server_info=False)

    active = client.sprints(3, state="active")
    closed = client.sprints(3, state="closed", maxResults=False)  # type: ignore[arg-type]

    assert [s.id for s in active] == [12]
    assert active[0].goal == "Ship search"
    assert len(closed) == 61
    assert len(standin.calls_to("/rest/agile/1.0/board/3/sprint")) == 3


def test_sprint_resource(standin: JiraStandIn, connect: Connect) -> None:
    sprint = connect(standin, get_server_info=False).sprint(11)

    assert (sprint.name, sprint.state, sprint.originBoardId) == ("Sprint 11", "closed", 3)
    assert sprint.startDate == "2026-10-19T09:00:00.000Z"
    assert sprint.completeDate == "2026-10-30T16:00:00.000Z"


def test_sprint_issues_are_fetched_across_capped_pages(standin: JiraStandIn, connect: Connect) -> None:
    keys = standin.add_issues(120, [12])
    client = connect(standin, get_server_info=False)

    issues = sprint_issue_pages(client, 12)

    assert [issue.key for issue in issues] == keys
    pages = standin.calls_to("/rest/agile/1.0/sprint/12/issue")
    assert [call.query.get("startAt", "0") for call in pages] == ["0", "50", "100"]
    # The client asked for 100 per page; the server-side cap is what it got.
    assert pages[0].query["maxResults"] == "100"


def test_legacy_search_paginates_with_start_at(standin: JiraStandIn, connect: Connect) -> None:
    standin.add_issues(120, [12])
    standin.page_cap = 40
    client = connect(standin, get_server_info=False)

    issues = client.search_issues("sprint = 12", maxResults=False)  # type: ignore[arg-type]

    assert len({issue.key for issue in issues}) == 120
    assert len(standin.calls_to("/rest/api/2/search")) == 3


def test_cloud_enhanced_search_follows_next_page_tokens(connect: Connect) -> None:
    with JiraStandIn(flavour="cloud") as standin:
        standin.add_board(3, "Board", "SRCH")
        standin.add_sprint(12, 3, "Sprint 12", "active", start="2026-11-02T09:00:00Z")
        standin.add_issues(120, [12])
        client = connect(standin)  # serverInfo says Cloud, so search_issues uses /search/jql

        issues = client.search_issues("sprint = 12", maxResults=False)  # type: ignore[arg-type]

        assert len({issue.key for issue in issues}) == 120
        assert len(standin.calls_to("/rest/api/2/search/jql")) == 3


def test_enhanced_search_is_cloud_only(connect: Connect) -> None:
    with JiraStandIn(flavour="server") as standin:
        client = connect(standin, get_server_info=False)
        with pytest.raises(JIRAError) as raised:
            client._get_json("search/jql", params={"jql": "project = SRCH"})
    assert raised.value.status_code == 404


def test_issue_json_looks_like_jira(standin: JiraStandIn, connect: Connect) -> None:
    standin.add_issue(
        "SRCH-7",
        [11, 12],
        points=5,
        status_category="done",
        assignee="ada",
        resolutiondate="2026-11-05T14:03:11Z",
        labels=["search"],
        summary="Index synonyms",
    )
    issue = connect(standin, get_server_info=False).issue("SRCH-7")
    fields = issue.raw["fields"]

    assert issue.key == "SRCH-7" and issue.id.isdigit()
    assert fields["summary"] == "Index synonyms"
    assert fields["status"]["statusCategory"]["key"] == "done"
    assert fields["resolution"]["name"] == "Done"
    assert fields["resolutiondate"] == "2026-11-05T14:03:11.000+0000"
    assert fields["issuetype"] == {**fields["issuetype"], "name": "Story", "subtask": False}
    assert fields["labels"] == ["search"]
    assert fields["project"]["key"] == "SRCH"
    assert fields[standin.flavour.points_field_id] == 5.0
    identity_key = "accountId" if standin.flavour.name == "cloud" else "name"
    assert fields["assignee"][identity_key] == "ada"


def test_sprint_field_shape_per_flavour(standin: JiraStandIn, connect: Connect) -> None:
    standin.add_issue("SRCH-1", [11, 12], points=3)
    fields = connect(standin, get_server_info=False).issue("SRCH-1").raw["fields"]
    values = fields[standin.flavour.sprint_field_id]

    if standin.flavour.name == "cloud":
        assert [(v["id"], v["state"], v["boardId"]) for v in values] == [(11, "closed", 3), (12, "active", 3)]
        assert values[1]["goal"] == "Ship search"
    else:
        closed, active = (parse_greenhopper(v) for v in values)
        assert active == {
            "id": "12",
            "rapidViewId": "3",
            "state": "ACTIVE",
            "name": "Sprint 12",
            "startDate": "2026-11-02T09:00:00.000Z",
            "endDate": "2026-11-13T17:00:00.000Z",
            "completeDate": "<null>",
            "sequence": "12",
            "goal": "Ship search",
        }
        assert (closed["state"], closed["completeDate"], closed["goal"]) == (
            "CLOSED",
            "2026-10-30T16:00:00.000Z",
            "<null>",
        )


def test_requested_fields_limit_the_issue_fields(standin: JiraStandIn, connect: Connect) -> None:
    standin.add_issues(3, [12])
    points = standin.flavour.points_field_id

    issues = sprint_issue_pages(connect(standin, get_server_info=False), 12, fields=f"summary,{points}")

    assert all(set(issue.raw["fields"]) == {"summary", points} for issue in issues)


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("sprint = 12", ["SRCH-1", "SRCH-2", "SRCH-3", "SRCH-4"]),
        ('sprint = "Sprint 11"', ["SRCH-4", "SRCH-5"]),
        ("sprint in openSprints() AND statusCategory = Done", ["SRCH-2"]),
        ('sprint = 12 AND status = "In Progress"', ["SRCH-3"]),
        ("statusCategory != Done AND issuetype = Bug", ["SRCH-3"]),
        ('resolved >= "2026-11-05" ORDER BY key DESC', ["SRCH-5", "SRCH-2"]),
        ("labels in (ux, api) AND assignee is EMPTY", ["SRCH-3", "SRCH-4"]),
        ("labels = ux", ["SRCH-4"]),
        ("project = SRCH AND assignee = ada ORDER BY updated ASC", ["SRCH-2", "SRCH-1"]),
        ("sprint is EMPTY", []),
    ],
)
def test_jql_subset(standin: JiraStandIn, connect: Connect, jql: str, expected: list[str]) -> None:
    standin.add_issue("SRCH-1", [12], assignee="ada", updated="2026-11-09T10:00:00Z")
    standin.add_issue(
        "SRCH-2", [12], status_category="done", assignee="ada", resolutiondate="2026-11-06T10:00:00Z"
    )
    standin.add_issue("SRCH-3", [12], status_category="indeterminate", issue_type="Bug", labels=["api"])
    standin.add_issue("SRCH-4", [11, 12], labels=["ux"])
    standin.add_issue("SRCH-5", [11], status_category="done", resolutiondate="2026-11-07T10:00:00Z")
    client = connect(standin, get_server_info=False)

    found = client.search_issues(jql, maxResults=False)  # type: ignore[arg-type]

    assert [issue.key for issue in found] == expected


@pytest.mark.parametrize("jql", ["sprint = 12 OR sprint = 11", "reporter = ada", "updated >= -15m"])
def test_jql_the_standin_does_not_understand_is_a_400(
    standin: JiraStandIn, connect: Connect, jql: str
) -> None:
    with pytest.raises(JIRAError) as raised:
        connect(standin, get_server_info=False).search_issues(jql)

    assert raised.value.status_code == 400


def test_throttled_requests_are_retried_after_retry_after(standin: JiraStandIn, connect: Connect) -> None:
    client = connect(standin, get_server_info=False)
    # ResilientSession sleeps min(max_retry_delay, 2 * Retry-After) * U(0.5, 1); bound it to keep this quick.
    client._session.max_retry_delay = 1
    standin.throttle_next(2, retry_after=1)

    started = time.monotonic()
    me = client.myself()
    elapsed = time.monotonic() - started

    assert me["displayName"] == "Sprint Wins Bot"
    assert standin.throttled_count() == 2
    assert len(standin.calls_to("/rest/api/2/myself")) == 3
    assert 0.9 <= elapsed < 4


def test_throttling_beyond_max_retries_surfaces_as_429(connect: Connect) -> None:
    with JiraStandIn(flavour="server") as standin:
        client = connect(standin, get_server_info=False, max_retries=1)
        client._session.max_retry_delay = 1
        standin.throttle_next(5, retry_after=1)

        with pytest.raises(JIRAError) as raised:
            client.myself()

        assert raised.value.status_code == 429
        assert standin.throttled_count() == 2


@pytest.mark.parametrize(
    ("flavour", "credentials"),
    [
        ("cloud", {"basic_auth": ("sprintwins-bot@example.com", "wrong-token")}),
        ("cloud", {"token_auth": "cloud-api-token"}),
        ("server", {"token_auth": "wrong-pat"}),
        ("server", {"basic_auth": ("sprintwins-bot", "server-personal-access-token")}),
    ],
)
def test_bad_credentials_are_rejected_with_401(
    connect: Connect, flavour: Flavour, credentials: dict[str, Any]
) -> None:
    with JiraStandIn(flavour=flavour) as standin:
        with pytest.raises(JIRAError) as raised:
            connect(standin, **credentials)  # serverInfo on construction already fails
        assert raised.value.status_code == 401
        assert standin.calls[-1].path == "/rest/api/2/serverInfo"


def test_anonymous_clients_see_server_info_but_nothing_else(standin: JiraStandIn, connect: Connect) -> None:
    client = connect(standin, anonymous=True)

    assert client.server_info()["deploymentType"] == standin.flavour.deployment_type
    with pytest.raises(JIRAError) as raised:
        client.myself()
    assert raised.value.status_code == 401


def test_calls_record_method_path_and_query(standin: JiraStandIn, connect: Connect) -> None:
    client = connect(standin, get_server_info=False)
    standin.reset_calls()

    client.sprints(3, state="active")

    assert standin.calls == [
        ("GET", "/rest/agile/1.0/board/3/sprint", {"state": "active", "maxResults": "50"}),
    ]
