"""The Jira stand-in's platform REST endpoints (``/rest/api/2``): server info, user, fields, search, issue."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from tests.standins.jira_jql import JqlFilter
from tests.standins.jira_payloads import JiraPayloads
from tests.standins.jira_records import Reply, error_reply, issue_date


class JiraRestEndpoints(JiraPayloads):
    """Handlers for ``/rest/api/{2,3,latest}/…`` and ``/rest/auth/1/session``."""

    def _server_info(self, args: MultiDict[str, str]) -> Reply:
        return Reply(
            {
                "baseUrl": self.url,
                "version": self.flavour.version,
                "versionNumbers": list(self.flavour.version_numbers),
                "deploymentType": self.flavour.deployment_type,
                "buildNumber": 100_250 if self.flavour.name == "cloud" else 9_120_015,
                "buildDate": "2026-10-01T00:00:00.000+0000",
                "serverTime": issue_date(datetime.now(UTC)),
                "scmInfo": "0000000000000000000000000000000000000000",
                "serverTitle": "Jira",
            }
        )

    def _myself(self, args: MultiDict[str, str]) -> Reply:
        return Reply(self._user_json(self.bot))

    def _session(self, args: MultiDict[str, str]) -> Reply:
        return Reply(
            {
                "self": f"{self.url}/rest/api/latest/user?username={self.bot.ident}",
                "name": self.bot.ident,
                "loginInfo": {"loginCount": 1, "previousLoginTime": "2026-11-01T09:00:00.000+0000"},
            }
        )

    def _fields(self, args: MultiDict[str, str]) -> Reply:
        def system(field_id: str, name: str, schema_type: str, items: str | None = None) -> dict[str, Any]:
            schema: dict[str, Any] = {"type": schema_type, "system": field_id}
            if items:
                schema["items"] = items
            return {
                "id": field_id,
                "key": field_id,
                "name": name,
                "custom": False,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [field_id],
                "schema": schema,
            }

        def custom(field_id: str, name: str, schema: dict[str, Any]) -> dict[str, Any]:
            number = int(field_id.removeprefix("customfield_"))
            return {
                "id": field_id,
                "key": field_id,
                "name": name,
                "custom": True,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [f"cf[{number}]", name],
                "schema": {**schema, "customId": number},
            }

        flavour = self.flavour
        sprint_items = "json" if flavour.name == "cloud" else "string"
        return Reply(
            [
                system("summary", "Summary", "string"),
                system("issuetype", "Issue Type", "issuetype"),
                system("status", "Status", "status"),
                system("resolution", "Resolution", "resolution"),
                system("resolutiondate", "Resolved", "datetime"),
                system("assignee", "Assignee", "user"),
                system("labels", "Labels", "array", items="string"),
                system("project", "Project", "project"),
                system("created", "Created", "datetime"),
                system("updated", "Updated", "datetime"),
                custom(
                    flavour.points_field_id,
                    flavour.points_field_name,
                    {"type": "number", "custom": flavour.points_field_custom_type},
                ),
                custom(
                    flavour.sprint_field_id,
                    "Sprint",
                    {
                        "type": "array",
                        "items": sprint_items,
                        "custom": "com.pyxis.greenhopper.jira:gh-sprint",
                    },
                ),
                custom(
                    flavour.rank_field_id,
                    "Rank",
                    {"type": "any", "custom": "com.pyxis.greenhopper.jira:gh-lexo-rank"},
                ),
            ]
        )

    def _search(self, args: MultiDict[str, str]) -> Reply:
        return self._issue_page(args, list(self._issues.values()))

    def _enhanced_search(self, args: MultiDict[str, str]) -> Reply:
        """Cloud's ``/search/jql``: pages linked by an opaque `nextPageToken`, no `total`."""
        selected = JqlFilter(args.get("jql", ""), self._sprints, self._users).select(self._issues.values())
        token = args.get("nextPageToken")
        try:
            start_at = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
        except (ValueError, binascii.Error):
            return error_reply(400, "The provided next page token is invalid or expired.")
        _, max_results = self._page_bounds(MultiDict({"maxResults": args.get("maxResults", "50")}))
        wanted = self._wanted_fields(args)
        page = selected[start_at : start_at + max_results]
        body: dict[str, Any] = {"issues": [self._issue_json(issue, wanted) for issue in page]}
        if start_at + max_results < len(selected):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(start_at + max_results).encode()).decode()
            body["isLast"] = False
        else:
            body["isLast"] = True
        return Reply(body)

    def _issue(self, args: MultiDict[str, str], key: str) -> Reply:
        issue = self._issues.get(key) or next((i for i in self._issues.values() if str(i.id) == key), None)
        if issue is None:
            return error_reply(404, "Issue does not exist or you do not have permission to see it.")
        return Reply(self._issue_json(issue, self._wanted_fields(args)))
