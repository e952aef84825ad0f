"""The digest's sections: top wins, kudos and achievements, sprint progress, most cheered."""

from __future__ import annotations

import pytest

from service.domain.digest import ANONYMOUS, TOP_WINS_LIMIT, SprintProgress, compose_digest
from service.domain.digest_blocks import progress_bar
from service.domain.wins import WinKind
from tests.domain.test_digest import (
    assert_within_block_kit_limits,
    digest_input,
    header_text,
    mrkdwn_texts,
    section_starting,
    win,
)

PROGRESS = ":chart_with_upwards_trend: *Progress*"


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
