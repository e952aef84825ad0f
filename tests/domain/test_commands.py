from __future__ import annotations

from datetime import time

import pytest

from service.domain.commands import (
    MAX_TITLE_LENGTH,
    ChallengeCommand,
    CommandError,
    ConnectCommand,
    DigestCommand,
    HelpCommand,
    KudosWin,
    LinkCommand,
    ManualWin,
    SprintWinsCommand,
    TimezoneCommand,
    help_text,
    parse_sprintwins,
    parse_win,
)
from service.domain.schedule import DigestSchedule, ScheduleKind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", HelpCommand()),
        ("   ", HelpCommand()),
        ("help", HelpCommand()),
        ("HELP me", HelpCommand()),
        ("connect Payments", ConnectCommand(team="Payments")),
        ("connect   Team  &amp; Co ", ConnectCommand(team="Team & Co")),
        ("digest daily 09:30", DigestCommand(DigestSchedule(ScheduleKind.DAILY, time(9, 30)))),
        ("Digest weekly FRI 16:00", DigestCommand(DigestSchedule(ScheduleKind.WEEKLY, time(16), weekday=4))),
        ("digest sprint-end", DigestCommand(DigestSchedule(ScheduleKind.SPRINT_END))),
        ("digest off", DigestCommand(DigestSchedule(ScheduleKind.OFF))),
        ("timezone Europe/Berlin", TimezoneCommand("Europe/Berlin")),
        ("tz america/new_york", TimezoneCommand("America/New_York")),
        ("timezone UTC", TimezoneCommand("UTC")),
        (
            "link <@U024BE7LH|alice> 5b10ac8d82e05b22cc7d4ef5",
            LinkCommand("U024BE7LH", jira_account_id="5b10ac8d82e05b22cc7d4ef5"),
        ),
        (
            "link <@U024BE7LH> 557058:f58131cb-b67d-43c7-b30d-6b58d40bd077",
            LinkCommand("U024BE7LH", jira_account_id="557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"),
        ),
        # Slack auto-links e-mail addresses as mailto links.
        (
            "link <@U024BE7LH|alice> <mailto:Alice@Example.com|Alice@Example.com>",
            LinkCommand("U024BE7LH", email="alice@example.com"),
        ),
        ("link <@W0ABCDEF1> bob@example.org", LinkCommand("W0ABCDEF1", email="bob@example.org")),
        (
            "challenge close 20 tickets by Friday <@U1ABC>",
            ChallengeCommand("close 20 tickets by Friday <@U1ABC>"),
        ),
    ],
)
def test_parse_sprintwins(text: str, expected: SprintWinsCommand) -> None:
    assert parse_sprintwins(text) == expected


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("conect Payments", "Did you mean `connect`?"),
        ("<!channel>", "I don't know"),
        ("connect", "Say which team"),
        ("connect " + "x" * 101, "at most 100"),
        ("digest", "Say which schedule"),
        ("digest hourly", "Unknown schedule"),
        ("digest daily 25:00", "is not a time"),
        ("timezone", "Say which time zone"),
        ("timezone Mars/Olympus_Mons", "not a time zone I know"),
        ("timezone Europe/Berln", "Did you mean `Europe/Berlin`?"),
        ("timezone ../../etc/passwd", "not a time zone I know"),
        ("timezone America", "not a time zone I know"),
        ("link @alice alice@example.com", "Mention the person"),
        ("link <@U024BE7LH>", "one person and one Jira account"),
        ("link <@U024BE7LH> not an id!", "one person and one Jira account"),
        ("link <@U024BE7LH> <!channel>", "neither an email nor a Jira account id"),
        ("challenge", "Describe the challenge"),
        ("challenge " + "x" * 2001, "at most 2000"),
    ],
)
def test_parse_sprintwins_errors_are_helpful(text: str, message_part: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_sprintwins(text)
    error = caught.value
    assert message_part in error.message
    assert "Usage" in str(error) or "Accepted schedules" in str(error)
    # Safe to post back: whatever the user typed, the reply cannot ping or link.
    assert "<" not in error.mrkdwn
    assert ">" not in error.mrkdwn


def test_help_text_lists_every_command_and_is_safe_mrkdwn() -> None:
    text = help_text()
    for usage in ("connect", "digest", "timezone", "link", "challenge", "help", "/win @someone"):
        assert usage in text
    assert "<" not in text and ">" not in text  # placeholders are escaped, not parsed as links
    assert "&lt;team&gt;" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("shipped the new onboarding", ManualWin("shipped the new onboarding")),
        ("  lots   of\n space\t ", ManualWin("lots of space")),
        ("fixed &lt;div&gt; soup &amp; more", ManualWin("fixed <div> soup & more")),
        # Special mentions are kept as readable text; rendering escapes them, so nobody is pinged.
        ("<!channel> we shipped", ManualWin("@channel we shipped")),
        ("<!here|here> done", ManualWin("@here done")),
        ("<!subteam^S0123|@backend> rocks", ManualWin("@backend rocks")),
        (
            "paired with <@U024BE7LH|bob> on <#C01|deploys>",
            ManualWin("paired with @bob on #deploys", mentioned_user_ids=("U024BE7LH",)),
        ),
        (
            "merged <https://github.com/o/r/pull/1|PR 1> and <http://ex.com|ex.com>",
            ManualWin("merged PR 1 (https://github.com/o/r/pull/1) and ex.com"),
        ),
        ("🎉 released v2 — ünïcode ok", ManualWin("🎉 released v2 — ünïcode ok")),
        # Combining characters are normalised (NFC) so equal titles compare equal.
        ("cafe\u0301 migrated", ManualWin("café migrated")),
        # Bidi overrides and control characters cannot disguise a title.
        ("safe\u202egnp.exe\x07 title", ManualWin("safegnp.exe title")),
        ("<@U024BE7LH|alice> fixed the flaky deploy", KudosWin("fixed the flaky deploy", ("U024BE7LH",))),
        (
            "<@U024BE7LH> <@W0ABCDEF1|bo>: untangled CI",
            KudosWin("untangled CI", ("U024BE7LH", "W0ABCDEF1")),
        ),
        (
            "<@U024BE7LH>, <@U0CAROL12> and <@U0DAN1234> — rescued the release",
            KudosWin("rescued the release", ("U024BE7LH", "U0CAROL12", "U0DAN1234")),
        ),
        # "and" is only a separator between mentions.
        ("<@U024BE7LH> and the team shipped", KudosWin("and the team shipped", ("U024BE7LH",))),
        ("<@U024BE7LH> <@U024BE7LH> twice", KudosWin("twice", ("U024BE7LH",))),
        # A mention later in the text is not kudos, just a mention.
        ("helped <@U024BE7LH> ship", ManualWin("helped @U024BE7LH ship", mentioned_user_ids=("U024BE7LH",))),
    ],
)
def test_parse_win(text: str, expected: ManualWin | KudosWin) -> None:
    assert parse_win(text) == expected


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("", "Say what the win was"),
        ("   \n ", "Say what the win was"),
        ("<@U024BE7LH|alice>", "Say what they did"),
        ("<@U024BE7LH> <@U0CAROL12> :", "Say what they did"),
    ],
)
def test_parse_win_errors(text: str, message_part: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_win(text)
    assert message_part in caught.value.message
    assert "/win @someone" in str(caught.value)


def test_parse_win_limits_very_long_titles() -> None:
    win = parse_win("x" * 10_000)
    assert isinstance(win, ManualWin)
    assert len(win.title) == MAX_TITLE_LENGTH
    assert win.title.endswith("…")
    exact = parse_win("y" * MAX_TITLE_LENGTH)
    assert exact.title == "y" * MAX_TITLE_LENGTH


def test_command_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_win("")
