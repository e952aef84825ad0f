"""What counts as a trace of a person in text and JSON, and what scrubbing leaves."""

from __future__ import annotations

import pytest

from service.privacy.traces import PersonTraces

ANN = PersonTraces("Ann Lee", "ann.lee@example.org", "acc-ann", "UANN1")


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("Thanks <@UANN1> for the fix", "Thanks a teammate for the fix"),
        ("Thanks <@UANN1|ann> for the fix", "Thanks a teammate for the fix"),
        ("ann lee paired with Bob", "a teammate paired with Bob"),
        ("Annual review by Ann Leeway", "Annual review by Ann Leeway"),  # whole words only
        ("mail ANN.LEE@example.org", "mail a teammate"),
        ("assignee acc-ann changed", "assignee forgotten changed"),
        ("user UANN1 reacted", "user forgotten reacted"),
    ],
)
def test_scrub_text(text: str, scrubbed: str) -> None:
    assert ANN.scrub_text(text) == scrubbed
    assert ANN.found_in(scrubbed) is False


def test_scrub_json_drops_the_person_only_when_asked() -> None:
    body = {
        "user": {"accountId": "acc-ann", "displayName": "Ann Lee"},
        "issue": {"fields": {"assignee": {"accountId": "acc-ann"}, "summary": "Ann Lee's bug"}},
        "changelog": {"items": [{"field": "assignee", "to": "acc-ann"}, {"field": "status", "to": "3"}]},
    }
    dropped = ANN.scrub_json(body, drop_people=True)
    assert dropped["user"] is None and dropped["issue"]["fields"]["assignee"] is None
    assert dropped["issue"]["fields"]["summary"] == "a teammate's bug"
    assert dropped["changelog"]["items"] == [{"field": "status", "to": "3"}]
    kept = ANN.scrub_json(body)
    assert kept["user"] == {"accountId": "forgotten", "displayName": "a teammate"}


def test_needles_cover_json_escaped_text() -> None:
    assert "jos\\u00e9 ruiz" in PersonTraces("José Ruiz", None, None, None).needles()
    assert PersonTraces("", None, None, None).needles() == []
