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
    TOP_WINS_LIMIT,
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
    progress_bar,
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


def test_top_wins_ranked_by_points_then_cheers_then_recency() -> None:
    wins = [
        win(1, "low", points=1),
        win(2, "mid-old", points=3, cheers=2, minutes=1),
        win(3, "mid-new", points=3, cheers=2, minutes=5),
        win(4, "mid-cheered", points=3, cheers=9),
        win(5, "top", points=8),
        win(6, "none"),
        win(7, "streak-not-ranked", kind=WinKind.STREAK, points=100),
    ]
    digest = compose_digest(digest_input(wins))
    assert digest is not None
    top_section = section_starting(digest, "*Top wins*")
    lines = top_section.split("\n")[1:]
    shown = [line.split(" ")[2] for line in lines]  # "• <emoji> <title> — …"
    assert shown == ["top", "mid-cheered", "mid-new", "mid-old", "low", "none"]
    assert "streak-not-ranked" not in top_section
    # The same wins in any order rank the same, ties on everything but the id included.
    twins = [win(8, "twin-a", points=8), win(9, "twin-b", points=8)]
    assert compose_digest(digest_input([*wins, *twins])) == compose_digest(
        digest_input([*twins[::-1], *wins])
    )


def test_top_wins_capped_with_more_line() -> None:
    wins = [win(i, f"win-{i:02d}", points=i) for i in range(1, 13)]
    digest = compose_digest(digest_input(wins))
    assert digest is not None
    top_section = digest.blocks[1]["text"]["text"]
    assert top_section.count("\n• ") == TOP_WINS_LIMIT
    assert "win-12" in top_section and "win-05" in top_section and "win-04" not in top_section
    assert digest.blocks[2] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "+4 more wins in this week"}],
    }


def test_mentions_use_slack_ids_and_names_are_kept_for_the_console() -> None:
    digest = compose_digest(digest_input([win(1, "Fixed login", points=2, cheers=3)]))
    assert digest is not None
    line = digest.blocks[1]["text"]["text"]
    assert "<@U0ALICE01>" in line and "2 pts" in line and "3 :raised_hands:" in line
    assert digest.names == {"U0ALICE01": "Alice"}
    # An invalid id is not turned into a mention: the escaped name is shown instead.
    odd = compose_digest(digest_input([win(1, name="Bob <b>", slack_id="not-an-id")]))
    assert odd is not None
    assert "Bob &lt;b&gt;" in odd.blocks[1]["text"]["text"]


def test_kudos_and_achievements_sections() -> None:
    kudos = [
        win(i, f"thanks {i}", kind=WinKind.KUDOS, name="Carol", slack_id=None, kudos_from="Dan", minutes=i)
        for i in range(100, 113)
    ]
    streaks = [win(200, "5-day streak", kind=WinKind.STREAK)]
    badges = [win(300, "Bug squasher", kind=WinKind.BADGE, name=None)]
    digest = compose_digest(digest_input([win(1), *kudos, *streaks, *badges]))
    assert digest is not None
    texts = list(mrkdwn_texts(digest.blocks))
    kudos_text = next(text for text in texts if text.startswith(":clap: *Kudos*"))
    assert "• Dan → Carol: thanks 100" in kudos_text
    assert kudos_text.count("\n• ") == 10 and "_+3 more_" in kudos_text
    assert "<@U0ALICE01>: 5-day streak" in section_starting(digest, ":chart_with_upwards_trend: *Progress*")
    assert f"{ANONYMOUS}: Bug squasher" in section_starting(digest, ":medal: *New badges*")


def test_each_sprint_burn_up_is_one_line_on_its_milestones_basis() -> None:
    by_points = SprintProgress("Sprint 42", 68, 21, 31, 7, 10, days_left=1, goal="Ship checkout")
    by_count = SprintProgress("Mobile 7", 40, 0, 0, 2, 5, basis="count")
    digest = compose_digest(digest_input([win(1)], sprints=[by_points, by_count]))
    assert digest is not None
    assert section_starting(digest, ":chart_with_upwards_trend: *Progress*").split("\n")[1:] == [
        "• *Sprint 42* `▓▓▓▓▓▓▓░░░` 68% · 21 of 31 points · 1 day left · goal: Ship checkout",
        "• *Mobile 7* `▓▓▓▓░░░░░░` 40% · 2 of 5 issues",
    ]
    # With two sprints the headline names neither; with one it says how far along it is.
    assert header_text(digest) == ":tada: This week: 1 win"


@pytest.mark.parametrize(
    ("percent", "bar"),
    [(0, "░░░░░░░░░░"), (68, "▓▓▓▓▓▓▓░░░"), (100, "▓▓▓▓▓▓▓▓▓▓"), (-5, "░░░░░░░░░░"), (140, "▓▓▓▓▓▓▓▓▓▓")],
)
def test_progress_bar(percent: float, bar: str) -> None:
    assert progress_bar(percent) == bar


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


PROGRESS = ":chart_with_upwards_trend: *Progress*"


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


def test_progress_leads_and_never_folds_a_milestone() -> None:
    milestones = [
        win(100 + i, f"Sprint {i}: 100% done", kind=WinKind.MILESTONE, minutes=i, has_person=False)
        for i in range(30)
    ]
    streaks = [win(200 + i, f"{i}-day streak", kind=WinKind.STREAK, minutes=i) for i in range(12)]
    tickets = [win(i, f"ticket {i}", points=i) for i in range(1, 13)]
    sprint = SprintProgress("Sprint 42", 50, 0, 0, 5, 10, basis="count")
    digest = compose_digest(digest_input([*tickets, *streaks[::-1], *milestones[::-1]], sprints=[sprint]))
    assert digest is not None
    # Right after the headline and its counts: the burn-up, every milestone in time order, the streaks.
    assert digest.blocks[2]["text"]["text"].startswith(PROGRESS)
    lines = digest.blocks[2]["text"]["text"].split("\n")[1:]
    assert lines[0] == "• *Sprint 42* `▓▓▓▓▓░░░░░` 50% · 5 of 10 issues"
    assert lines[1:31] == [f"• :dart: {w.title}" for w in milestones]
    assert lines[31:41] == [f"• :fire: <@U0ALICE01>: {i}-day streak" for i in range(10)]
    assert lines[41] == "_+2 more streaks_"
    assert "+4 more wins in this week" in digest.text + str(digest.blocks)
    # The wins it shows a line for (what a reaction on the post cheers): not the ones folded away.
    shown = {w.id for w in milestones} | {200 + i for i in range(10)} | set(range(5, 13))
    assert digest.win_ids == tuple(sorted(shown))
    assert "milestone" not in str([b for b in digest.blocks if b["type"] == "context"][1:])


def test_milestones_split_over_sections_rather_than_being_cut() -> None:
    title = "Sprint 42: the oldest open ticket was closed " + "x" * 100
    milestones = [win(i, f"{title} {i:03d}", kind=WinKind.MILESTONE, name=None, minutes=i) for i in range(60)]
    digest = compose_digest(digest_input(milestones))
    assert digest is not None
    shown = "".join(mrkdwn_texts(digest.blocks))
    assert all(f"{title} {i:03d}" in shown for i in range(60))
    assert "more" not in shown
    assert_within_block_kit_limits(digest)


def test_most_cheered_wins_of_the_period() -> None:
    wins = [
        win(1, "quiet ticket", points=8),
        win(2, "cheered ticket", points=1, cheers=4),
        win(3, "cheered kudos", kind=WinKind.KUDOS, cheers=6, kudos_from="Bob"),
        win(4, "cheered milestone", kind=WinKind.MILESTONE, cheers=4, minutes=5),
        win(5, "one cheer", cheers=1),
    ]
    digest = compose_digest(digest_input(wins))
    assert digest is not None
    lines = section_starting(digest, ":raised_hands: *Most cheered*").split("\n")[1:]
    assert [line.split(" ")[2] for line in lines] == ["cheered", "cheered", "cheered"]
    assert ["kudos" in lines[0], "ticket" in lines[1], "milestone" in lines[2]] == [True, True, True]
    assert "6 :raised_hands:" in lines[0]
    without = compose_digest(digest_input([win(1, "quiet ticket", points=8)]))
    assert without is not None and "Most cheered" not in str(without.blocks)


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
