"""Composing a digest as a whole: its headline, who it names, escaping, Block Kit limits, the sprint end."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.domain.digest import (
    ANONYMOUS,
    SPRINT_GOAL_MET_ACTION_ID,
    DigestInput,
    DigestWin,
    SprintProgress,
    compose_digest,
    compose_sprint_end,
)
from service.domain.digest_blocks import (
    MAX_BLOCKS,
    MAX_HEADER_CHARS,
    MAX_SECTION_CHARS,
    Digest,
    render_console,
)
from service.domain.wins import WinKind

START = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)
END = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
HOSTILE = "<!channel> <@U0EVIL123> <https://evil.example|click> & more"
# Markup the digest itself may produce: links to http(s) URLs and mentions of user ids.
OUR_TOKEN = re.compile(r"<(?:https?://[^|<>\s]+(?:\|[^<>]*)?|@[UW][A-Z0-9]+)>")


def win(
    win_id: int,
    title: str = "Closed a ticket",
    *,
    kind: WinKind = WinKind.TICKET,
    name: str | None = "Alice",
    slack_id: str | None = "U0ALICE01",
    points: float | None = None,
    cheers: int = 0,
    minutes: int = 0,
    url: str | None = None,
    kudos_from: str | None = None,
    has_person: bool = True,
) -> DigestWin:
    return DigestWin(
        id=win_id,
        kind=kind,
        title=title,
        occurred_at=START + timedelta(minutes=minutes),
        member_name=name,
        member_slack_id=slack_id,
        points=points,
        url=url,
        cheers=cheers,
        kudos_from_name=kudos_from,
        has_person=has_person,
    )


def digest_input(wins: list[DigestWin], **overrides: Any) -> DigestInput:
    values: dict[str, Any] = {
        "team_name": "Payments",
        "period_label": "This week",
        "period_start": START,
        "period_end": END,
        "wins": wins,
    }
    values.update(overrides)
    return DigestInput(**values)


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> Iterator[str]:
    def walk(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                yield node["text"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return walk(blocks)


def section_starting(digest: Digest, title: str) -> str:
    [text] = [t for t in mrkdwn_texts(digest.blocks) if t.startswith(title)]
    return text


def header_text(digest: Digest) -> str:
    assert digest.blocks[0]["type"] == "header"
    return str(digest.blocks[0]["text"]["text"])


def assert_within_block_kit_limits(digest: Digest) -> None:
    assert len(digest.blocks) <= MAX_BLOCKS
    assert len(header_text(digest)) <= MAX_HEADER_CHARS
    for block in digest.blocks:
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= MAX_SECTION_CHARS
            assert len(block.get("fields", [])) <= 10


def assert_no_foreign_markup(digest: Digest) -> None:
    for text in [*mrkdwn_texts(digest.blocks), digest.text]:
        leftover = OUR_TOKEN.sub("", text)
        assert "<" not in leftover and ">" not in leftover, text
        assert "<!" not in text


def test_empty_period_posts_nothing_by_default() -> None:
    assert compose_digest(digest_input([])) is None


def test_empty_period_can_post_a_gentle_message() -> None:
    sprint = SprintProgress("Sprint 42", 10, 3, 30, 1, 10, days_left=8)
    digest = compose_digest(digest_input([], sprints=[sprint]), post_when_empty=True)
    assert digest is not None
    assert "quiet" in header_text(digest)
    assert "/win" in "".join(mrkdwn_texts(digest.blocks))
    assert "Sprint 42" in digest.text
    assert_within_block_kit_limits(digest)


def test_headline_counts_every_win_and_point() -> None:
    wins = [win(1, points=3), win(2, points=2.5, name=None), win(3), win(4, kind=WinKind.MANUAL, points=1)]
    sprint = SprintProgress("Sprint 42", 68.4, 21, 31, 7, 10, days_left=3, goal="Ship checkout")
    digest = compose_digest(digest_input(wins, sprints=[sprint]))
    assert digest is not None
    assert header_text(digest) == ":tada: This week: 4 wins, 6.5 points; Sprint 42 is 68% done"
    assert digest.text.startswith("Payments: This week: 4 wins, 6.5 points; Sprint 42 is 68% done")


def test_singular_wording() -> None:
    digest = compose_digest(digest_input([win(1, points=1)], period_label="Today"))
    assert digest is not None
    assert header_text(digest) == ":tada: Today: 1 win, 1 point"


def test_opted_out_people_are_never_named_but_still_count() -> None:
    secret = win(1, "Fixed billing", name=None, slack_id="U0SECRET1", points=8)
    kudos = win(2, "Helped", kind=WinKind.KUDOS, name=None, slack_id="U0SECRET1", kudos_from="Bob")
    badge = win(3, "First 10 tickets", kind=WinKind.BADGE, name=None, slack_id="U0SECRET1")
    digest = compose_digest(digest_input([secret, kudos, badge]))
    assert digest is not None
    everything = header_text(digest) + digest.text + "".join(mrkdwn_texts(digest.blocks))
    assert "U0SECRET1" not in everything
    assert ANONYMOUS in "".join(mrkdwn_texts(digest.blocks))
    assert "2 wins, 8 points" in header_text(digest)  # the badge is counted on its own
    assert "U0SECRET1" not in digest.names


def test_hostile_text_is_escaped_everywhere() -> None:
    wins = [win(1, HOSTILE, name=HOSTILE, slack_id=None, url="https://jira.example/browse/P-1", points=2)]
    sprint = SprintProgress(HOSTILE, 50, 1, 2, 1, 2, goal=HOSTILE)
    side = [
        win(2, HOSTILE, kind=WinKind.KUDOS, name=HOSTILE, slack_id=None, kudos_from=HOSTILE, cheers=2),
        win(3, HOSTILE, kind=WinKind.STREAK, name=HOSTILE, slack_id=None),
        win(4, HOSTILE, kind=WinKind.MILESTONE, name=HOSTILE, slack_id=None),
        win(5, HOSTILE, kind=WinKind.BADGE, name=HOSTILE, slack_id=None, cheers=1),
    ]
    digest = compose_digest(
        digest_input([*wins, *side], team_name=HOSTILE, period_label=HOSTILE, sprints=[sprint])
    )
    assert digest is not None
    assert_no_foreign_markup(digest)
    assert "&lt;!channel&gt;" in digest.text
    # The one real link is ours, with the hostile title escaped as its label.
    assert "<https://jira.example/browse/P-1|&lt;!channel&gt;" in "".join(mrkdwn_texts(digest.blocks))
    end = compose_sprint_end(sprint, team_name=HOSTILE, sprint_ref="jira:1:42", wins=wins)
    assert_no_foreign_markup(end)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "slack://open", "/relative", "file:///etc/passwd"])
def test_non_web_urls_are_not_linked(url: str) -> None:
    digest = compose_digest(digest_input([win(1, "Title", url=url)]))
    assert digest is not None
    assert url not in "".join(mrkdwn_texts(digest.blocks))
    assert "Title" in "".join(mrkdwn_texts(digest.blocks))


def test_limits_hold_for_huge_and_long_inputs() -> None:
    long = "ü" * 5000
    wins = [win(i, long, name=long, slack_id=None, points=1) for i in range(200)]
    side = [win(i, long, kind=WinKind.KUDOS, name=long, slack_id=None, kudos_from=long) for i in range(200)]
    sprint = SprintProgress(long, 50, 1, 2, 1, 2, goal=long)
    badges = [win(1000 + i, long, kind=WinKind.BADGE, name=long, slack_id=None) for i in range(200)]
    milestones = [win(2000 + i, long, kind=WinKind.MILESTONE, name=None, slack_id=None) for i in range(120)]
    digest = compose_digest(
        digest_input(
            [*wins, *side, *badges, *milestones],
            team_name=long,
            period_label=long,
            sprints=[sprint] * 5,
        )
    )
    assert digest is not None
    assert_within_block_kit_limits(digest)
    assert header_text(digest).endswith("…")
    end = compose_sprint_end(sprint, team_name=long, sprint_ref="jira:1:42", wins=wins)
    assert_within_block_kit_limits(end)


def test_sprint_end_celebration_asks_whether_the_goal_was_met() -> None:
    sprint = SprintProgress("Sprint 42", 90, 27, 30, 9, 10, goal="Checkout v2 <live>")
    digest = compose_sprint_end(
        sprint, team_name="Payments", sprint_ref="jira:10001:42", wins=[win(1, points=5)]
    )
    assert header_text(digest) == ":checkered_flag: Sprint 42 is done: 9 issues, 27 points"
    texts = list(mrkdwn_texts(digest.blocks))
    assert "*Goal:* Checkout v2 &lt;live&gt;" in texts
    assert "*Issues done*\n9 of 10 (90%)" in texts
    assert "*Points done*\n27 of 30 (90%)" in texts
    actions = [block for block in digest.blocks if block["type"] == "actions"]
    assert len(actions) == 1
    [button] = actions[0]["elements"]
    assert button["type"] == "button"
    assert button["action_id"] == SPRINT_GOAL_MET_ACTION_ID == "sprint_goal_met"
    assert button["value"] == "jira:10001:42"
    assert_within_block_kit_limits(digest)


def test_sprint_end_without_goal_and_bad_ref() -> None:
    sprint = SprintProgress("Sprint 7", 100, 10, 10, 4, 4)
    digest = compose_sprint_end(sprint, team_name="T", sprint_ref="s7")
    assert "_No sprint goal was set._" in list(mrkdwn_texts(digest.blocks))
    with pytest.raises(ValueError, match="sprint_ref"):
        compose_sprint_end(sprint, team_name="T", sprint_ref="")


def test_render_console_shows_names_links_and_raw_text() -> None:
    wins = [win(1, "Fix <login> & logout", points=2, url="https://jira.example/browse/P-1?a=1&b=2")]
    digest = compose_digest(digest_input(wins, team_name="R&D"))
    assert digest is not None
    console = render_console(digest)
    assert ":tada: This week: 1 win, 2 points" in console
    assert "Fix <login> & logout (https://jira.example/browse/P-1?a=1&b=2) — @Alice · 2 pts" in console
    assert "R&D · Mon 16 Nov to Sun 22 Nov" in console
    assert "&amp;" not in console and "&lt;" not in console


def test_composing_100k_wins_is_fast(capsys: pytest.CaptureFixture[str]) -> None:
    wins = [
        win(
            i,
            f"Ticket {i}",
            points=float(i % 13),
            cheers=i % 7,
            minutes=i % 10_000,
            name=None if i % 5 else "A",
        )
        for i in range(100_000)
    ]
    started = time.perf_counter()
    digest = compose_digest(digest_input(wins))
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert digest is not None
    assert "100000 wins" in header_text(digest)
    # The best win: 12 points, 6 cheers, latest occurrence among those.
    best = max(wins, key=lambda w: (w.points or 0, w.cheers, w.occurred_at))
    assert f" {best.title} " in section_starting(digest, "*Top wins*").split("\n")[1]
    with capsys.disabled():
        print(f"\ncompose_digest over 100,000 wins: {elapsed_ms:.1f} ms")


@pytest.mark.parametrize(
    ("has_person", "expected"),
    [
        (True, "a teammate"),  # someone opted out of being named: counted, shown anonymously
        (False, None),  # nobody behind the win (a team milestone): no one is named at all
    ],
)
def test_wins_without_a_name(has_person: bool, expected: str | None) -> None:
    from dataclasses import replace

    milestone = replace(
        win(1, "Sprint 9: half the committed scope done", kind=WinKind.MILESTONE, name=None, slack_id=None),
        has_person=has_person,
    )
    digest = compose_digest(digest_input([milestone]))
    assert digest is not None
    shown = "a teammate" in digest.text
    assert shown is (expected is not None)
    assert "Sprint 9: half the committed scope done" in digest.text


def test_headline_counts_only_the_wins_people_made() -> None:
    wins = [
        win(1, "Fixed login", points=3),
        win(2, "Wrote the runbook", kind=WinKind.MANUAL, points=1),
        win(3, "Thanks for the review", kind=WinKind.KUDOS, kudos_from="Bob"),
        win(4, "Sprint 42: 50% of the committed scope done", kind=WinKind.MILESTONE, points=13),
        win(5, "Sprint 42: 75% of the committed scope done", kind=WinKind.MILESTONE),
        win(6, "5-day streak", kind=WinKind.STREAK),
        win(7, "Bug squasher", kind=WinKind.BADGE, points=5),
        win(8, "Challenge complete: close 5 bugs this week", kind=WinKind.CHALLENGE),
    ]
    digest = compose_digest(digest_input(wins))
    assert digest is not None
    assert header_text(digest) == ":tada: This week: 3 wins, 4 points"
    assert digest.blocks[1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Also: 2 milestones · 1 streak · 1 badge · 1 challenge"}],
    }
    top = section_starting(digest, "*Top wins*")
    assert "Fixed login" in top and "Wrote the runbook" in top
    for elsewhere in ("scope done", "streak", "Bug squasher", "Challenge", "Thanks"):
        assert elsewhere not in top
    achievements = section_starting(digest, ":medal: *New badges & challenges*")
    assert "Bug squasher" in achievements and "Challenge complete" in achievements


def test_a_period_of_progress_only_says_what_moved() -> None:
    wins = [
        win(1, "Sprint 42: 25% of the committed scope done", kind=WinKind.MILESTONE),
        win(2, "10-day streak", kind=WinKind.STREAK),
    ]
    digest = compose_digest(digest_input(wins))
    assert digest is not None
    assert header_text(digest) == ":tada: This week: 1 milestone, 1 streak"


def test_the_same_period_composes_the_same_digest() -> None:
    wins = [
        win(1, "a", points=3, minutes=1),
        win(2, "b", points=3, minutes=1),
        win(3, "c", kind=WinKind.MILESTONE, minutes=1),
        win(4, "d", kind=WinKind.MILESTONE, minutes=1),
        win(5, "e", kind=WinKind.STREAK, minutes=1),
        win(6, "f", kind=WinKind.KUDOS, minutes=1, cheers=2),
        win(7, "g", kind=WinKind.BADGE, minutes=1, cheers=2),
        win(8, "h", kind=WinKind.MANUAL, minutes=1, cheers=2),
    ]
    sprint = SprintProgress("Sprint 42", 50, 1, 2, 1, 2)
    first = compose_digest(digest_input(wins, sprints=[sprint]))
    assert first is not None
    for shuffled in (wins[::-1], wins[3:] + wins[:3], wins[1::2] + wins[::2]):
        assert compose_digest(digest_input(shuffled, sprints=[sprint])) == first
