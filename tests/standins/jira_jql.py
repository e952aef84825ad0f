"""JQL for the Jira stand-in: parse a query and select and order its seeded issues."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from tests.standins.jira_records import STATUS_CATEGORIES, IssueRecord, JiraUser, SprintRecord, key_order


class JqlError(ValueError):
    """A query outside the supported subset; answered with HTTP 400 like Jira's own JQL errors."""


class JqlFilter:
    """The small JQL subset the stand-in understands.

    Clauses joined by ``AND`` (no ``OR``, no parentheses other than ``in (...)`` lists), then an
    optional ``ORDER BY <field> [ASC|DESC]`` over key, created, updated, resolved/resolutiondate.

    Fields: sprint (id or name; ``in openSprints()`` / ``closedSprints()`` / ``futureSprints()``),
    project, key, status, statusCategory (key or name), issuetype/type, assignee, labels
    (=, !=, in, not in, ``is [not] EMPTY``), and created/updated/resolved/resolutiondate compared
    with ``>, >=, <, <=`` to ``"YYYY-MM-DD"`` or ``"YYYY-MM-DD HH:MM"`` (UTC).
    """

    _CLAUSE = re.compile(
        r"^\s*(?P<field>[A-Za-z]+)\s*(?P<op>!=|>=|<=|=|>|<|not\s+in\b|in\b|is\s+not\b|is\b)\s*(?P<value>.+?)\s*$",
        re.IGNORECASE,
    )
    _ORDER_BY = re.compile(
        r"\s+order\s+by\s+(?P<field>\w+)(?:\s+(?P<direction>asc|desc))?\s*$", re.IGNORECASE
    )
    _DATE_FIELDS = {
        "created": "created",
        "updated": "updated",
        "resolved": "resolutiondate",
        "resolutiondate": "resolutiondate",
    }

    def __init__(self, jql: str, sprints: dict[int, SprintRecord], users: dict[str, JiraUser]) -> None:
        self._sprints = sprints
        self._users = users
        self.order_field: str | None = None
        self.descending = False
        text = jql.strip()
        if text.lower().startswith("order by"):
            text = " " + text
        if match := self._ORDER_BY.search(text):
            self.order_field = match["field"].lower()
            self.descending = (match["direction"] or "asc").lower() == "desc"
            text = text[: match.start()]
        if re.search(r"\s+or\s+", text, re.IGNORECASE):
            raise JqlError("the stand-in does not support OR")
        clauses = [c for c in re.split(r"\s+and\s+", text, flags=re.IGNORECASE) if c.strip()]
        self._predicates = [self._compile(clause) for clause in clauses]
        if self.order_field not in (None, "key", "rank", *self._DATE_FIELDS):
            raise JqlError(f"cannot order by {self.order_field}")

    def select(self, issues: Iterable[IssueRecord]) -> list[IssueRecord]:
        selected = [issue for issue in issues if all(p(issue) for p in self._predicates)]
        if self.order_field == "key":
            selected.sort(key=lambda i: key_order(i.key), reverse=self.descending)
        elif self.order_field in self._DATE_FIELDS:
            attribute = self._DATE_FIELDS[self.order_field]
            floor = datetime.min.replace(tzinfo=UTC)
            selected.sort(key=lambda i: getattr(i, attribute) or floor, reverse=self.descending)
        elif self.descending:
            selected.reverse()
        return selected

    @staticmethod
    def _values(raw: str) -> list[str]:
        raw = raw.strip()
        if raw.startswith("(") and raw.endswith(")"):
            raw = raw[1:-1]
        return [part.strip().strip("\"'") for part in raw.split(",") if part.strip()]

    def _compile(self, clause: str) -> Callable[[IssueRecord], bool]:
        match = self._CLAUSE.match(clause)
        if match is None:
            raise JqlError(f"cannot parse clause {clause!r}")
        name, op = match["field"].lower(), " ".join(match["op"].lower().split())
        raw_value = match["value"]

        if op in ("is", "is not"):
            if raw_value.strip().upper() not in ("EMPTY", "NULL"):
                raise JqlError(f"only EMPTY is supported after IS in {clause!r}")
            attribute = {"assignee": "assignee", "resolution": "resolutiondate", "sprint": "sprint_ids"}
            if name not in attribute:
                raise JqlError(f"cannot test {name} for EMPTY")
            attr = attribute[name]
            return lambda issue: (not getattr(issue, attr)) == (op == "is")

        if name in self._DATE_FIELDS:
            return self._date_predicate(clause, self._DATE_FIELDS[name], op, raw_value)

        if name == "sprint" and re.fullmatch(r"\s*\w+Sprints\(\)\s*", raw_value):
            state = {"opensprints()": "active", "closedsprints()": "closed", "futuresprints()": "future"}.get(
                raw_value.strip().lower()
            )
            if state is None or op not in ("in", "not in"):
                raise JqlError(f"unsupported sprint function in {clause!r}")
            sprint_ids = {s.id for s in self._sprints.values() if s.state == state}
            return lambda issue: bool(sprint_ids & set(issue.sprint_ids)) == (op == "in")

        values = self._values(raw_value)
        if op in ("=", "!="):
            if len(values) != 1:
                raise JqlError(f"expected one value in {clause!r}")
        elif op not in ("in", "not in"):
            raise JqlError(f"operator {op} is not supported for {name}")
        wanted = {v.lower() for v in values}
        extract = self._extractor(clause, name)
        positive = op in ("=", "in")
        return lambda issue: bool(extract(issue) & wanted) == positive

    def _extractor(self, clause: str, name: str) -> Callable[[IssueRecord], set[str]]:
        if name == "sprint":

            def sprint_values(issue: IssueRecord) -> set[str]:
                found = {str(sid) for sid in issue.sprint_ids}
                found |= {self._sprints[sid].name.lower() for sid in issue.sprint_ids if sid in self._sprints}
                return found

            return sprint_values
        if name == "project":
            return lambda issue: {issue.project_key.lower()}
        if name in ("key", "issuekey", "issue"):
            return lambda issue: {issue.key.lower()}
        if name == "status":
            return lambda issue: {issue.status_name.lower()}
        if name == "statuscategory":
            return lambda issue: {
                issue.status_category,
                str(STATUS_CATEGORIES[issue.status_category]["name"]).lower(),
            }
        if name in ("issuetype", "type"):
            return lambda issue: {issue.issue_type.lower()}
        if name == "assignee":
            return lambda issue: {issue.assignee.lower()} if issue.assignee else set()
        if name == "labels":
            return lambda issue: {label.lower() for label in issue.labels}
        raise JqlError(f"the stand-in does not understand the field in {clause!r}")

    @staticmethod
    def _date_predicate(
        clause: str, attribute: str, op: str, raw_value: str
    ) -> Callable[[IssueRecord], bool]:
        text = raw_value.strip().strip("\"'").replace("/", "-")
        try:
            bound = datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError as error:
            raise JqlError(f"only absolute dates are supported in {clause!r}") from error
        compare: dict[str, Callable[[datetime, datetime], bool]] = {
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
        }
        if op not in compare:
            raise JqlError(f"operator {op} is not supported for dates")
        check = compare[op]

        def predicate(issue: IssueRecord) -> bool:
            value = getattr(issue, attribute)
            return value is not None and check(value, bound)

        return predicate
