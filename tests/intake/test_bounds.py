"""The bounds the Jira parser holds events to are the columns' own lengths: they cannot drift apart."""

from __future__ import annotations

from sqlalchemy import String

from service.domain import events
from service.models import InboundEvent, Member, Sprint, Team, Ticket


def length(column: object) -> int | None:
    kind = column.type  # type: ignore[attr-defined]
    assert isinstance(kind, String)
    return kind.length


def test_event_bounds_match_the_columns() -> None:
    assert length(InboundEvent.__table__.c.event_type) == events.EVENT_NAME_MAX
    for name in ("issue_key", "issue_id", "project_key", "issue_type"):
        assert length(Ticket.__table__.c[name]) == events.KEY_MAX, name
    assert length(Ticket.__table__.c.status_name) == events.STATUS_NAME_MAX
    assert length(Member.__table__.c.jira_account_id) == events.PERSON_REF_MAX
    assert length(Member.__table__.c.display_name) == events.PERSON_NAME_MAX
    assert length(Member.__table__.c.email) == events.EMAIL_MAX
    assert length(Team.__table__.c.name) == events.PROJECT_NAME_MAX
    assert length(Sprint.__table__.c.name) == events.SPRINT_NAME_MAX
    assert length(Sprint.__table__.c.state) == events.SPRINT_STATE_MAX
    assert int(events.LATEST.timestamp() * 1000) == events.TIMESTAMP_MS_MAX
