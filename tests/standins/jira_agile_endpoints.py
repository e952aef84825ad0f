"""The Jira stand-in's Agile endpoints (``/rest/agile/1.0``): boards, their configuration and sprints."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from tests.standins.jira_payloads import JiraPayloads
from tests.standins.jira_records import STATUS_IDS, BoardRecord, Reply, SprintRecord, error_reply


class JiraAgileEndpoints(JiraPayloads):
    """Handlers for ``/rest/agile/1.0/board…`` and ``/rest/agile/1.0/sprint…``."""

    def _board_or_404(self, board_id: int) -> BoardRecord | Reply:
        board = self._boards.get(board_id)
        if board is None:
            return error_reply(
                404,
                "The requested board cannot be viewed because it either does not exist "
                "or you do not have permission to view it.",
            )
        return board

    def _boards_list(self, args: MultiDict[str, str]) -> Reply:
        boards = sorted(self._boards.values(), key=lambda b: b.id)
        if project := args.get("projectKeyOrId"):
            boards = [b for b in boards if b.project_key == project]
        if name := args.get("name"):
            boards = [b for b in boards if name.lower() in b.name.lower()]
        start_at, max_results = self._page_bounds(args)
        page = boards[start_at : start_at + max_results]
        return Reply(
            {
                "maxResults": max_results,
                "startAt": start_at,
                "total": len(boards),
                "isLast": start_at + max_results >= len(boards),
                "values": [self._board_json(b) for b in page],
            }
        )

    def _board(self, args: MultiDict[str, str], board_id: int) -> Reply:
        board = self._board_or_404(board_id)
        return board if isinstance(board, Reply) else Reply(self._board_json(board))

    def _board_configuration(self, args: MultiDict[str, str], board_id: int) -> Reply:
        board = self._board_or_404(board_id)
        if isinstance(board, Reply):
            return board
        estimation: dict[str, Any] = {"type": "issueCount"}
        if board.estimation_field_id is not None:
            display_name = (
                self.flavour.points_field_name
                if board.estimation_field_id == self.flavour.points_field_id
                else board.estimation_field_id
            )
            estimation = {
                "type": "field",
                "field": {"fieldId": board.estimation_field_id, "displayName": display_name},
            }
        columns = [
            {
                "name": name,
                "statuses": [{"id": STATUS_IDS[name], "self": f"{self.url}/rest/api/2/status/{sid}"}],
            }
            for name, sid in STATUS_IDS.items()
        ]
        return Reply(
            {
                "id": board.id,
                "name": board.name,
                "type": board.type,
                "self": f"{self.url}/rest/agile/1.0/board/{board.id}/configuration",
                "location": {"type": "project", "key": board.project_key, "name": board.project_name},
                "filter": {
                    "id": str(10000 + board.id),
                    "self": f"{self.url}/rest/api/2/filter/{10000 + board.id}",
                },
                "columnConfig": {"columns": columns, "constraintType": "issueCount"},
                "estimation": estimation,
                "ranking": {
                    "rankCustomFieldId": int(self.flavour.rank_field_id.removeprefix("customfield_"))
                },
            }
        )

    def _board_sprints(self, args: MultiDict[str, str], board_id: int) -> Reply:
        board = self._board_or_404(board_id)
        if isinstance(board, Reply):
            return board
        states = {s.strip().lower() for s in args.get("state", "").split(",") if s.strip()}
        sprints = sorted(
            (
                s
                for s in self._sprints.values()
                if s.board_id == board_id and (not states or s.state in states)
            ),
            key=lambda s: s.id,
        )
        start_at, max_results = self._page_bounds(args)
        page = sprints[start_at : start_at + max_results]
        return Reply(
            {
                "maxResults": max_results,
                "startAt": start_at,
                "isLast": start_at + max_results >= len(sprints),
                "values": [self._sprint_json(s) for s in page],
            }
        )

    def _sprint_or_404(self, sprint_id: int) -> SprintRecord | Reply:
        sprint = self._sprints.get(sprint_id)
        if sprint is None:
            return error_reply(404, "Sprint does not exist or you do not have permission to view it.")
        return sprint

    def _sprint(self, args: MultiDict[str, str], sprint_id: int) -> Reply:
        sprint = self._sprint_or_404(sprint_id)
        return sprint if isinstance(sprint, Reply) else Reply(self._sprint_json(sprint))

    def _sprint_issues(self, args: MultiDict[str, str], sprint_id: int) -> Reply:
        sprint = self._sprint_or_404(sprint_id)
        if isinstance(sprint, Reply):
            return sprint
        return self._issue_page(args, [i for i in self._issues.values() if sprint_id in i.sprint_ids])

    def _board_sprint_issues(self, args: MultiDict[str, str], board_id: int, sprint_id: int) -> Reply:
        board = self._board_or_404(board_id)
        if isinstance(board, Reply):
            return board
        return self._sprint_issues(args, sprint_id)
