"""The Jira parser on every real payload in the corpus, plus Server/Data Center shapes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.jira.parse import PayloadError, parse_event, parse_jira_datetime
from service.domain.events import IssueChanged, IssueCommented, SprintAction, SprintChanged, StatusCategory
from tests.conftest import CORPUS, load_jira

NOW_MS = 1_700_000_000_000


def parse(payload: dict[str, Any], **kwargs: Any) -> Any:
    return parse_event(payload, received_at_ms=NOW_MS, **kwargs)


def test_every_corpus_file_parses() -> None:
    files = sorted((CORPUS / "jira").glob("*.json"))
    assert len(files) >= 6
    for path in files:
        event = parse(json.loads(path.read_text()))
        assert event is not None, path.name


@pytest.mark.parametrize(
    ("name", "category", "complete", "status_changed"),
    [
        ("webhook-issue-created.json", StatusCategory.NEW, False, True),
        ("webhook-issue-updated-started-working.json", StatusCategory.INDETERMINATE, False, True),
        ("webhook-issue-updated-resolved.json", StatusCategory.DONE, True, True),
        ("webhook-issue-updated-reopened.json", StatusCategory.NEW, False, True),
        ("webhook-issue-updated-sprint.json", StatusCategory.NEW, False, False),
    ],
)
def test_issue_state_comes_from_status_category(
    name: str, category: StatusCategory, complete: bool, status_changed: bool
) -> None:
    event = parse(load_jira(name))
    assert isinstance(event, IssueChanged)
    assert event.issue_key == "TES-41"
    assert event.project_key == "TES"
    assert event.status_category is category
    assert event.is_complete is complete
    assert event.status_changed is status_changed


def test_resolved_payload_details() -> None:
    payload = load_jira("webhook-issue-updated-resolved.json")
    event = parse(payload)
    assert isinstance(event, IssueChanged)
    assert event.url == "https://some-instance-test.atlassian.net/browse/TES-41"
    assert event.occurred_at == datetime.fromtimestamp(1550286940507 / 1000, tz=UTC)
    assert event.timestamp_ms == 1550286940507
    assert event.resolution == "Done"
    assert event.resolution_changed
    assert event.issue_type == "Story"
    assert event.summary == "Unit test summary 1"
    assert event.labels == ("test-label",)
    assert event.assignee is None
    assert event.actor is not None and event.actor.ref == "5c5f880629be9642ba529340"
    assert event.credited == event.actor  # no assignee: the person who made the change
    # customfield_10020 here is a time-in-status string, not a sprint list
    assert event.sprints is None
    assert event.points is None


def test_sprint_move_without_ids_is_read_by_name() -> None:
    event = parse(load_jira("webhook-issue-updated-sprint.json"))
    assert isinstance(event, IssueChanged)
    assert event.sprint_move is not None
    assert event.sprint_move.added_names == ("Sprint 2",)
    assert event.sprint_move.removed_names == ("Sprint 1",)
    assert event.sprint_move.added_ids == ()


def test_comment_is_understood_and_changes_nothing() -> None:
    event = parse(load_jira("webhook-cloud-comment-created.json"))
    assert isinstance(event, IssueCommented)
    assert event.issue_key == "TES-41"


def test_sprint_move_with_ids() -> None:
    payload = load_jira("webhook-issue-updated-sprint.json")
    payload["changelog"]["items"][0].update(
        {"from": "1", "to": "1, 2", "fromString": "S1", "toString": "S1, S2"}
    )
    event = parse(payload)
    assert isinstance(event, IssueChanged) and event.sprint_move is not None
    assert event.sprint_move.added_ids == (2,)
    assert event.sprint_move.removed_ids == ()


def test_cloud_sprint_field_and_points_are_detected() -> None:
    payload = load_jira("webhook-issue-updated-resolved.json")
    fields = payload["issue"]["fields"]
    fields["customfield_10016"] = 5
    fields["customfield_10021"] = [
        {
            "id": 7,
            "name": "Sprint 7",
            "state": "active",
            "boardId": 3,
            "goal": "Ship",
            "startDate": "2026-11-02T09:00:00.000Z",
        }
    ]
    event = parse(payload)
    assert isinstance(event, IssueChanged)
    assert event.points == 5.0
    assert event.sprints is not None and len(event.sprints) == 1
    sprint = event.sprints[0]
    assert (sprint.jira_id, sprint.name, sprint.state, sprint.board_id, sprint.goal) == (
        7,
        "Sprint 7",
        "active",
        3,
        "Ship",
    )
    assert sprint.start_at == datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_configured_points_field_wins_over_detection() -> None:
    payload = load_jira("webhook-issue-updated-resolved.json")
    payload["issue"]["fields"].update({"customfield_10016": 5, "customfield_12345": 8})
    event = parse(payload, points_field="customfield_12345")
    assert isinstance(event, IssueChanged) and event.points == 8.0


def server_payload(event_type: str, status: str, category: str, resolution: str | None) -> dict[str, Any]:
    """A Jira Server/Data Center delivery: user keys instead of account ids, greenhopper sprint strings."""
    payload = copy.deepcopy(load_jira("webhook-issue-updated-resolved.json"))
    payload["issue_event_type_name"] = event_type
    payload["user"] = {
        "self": "https://jira.example.com/jira/rest/api/2/user?username=alice",
        "name": "alice",
        "key": "JIRAUSER10100",
        "displayName": "Alice",
        "emailAddress": "alice@example.com",
    }
    issue = payload["issue"]
    issue["self"] = "https://jira.example.com/jira/rest/api/2/issue/10040"
    fields = issue["fields"]
    fields["status"] = {"name": status, "statusCategory": {"key": category}}
    fields["resolution"] = {"name": resolution} if resolution else None
    fields["customfield_10002"] = 3.0
    fields["customfield_10005"] = [
        "com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=12,rapidViewId=3,state=ACTIVE,"
        "name=Sprint 12,startDate=2026-11-02T09:00:00.000Z,endDate=2026-11-13T17:00:00.000Z,"
        "completeDate=<null>,sequence=12,"
        "goal=Ship search, fast]"
    ]
    fields["assignee"] = {"name": "bob", "key": "JIRAUSER10101", "displayName": "Bob"}
    return payload


def test_server_payload() -> None:
    event = parse(server_payload("issue_resolved", "Resolved", "done", "Fixed"))
    assert isinstance(event, IssueChanged)
    assert event.site == "https://jira.example.com/jira"
    assert event.url == "https://jira.example.com/jira/browse/TES-41"
    assert event.is_complete and event.points == 3.0
    assert event.assignee is not None and event.assignee.ref == "JIRAUSER10101"
    assert event.sprints is not None
    sprint = event.sprints[0]
    assert (sprint.jira_id, sprint.board_id, sprint.state, sprint.name) == (12, 3, "active", "Sprint 12")
    assert sprint.goal == "Ship search, fast"
    assert sprint.completed_at is None


@pytest.mark.parametrize("action", list(SprintAction))
def test_sprint_events(action: SprintAction) -> None:
    payload = {
        "timestamp": 1763900000000,
        "webhookEvent": f"sprint_{action.value}",
        "sprint": {
            "id": 42,
            "self": "https://x.atlassian.net/rest/agile/1.0/sprint/42",
            "state": "active",
            "name": "Sprint 42",
            "startDate": "2026-11-16T09:00:00.000Z",
            "endDate": "2026-11-27T17:00:00.000Z",
            "originBoardId": 1,
            "goal": "Onboarding",
        },
    }
    event = parse(payload)
    assert isinstance(event, SprintChanged)
    assert event.action is action
    assert event.sprint.jira_id == 42 and event.sprint.board_id == 1 and event.sprint.goal == "Onboarding"
    assert event.site == "https://x.atlassian.net"


@pytest.mark.parametrize(
    "payload",
    [
        {"webhookEvent": "jira:issue_updated"},
        {"webhookEvent": "jira:issue_updated", "issue": {"fields": {}}},
        {"webhookEvent": "sprint_started", "sprint": {}},
        {"webhookEvent": "comment_created", "issue": "TES-1"},
    ],
)
def test_known_events_missing_essentials_raise_a_clear_error(payload: dict[str, Any]) -> None:
    with pytest.raises(PayloadError):
        parse(payload)


def test_unknown_events_are_none() -> None:
    assert parse({"webhookEvent": "board_created", "timestamp": 1}) is None
    assert parse({"webhookEvent": "jira:worklog_updated"}) is None


def test_missing_timestamp_falls_back_to_receipt() -> None:
    payload = load_jira("webhook-issue-updated-resolved.json")
    del payload["timestamp"]
    event = parse(payload)
    assert isinstance(event, IssueChanged) and event.timestamp_ms == NOW_MS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2019-02-15T19:01:52.971-0800", datetime(2019, 2, 16, 3, 1, 52, 971000, tzinfo=UTC)),
        ("2026-11-02T09:00:00.000Z", datetime(2026, 11, 2, 9, tzinfo=UTC)),
        (1550286940507, datetime.fromtimestamp(1550286940.507, tz=UTC)),
        ("not a date", None),
        (None, None),
        (True, None),
    ],
)
def test_jira_datetimes(raw: Any, expected: datetime | None) -> None:
    assert parse_jira_datetime(raw) == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "status",
                "resolution",
                "assignee",
                "labels",
                "summary",
                "issuetype",
                "project",
                "customfield_10016",
                "customfield_10020",
            ]
        ),
        json_values,
    )
)
def test_hostile_fields_never_crash_the_parser(fields: dict[str, Any]) -> None:
    """Unknown or malformed fields are tolerated: an event comes back, never a crash."""
    payload = {
        "webhookEvent": "jira:issue_updated",
        "timestamp": 5,
        "issue": {"key": "ABC-1", "self": "https://x/rest/api/2/issue/1", "fields": fields},
    }
    event = parse(payload)
    assert isinstance(event, IssueChanged) and event.issue_key == "ABC-1"


# -- every field bounded: whatever arrives, the event fits the columns it is stored in ---------------------


def resolved_with(**fields: Any) -> dict[str, Any]:
    payload = copy.deepcopy(load_jira("webhook-issue-updated-resolved.json"))
    payload["issue"]["fields"].update(fields)
    return payload


@pytest.mark.parametrize(
    "timestamp", ["²", "١٢٣", 2**63, 2**64 - 1, -1, 253_402_300_800_000, 1e300, "x", True, [], {}]
)
def test_a_bad_timestamp_is_a_payload_error_naming_it(timestamp: Any) -> None:
    payload = dict(load_jira("webhook-issue-updated-resolved.json"), timestamp=timestamp)
    with pytest.raises(PayloadError, match="timestamp"):
        parse(payload)


@pytest.mark.parametrize(
    "raw",
    [
        10**17,
        -(10**17),
        2**63,
        1e308,
        float("inf"),
        float("nan"),
        "99999999999999999999",
        "²",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1969-12-31T23:59:59Z",
    ],
)
def test_dates_outside_1970_to_9999_read_as_unknown(raw: Any) -> None:
    assert parse_jira_datetime(raw) is None
    event = parse(resolved_with(created=raw))
    assert isinstance(event, IssueChanged) and event.created_at is None


def test_nul_is_stripped_from_every_stored_string() -> None:
    payload = resolved_with(
        summary="fix\x00 it",
        labels=["a\x00b", "\x00"],
        assignee={"accountId": "acc\x00-1", "displayName": "Ada\x00", "emailAddress": "a\x00@x.io"},
        issuetype={"name": "Sto\x00ry"},
        status={"name": "Do\x00ne", "statusCategory": {"key": "done"}},
        customfield_10020=[{"id": 7, "name": "Spr\x00int", "state": "act\x00ive", "goal": "g\x00"}],
    )
    payload["issue"]["key"] = "TES-\x0041"
    event = parse(payload)
    assert isinstance(event, IssueChanged)
    texts = [event.summary, *event.labels, event.issue_key, event.issue_type, event.status_name, event.url]
    assert event.assignee is not None and event.sprints is not None
    texts += [event.assignee.ref, event.assignee.display_name, event.assignee.email]
    texts += [event.sprints[0].name, event.sprints[0].state, event.sprints[0].goal]
    assert all(text is not None and "\x00" not in text for text in texts), texts
    assert (event.summary, event.labels, event.issue_key) == ("fix it", ("ab",), "TES-41")


def test_display_text_is_cut_to_its_column_and_long_emails_dropped() -> None:
    payload = resolved_with(
        assignee={"accountId": "acc-1", "displayName": "n" * 500, "emailAddress": "e" * 400 + "@x.io"},
        issuetype={"name": "t" * 500},
        status={"name": "s" * 500, "statusCategory": {"key": "done"}},
        project={"key": "TES", "name": "p" * 500},
        customfield_10020=[{"id": 7, "name": "r" * 500, "state": "s" * 50}],
    )
    event = parse(payload)
    assert isinstance(event, IssueChanged) and event.assignee is not None and event.sprints is not None
    assert len(event.assignee.display_name or "") == 200 and event.assignee.email is None
    assert (len(event.issue_type or ""), len(event.status_name or ""), len(event.project_name or "")) == (
        64,
        100,
        200,
    )
    assert (len(event.sprints[0].name or ""), len(event.sprints[0].state or "")) == (200, 16)


@pytest.mark.parametrize(
    ("where", "value", "field"),
    [
        ("key", "K" * 30 + "-" + "1" * 40, "issue.key"),
        ("id", "9" * 65, "issue.id"),
        ("assignee", {"accountId": "a" * 129}, "accountId"),
    ],
)
def test_over_long_identifiers_are_refused_not_cut(where: str, value: Any, field: str) -> None:
    payload = copy.deepcopy(load_jira("webhook-issue-updated-resolved.json"))
    if where == "assignee":
        payload["issue"]["fields"]["assignee"] = value
    else:
        payload["issue"][where] = value
    with pytest.raises(PayloadError, match=field):
        parse(payload)


def test_ids_past_64_bits_are_no_ids() -> None:
    sprint = {"id": 2**63, "name": "S", "state": "active", "originBoardId": 2**64 - 1}
    with pytest.raises(PayloadError, match=r"sprint\.id"):
        parse({"webhookEvent": "sprint_started", "timestamp": 1, "sprint": sprint})
    event = parse(resolved_with(customfield_10020=[dict(sprint, id="²")], customfield_10016=1e300))
    assert isinstance(event, IssueChanged) and event.points is None
    assert event.sprints is not None and [s.jira_id for s in event.sprints] == [None]
    payload = resolved_with()
    payload["changelog"] = {"items": [{"field": "Sprint", "from": "²", "to": f"7, {2**63}"}]}
    event = parse(payload)
    assert isinstance(event, IssueChanged) and event.sprint_move is not None
    assert event.sprint_move.added_ids == (7,)
