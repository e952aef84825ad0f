"""What identifies a person in stored text, and that text with them taken out.

A person leaves traces as their display name (in win titles, digests, Jira's ``displayName``), their
email, their Jira account id and their Slack user id (bare, or as a ``<@U…>`` mention). Names are
matched as whole words, case-insensitively, so forgetting "Ann" leaves "Annual review" alone; the
ids and the email are matched anywhere, since they are never part of another word.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# What a forgotten person becomes in text people read, and in places that held one of their ids.
A_TEAMMATE = "a teammate"
FORGOTTEN_ID = "forgotten"
# Jira and Slack user objects: a JSON object with one of these keys holding the person's id or email
# *is* that person, and goes whole (a Jira body says ``"assignee": null`` for nobody, too).
# A changelog item whose ``from`` or ``to`` is their account is a change of assignee: it goes too.
PERSON_KEYS = frozenset({"accountId", "emailAddress", "key", "name", "id", "user", "user_id", "from", "to"})


@dataclass(frozen=True)
class PersonTraces:
    name: str | None
    email: str | None
    jira_account_id: str | None
    slack_user_id: str | None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i for i in (self.jira_account_id, self.slack_user_id) if i)

    def needles(self) -> list[str]:
        """Lower-case substrings that stored text holding a trace contains, raw or JSON-escaped.

        A pre-filter for SQL (``LIKE``): a row that holds none of them holds no trace.
        """
        found: set[str] = set()
        for value in (self.name, self.email, *self.ids):
            if value and value.strip():
                found.add(value.strip().lower())
                found.add(json.dumps(value.strip())[1:-1].lower())  # as SQLite's JSON text holds it
        return sorted(found)

    def _patterns(self) -> list[tuple[re.Pattern[str], str]]:
        patterns: list[tuple[re.Pattern[str], str]] = []
        if self.slack_user_id:
            patterns.append((re.compile(rf"<@{re.escape(self.slack_user_id)}(\|[^>]*)?>"), A_TEAMMATE))
        if self.email and self.email.strip():
            patterns.append((re.compile(re.escape(self.email.strip()), re.IGNORECASE), A_TEAMMATE))
        for person_id in self.ids:
            patterns.append((re.compile(re.escape(person_id)), FORGOTTEN_ID))
        if self.name and self.name.strip():
            word = re.escape(self.name.strip())
            patterns.append((re.compile(rf"(?<!\w){word}(?!\w)", re.IGNORECASE), A_TEAMMATE))
        return patterns

    def found_in(self, text: str) -> bool:
        return any(pattern.search(text) for pattern, _ in self._patterns())

    def scrub_text(self, text: str) -> str:
        for pattern, replacement in self._patterns():
            text = pattern.sub(replacement, text)
        return text

    def scrub_json(self, value: Any, *, drop_people: bool = False) -> Any:
        """``value`` with every trace scrubbed from its strings (keys included).

        With ``drop_people``, a nested object that is the person (a Jira or Slack user object) is
        removed whole: ``null`` as a field's value, left out of a list. For raw webhook bodies, which
        are parsed again later and must then not bring the person back.
        """
        return self._scrub(value, drop_people, root=True)

    def _scrub(self, value: Any, drop_people: bool, *, root: bool = False) -> Any:
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, list):
            kept = [v for v in value if not (drop_people and self._is_person(v))]
            return [self._scrub(v, drop_people) for v in kept]
        if isinstance(value, Mapping):
            if drop_people and not root and self._is_person(value):
                return None
            return {
                self.scrub_text(str(k)): (
                    None if drop_people and self._is_person(v) else self._scrub(v, drop_people)
                )
                for k, v in value.items()
            }
        return value

    def _is_person(self, value: Any) -> bool:
        if not isinstance(value, Mapping):
            return False
        email = self.email.strip().lower() if self.email else None
        for key in PERSON_KEYS:
            field = value.get(key)
            if isinstance(field, str) and (
                field in self.ids or (email is not None and field.lower() == email)
            ):
                return True
        return False
