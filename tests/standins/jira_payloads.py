"""How the Jira stand-in renders its records as JSON bodies, shaped per flavour like Jira's own."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from tests.standins import LocalHTTPServer
from tests.standins.jira_jql import JqlFilter
from tests.standins.jira_records import (
    ISSUE_EXPAND,
    ISSUE_TYPE_IDS,
    STATUS_CATEGORIES,
    STATUS_IDS,
    SUBTASK_TYPES,
    BoardRecord,
    IssueRecord,
    JiraFlavour,
    JiraUser,
    Reply,
    SprintRecord,
    agile_date,
    issue_date,
)


class JiraPayloads(LocalHTTPServer):
    """JSON bodies and paging shared by the REST and Agile endpoints.

    The state is declared here and filled in by `JiraStandIn.__init__`.
    """

    flavour: JiraFlavour
    page_cap: int
    bot: JiraUser
    _boards: dict[int, BoardRecord]
    _sprints: dict[int, SprintRecord]
    _issues: dict[str, IssueRecord]
    _users: dict[str, JiraUser]

    def _user_json(self, user: JiraUser) -> dict[str, Any]:
        if self.flavour.name == "cloud":
            body: dict[str, Any] = {
                "self": f"{self.url}/rest/api/2/user?accountId={user.ident}",
                "accountId": user.ident,
                "accountType": "atlassian",
            }
        else:
            body = {
                "self": f"{self.url}/rest/api/2/user?username={user.ident}",
                "name": user.ident,
                "key": user.server_key,
            }
        if user.email:
            body["emailAddress"] = user.email
        body.update(displayName=user.display_name, active=True, timeZone=user.time_zone)
        return body

    def _sprint_json(self, sprint: SprintRecord) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": sprint.id,
            "self": f"{self.url}/rest/agile/1.0/sprint/{sprint.id}",
            "state": sprint.state,
            "name": sprint.name,
        }
        if sprint.start is not None:
            body["startDate"] = agile_date(sprint.start)
            if self.flavour.name == "cloud":
                body["activatedDate"] = agile_date(sprint.start)
        if sprint.end is not None:
            body["endDate"] = agile_date(sprint.end)
        if sprint.complete is not None:
            body["completeDate"] = agile_date(sprint.complete)
        body["originBoardId"] = sprint.board_id
        body["goal"] = sprint.goal or ""
        return body

    def _sprint_field_value(self, sprint: SprintRecord) -> dict[str, Any] | str:
        if self.flavour.name == "cloud":
            value: dict[str, Any] = {
                "id": sprint.id,
                "name": sprint.name,
                "state": sprint.state,
                "boardId": sprint.board_id,
                "goal": sprint.goal or "",
            }
            for name, date in (("startDate", sprint.start), ("endDate", sprint.end)):
                if date is not None:
                    value[name] = agile_date(date)
            if sprint.complete is not None:
                value["completeDate"] = agile_date(sprint.complete)
            return value
        # Jira Server serialises sprints with Java's toString(); parsers must cope with this.
        attributes = [
            f"id={sprint.id}",
            f"rapidViewId={sprint.board_id}",
            f"state={sprint.state.upper()}",
            f"name={sprint.name}",
            f"startDate={agile_date(sprint.start) or '<null>'}",
            f"endDate={agile_date(sprint.end) or '<null>'}",
            f"completeDate={agile_date(sprint.complete) or '<null>'}",
            f"sequence={sprint.id}",
            f"goal={sprint.goal if sprint.goal is not None else '<null>'}",
        ]
        identity = format((sprint.id * 0x9E37) & 0xFFFF, "x")
        return f"com.atlassian.greenhopper.service.sprint.Sprint@{identity}[{','.join(attributes)}]"

    def _issue_json(self, issue: IssueRecord, wanted: set[str] | None) -> dict[str, Any]:
        board = next((b for b in self._boards.values() if b.project_key == issue.project_key), None)
        category = STATUS_CATEGORIES[issue.status_category]
        status_id = STATUS_IDS.get(issue.status_name, "10100")
        type_id = ISSUE_TYPE_IDS.get(issue.issue_type, "10005")
        is_subtask = issue.issue_type in SUBTASK_TYPES
        issue_type: dict[str, Any] = {
            "self": f"{self.url}/rest/api/2/issuetype/{type_id}",
            "id": type_id,
            "name": issue.issue_type,
            "subtask": is_subtask,
        }
        if self.flavour.name == "cloud":
            issue_type["hierarchyLevel"] = -1 if is_subtask else (1 if issue.issue_type == "Epic" else 0)
        assignee = self._users.get(issue.assignee) if issue.assignee else None
        sprints = [self._sprints[s] for s in issue.sprint_ids if s in self._sprints]
        fields: dict[str, Any] = {
            "summary": issue.summary,
            "issuetype": issue_type,
            "status": {
                "self": f"{self.url}/rest/api/2/status/{status_id}",
                "id": status_id,
                "name": issue.status_name,
                "statusCategory": {
                    "self": f"{self.url}/rest/api/2/statuscategory/{category['id']}",
                    **category,
                },
            },
            "resolution": (
                {"self": f"{self.url}/rest/api/2/resolution/10000", "id": "10000", "name": "Done"}
                if issue.resolutiondate is not None
                else None
            ),
            "resolutiondate": issue_date(issue.resolutiondate),
            "assignee": self._user_json(assignee) if assignee else None,
            "labels": list(issue.labels),
            "project": {
                "self": f"{self.url}/rest/api/2/project/{issue.project_key}",
                "id": str(10000 + sum(map(ord, issue.project_key))),
                "key": issue.project_key,
                "name": board.project_name if board else issue.project_key,
                "projectTypeKey": "software",
            },
            "created": issue_date(issue.created),
            "updated": issue_date(issue.updated),
            self.flavour.points_field_id: issue.points,
            self.flavour.sprint_field_id: [self._sprint_field_value(s) for s in sprints] or None,
        }
        if wanted is not None:
            fields = {name: value for name, value in fields.items() if name in wanted}
        return {
            "expand": ISSUE_EXPAND,
            "id": str(issue.id),
            "self": f"{self.url}/rest/api/2/issue/{issue.id}",
            "key": issue.key,
            "fields": fields,
        }

    @staticmethod
    def _wanted_fields(args: MultiDict[str, str]) -> set[str] | None:
        """None means every field (``*all``, ``*navigable`` or no `fields` parameter)."""
        requested = {
            part.strip() for value in args.getlist("fields") for part in value.split(",") if part.strip()
        }
        if not requested or requested & {"*all", "*navigable"}:
            return None
        return requested

    def _page_bounds(self, args: MultiDict[str, str]) -> tuple[int, int]:
        start_at = max(0, int(args.get("startAt", "0") or 0))
        requested = int(args.get("maxResults", str(self.page_cap)) or self.page_cap)
        max_results = self.page_cap if requested < 0 else min(requested, self.page_cap)
        return start_at, max_results

    def _issue_page(self, args: MultiDict[str, str], issues: list[IssueRecord]) -> Reply:
        selected = JqlFilter(args.get("jql", ""), self._sprints, self._users).select(issues)
        start_at, max_results = self._page_bounds(args)
        wanted = self._wanted_fields(args)
        page = selected[start_at : start_at + max_results]
        return Reply(
            {
                "expand": "schema,names",
                "startAt": start_at,
                "maxResults": max_results,
                "total": len(selected),
                "issues": [self._issue_json(issue, wanted) for issue in page],
            }
        )

    def _board_json(self, board: BoardRecord) -> dict[str, Any]:
        return {
            "id": board.id,
            "self": f"{self.url}/rest/agile/1.0/board/{board.id}",
            "name": board.name,
            "type": board.type,
            "location": {
                "projectKey": board.project_key,
                "projectName": board.project_name,
                "displayName": f"{board.project_name} ({board.project_key})",
                "projectTypeKey": "software",
                "name": f"{board.project_name} ({board.project_key})",
            },
        }
