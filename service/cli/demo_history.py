"""A believable team's last few weeks in Jira, as the webhook deliveries Jira Cloud would have sent.

The history is generated relative to now in the team's time zone, so the demo always shows live
streaks: three two-week sprints (two closed, one active), four people who finish tickets on
working days only, and nothing dated after now. The same day always yields the same deliveries, so
playing the demo twice on one day changes nothing (deliveries are deduplicated on their body).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SITE = "https://acme-web.atlassian.net"
TEAM_SLUG = "web"
TEAM_NAME = "Web"
PROJECT_KEY = "WEB"
TEAM_TIMEZONE = "Europe/Berlin"
BOARD_ID = 7
FIRST_SPRINT = 23
SPRINT_WORKING_DAYS = 10
OPEN_IN_CURRENT_SPRINT = 4
POINTS_FIELD = "customfield_10016"  # Jira Cloud's "Story point estimate"
SPRINT_FIELD = "customfield_10020"
# Kept on purpose: people paste such titles, and every output must show them as plain text.
HOSTILE_TITLE = "`<!channel>` <script>alert(1)</script>"


@dataclass(frozen=True, slots=True)
class Person:
    account_id: str
    name: str
    email: str
    weekdays: frozenset[int]  # finishes a ticket on these days of the week (0 is Monday)...
    from_day: int = 0  # ...from this working day of the history on


_EVERY_DAY = frozenset(range(5))
PEOPLE = (
    Person(
        "712020:5b8e2c1a-0d1f-4c57-9b1e-7d2b5f0a9e01", "Amara Okafor", "amara@acme.example", _EVERY_DAY, 10
    ),
    Person(
        "712020:a3c4e5f6-1b2c-4d3e-8f9a-0b1c2d3e4f02",
        "Jonas Weber",
        "jonas@acme.example",
        frozenset({0, 1, 2}),
    ),
    Person(
        "712020:c7d8e9f0-2a3b-4c5d-9e6f-1a2b3c4d5e03", "Mei Lin", "mei@acme.example", frozenset({1, 3, 4})
    ),
    Person(
        "712020:e1f2a3b4-3c4d-4e5f-8a7b-2c3d4e5f6a04", "Diego Santos", "diego@acme.example", frozenset({2, 4})
    ),
)

# (summary, issue type, points); handed out in order, so each sprint gets a mix.
TICKETS = (
    ("Sign-up form remembers the chosen plan", "Story", 3),
    ("Password reset link expires after 24 hours", "Bug", 2),
    ("Invoice PDF shows the VAT number", "Story", 2),
    ("Search suggests recent queries", "Story", 5),
    ("Checkout button disabled twice on slow networks", "Bug", 1),
    ("Team page lists members alphabetically", "Story", 1),
    ("Onboarding email explains the first step", "Story", 3),
    ("Image uploads larger than 10 MB fail silently", "Bug", 2),
    ("Dark mode for the settings page", "Story", 5),
    ("Date picker starts weeks on Monday in Europe", "Bug", 1),
    ("Export wins as CSV", "Story", 3),
    ("Profile avatars load lazily", "Story", 2),
    ("Broken link in the footer on mobile", "Bug", 1),
    ("Billing page shows the next payment date", "Story", 3),
    (HOSTILE_TITLE, "Bug", 1),
    ("Keyboard shortcuts for the board view", "Story", 5),
    ("Error page offers a way back home", "Story", 1),
    ("Notifications respect quiet hours", "Story", 3),
    ("Session expires while typing a long comment", "Bug", 2),
    ("Faster first paint on the dashboard", "Story", 8),
    ("Audit log records role changes", "Story", 3),
    ("Currency symbol misplaced for CHF", "Bug", 1),
    ("Invite teammates from the empty state", "Story", 2),
    ("Accessible labels on every form field", "Story", 3),
    ("Duplicate toast after saving settings", "Bug", 1),
    ("Weekly summary email opt-out", "Story", 2),
    ("Drag and drop to reorder checklist items", "Story", 5),
    ("Timezone shown next to meeting times", "Story", 1),
    ("Markdown preview in comments", "Story", 3),
    ("Pagination skips the last page", "Bug", 2),
)
SPRINT_GOALS = (
    "Ship self-serve billing",
    "Make onboarding delightful",
    "A faster, calmer dashboard",
)
SPRINT_IDS = tuple(1100 + n for n in range(len(SPRINT_GOALS)))  # Jira's sprint ids


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook delivery: a file name to show and the payload Jira would send."""

    name: str
    payload: dict[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class Sprint:
    jira_id: int
    name: str
    goal: str
    start: datetime
    end: datetime
    closed_at: datetime | None


def history(now: datetime, tz_name: str = TEAM_TIMEZONE) -> list[Delivery]:
    """Every delivery of the generated history up to ``now``, oldest first."""
    zone = ZoneInfo(tz_name)
    days = working_days(now.astimezone(zone).date())
    sprints = _sprints(days, zone)
    deliveries: list[Delivery] = []
    tickets = _ticket_pool()
    for number, sprint in enumerate(sprints):
        sprint_days = days[number * SPRINT_WORKING_DAYS : (number + 1) * SPRINT_WORKING_DAYS]
        deliveries.append(_sprint_event(sprint, "sprint_started", sprint.start, "active"))
        planned = list(_planned(sprint_days, number * SPRINT_WORKING_DAYS, tickets, zone))
        for n, (key, (summary, kind, points), person, done_at) in enumerate(planned):
            # Planned as the sprint starts (its committed scope), a minute apart so ages differ.
            created = sprint.start + timedelta(minutes=n + 1)
            ticket = _Ticket(key, summary, kind, points, person, sprint, created)
            deliveries.append(_issue_created(ticket))
            deliveries.append(_issue_done(ticket, done_at))
        if sprint.closed_at is not None:
            deliveries.append(_sprint_event(sprint, "sprint_closed", sprint.closed_at, "closed"))
        else:  # the current sprint also holds work nobody has finished yet
            for n in range(OPEN_IN_CURRENT_SPRINT):
                key = f"{PROJECT_KEY}-{900 + n}"
                summary, kind, points = next(tickets)
                created = sprint.start + timedelta(minutes=len(planned) + n + 1)
                ticket = _Ticket(key, summary, kind, points, PEOPLE[n % len(PEOPLE)], sprint, created)
                deliveries.append(_issue_created(ticket))
    return sorted((d for d in deliveries if d.at <= now), key=lambda d: d.at)


def _ticket_pool() -> Iterator[tuple[str, str, int]]:
    """Every ticket once, then the ordinary ones again: the hostile title stays one ticket."""
    yield from TICKETS
    while True:
        yield from (ticket for ticket in TICKETS if ticket[0] != HOSTILE_TITLE)


def working_days(today: date) -> list[date]:
    """The history's working days: two full sprints, then the current one up to ``today``.

    The current sprint starts on the Monday of the week two days ago, so it has begun on any day.
    """
    start_of_current = today - timedelta(days=2)
    start_of_current -= timedelta(days=start_of_current.weekday())
    first = start_of_current - timedelta(weeks=4)
    out: list[date] = []
    day = first
    while day <= today:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def sprint_names() -> list[str]:
    return [f"{TEAM_NAME} {FIRST_SPRINT + n}" for n in range(len(SPRINT_GOALS))]


def _sprints(days: list[date], zone: ZoneInfo) -> list[Sprint]:
    out: list[Sprint] = []
    for n, (name, goal) in enumerate(zip(sprint_names(), SPRINT_GOALS, strict=True)):
        first = days[n * SPRINT_WORKING_DAYS]
        start = datetime.combine(first, time(9, 0), zone)
        end = datetime.combine(first + timedelta(days=13), time(18, 0), zone)  # a Sunday
        last_two = first + timedelta(days=11)  # the second Friday: the review
        closed = datetime.combine(last_two, time(16, 30), zone) if n < len(SPRINT_GOALS) - 1 else None
        out.append(Sprint(SPRINT_IDS[n], name, goal, start, end, closed))
    return out


def _planned(
    sprint_days: list[date], first_index: int, tickets: Iterator[tuple[str, str, int]], zone: ZoneInfo
) -> Iterator[tuple[str, tuple[str, str, int], Person, datetime]]:
    """Who finishes which ticket on which working day of the sprint."""
    for offset, day in enumerate(sprint_days):
        index = first_index + offset
        for slot, person in enumerate(PEOPLE):
            if index < person.from_day or day.weekday() not in person.weekdays:
                continue
            ticket = next(tickets)
            number = 100 + index * len(PEOPLE) + slot
            done_at = datetime.combine(day, time(10 + 2 * slot, 5 * slot + 7), zone)
            yield f"{PROJECT_KEY}-{number}", ticket, person, done_at


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _jira_time(moment: datetime) -> str:
    """Jira's own format for issue fields, e.g. 2026-11-09T09:00:00.000+0100."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000%z")


def _utc_time(moment: datetime) -> str:
    """The Agile API's format for sprint dates, e.g. 2026-11-09T08:00:00.000Z."""
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _user(person: Person) -> dict[str, Any]:
    return {
        "self": f"{SITE}/rest/api/2/user?accountId={person.account_id}",
        "accountId": person.account_id,
        "emailAddress": person.email,
        "displayName": person.name,
        "active": True,
        "timeZone": TEAM_TIMEZONE,
        "accountType": "atlassian",
    }


def _sprint_json(sprint: Sprint, state: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": sprint.jira_id,
        "self": f"{SITE}/rest/agile/1.0/sprint/{sprint.jira_id}",
        "state": state,
        "name": sprint.name,
        "startDate": _utc_time(sprint.start),
        "endDate": _utc_time(sprint.end),
        "originBoardId": BOARD_ID,
        "goal": sprint.goal,
    }
    if state == "closed" and sprint.closed_at is not None:
        out["completeDate"] = _utc_time(sprint.closed_at)
    return out


def _sprint_event(sprint: Sprint, event: str, at: datetime, state: str) -> Delivery:
    payload = {"timestamp": _ms(at), "webhookEvent": event, "sprint": _sprint_json(sprint, state)}
    return Delivery(f"{sprint.name.lower().replace(' ', '-')}-{event}.json", payload, at)


_STATUSES = {
    "To Do": ("10000", "new", "To Do", 2, "blue-gray"),
    "Done": ("10002", "done", "Done", 3, "green"),
}


def _status(name: str) -> dict[str, Any]:
    status_id, key, _, category_id, color = _STATUSES[name]
    return {
        "self": f"{SITE}/rest/api/2/status/{status_id}",
        "name": name,
        "id": status_id,
        "statusCategory": {
            "self": f"{SITE}/rest/api/2/statuscategory/{category_id}",
            "id": category_id,
            "key": key,
            "colorName": color,
            "name": "Done" if key == "done" else "To Do",
        },
    }


@dataclass(frozen=True, slots=True)
class _Ticket:
    key: str
    summary: str
    kind: str
    points: int
    person: Person
    sprint: Sprint
    created: datetime

    @property
    def number(self) -> int:
        return int(self.key.rsplit("-", 1)[1])


def _issue(ticket: _Ticket, at: datetime, *, done: bool) -> dict[str, Any]:
    key, kind, person, sprint = ticket.key, ticket.kind, ticket.person, ticket.sprint
    issue_id = str(20000 + ticket.number)
    resolution = {"self": f"{SITE}/rest/api/2/resolution/10000", "id": "10000", "name": "Done"}
    return {
        "id": issue_id,
        "self": f"{SITE}/rest/api/2/issue/{issue_id}",
        "key": key,
        "fields": {
            "summary": ticket.summary,
            "issuetype": {
                "self": f"{SITE}/rest/api/2/issuetype/{'10004' if kind == 'Bug' else '10001'}",
                "id": "10004" if kind == "Bug" else "10001",
                "name": kind,
                "subtask": False,
            },
            "project": {
                "self": f"{SITE}/rest/api/2/project/10400",
                "id": "10400",
                "key": PROJECT_KEY,
                "name": TEAM_NAME,
                "projectTypeKey": "software",
            },
            "status": _status("Done" if done else "To Do"),
            "resolution": resolution if done else None,
            "resolutiondate": _jira_time(at) if done else None,
            "priority": {"self": f"{SITE}/rest/api/2/priority/3", "name": "Medium", "id": "3"},
            "assignee": _user(person),
            "reporter": _user(PEOPLE[1]),
            "creator": _user(PEOPLE[1]),
            "created": _jira_time(ticket.created),
            "updated": _jira_time(at),
            "labels": [],
            POINTS_FIELD: ticket.points,
            SPRINT_FIELD: [{**_sprint_json(sprint, "active"), "boardId": BOARD_ID}],
        },
    }


def _issue_created(ticket: _Ticket) -> Delivery:
    payload = {
        "timestamp": _ms(ticket.created),
        "webhookEvent": "jira:issue_created",
        "issue_event_type_name": "issue_created",
        "user": _user(PEOPLE[1]),
        "issue": _issue(ticket, ticket.created, done=False),
    }
    return Delivery(f"{ticket.key.lower()}-created.json", payload, ticket.created)


def _issue_done(ticket: _Ticket, at: datetime) -> Delivery:
    payload = {
        "timestamp": _ms(at),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": _user(ticket.person),
        "issue": _issue(ticket, at, done=True),
        "changelog": {
            "id": str(30000 + ticket.number),
            "items": [
                {
                    "field": "resolution",
                    "fieldtype": "jira",
                    "fieldId": "resolution",
                    "from": None,
                    "fromString": None,
                    "to": "10000",
                    "toString": "Done",
                },
                {
                    "field": "status",
                    "fieldtype": "jira",
                    "fieldId": "status",
                    "from": "10000",
                    "fromString": "To Do",
                    "to": "10002",
                    "toString": "Done",
                },
            ],
        },
    }
    return Delivery(f"{ticket.key.lower()}-done.json", payload, at)
