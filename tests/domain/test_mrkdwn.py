from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.mrkdwn import (
    escape_mrkdwn,
    is_slack_user_id,
    link,
    mention,
    truncate,
    truncate_plain,
    unescape_mrkdwn,
)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain title", "plain title"),
        ("<!channel> deploy done", "&lt;!channel&gt; deploy done"),
        ("<!here>", "&lt;!here&gt;"),
        ("thanks <@U123>", "thanks &lt;@U123&gt;"),
        ("<http://evil.example|click me>", "&lt;http://evil.example|click me&gt;"),
        ("R&D", "R&amp;D"),
        ("already &amp; escaped", "already &amp;amp; escaped"),
        ("*bold* _it_ ~s~ `code`", "*bold* _it_ ~s~ `code`"),
        ("émoji 🎉 ünïcode", "émoji 🎉 ünïcode"),
        ("", ""),
    ],
)
def test_escape_mrkdwn_neutralises_slack_control_characters(raw: str, escaped: str) -> None:
    assert escape_mrkdwn(raw) == escaped
    assert unescape_mrkdwn(escaped) == raw


@given(st.text())
def test_escaped_text_has_no_markup_and_round_trips(text: str) -> None:
    escaped = escape_mrkdwn(text)
    assert "<" not in escaped
    assert ">" not in escaped
    # Every "&" left is the start of one of our three entities.
    assert re.fullmatch(r"(?:[^&]|&(?:amp|lt|gt);)*", escaped, flags=re.DOTALL)
    assert unescape_mrkdwn(escaped) == text


@pytest.mark.parametrize(
    ("url", "label", "expected"),
    [
        ("https://jira.example/browse/P-1", "P-1 Fix", "<https://jira.example/browse/P-1|P-1 Fix>"),
        ("http://x.example", "a <b> & c", "<http://x.example|a &lt;b&gt; &amp; c>"),
        ("https://x.example/?a=1&b=2", "q", "<https://x.example/?a=1&amp;b=2|q>"),
        ("https://x.example/a|b>c<d e", "q", "<https://x.example/a%7Cb%3Ec%3Cd%20e|q>"),
        ("HTTPS://X.example", None, "<HTTPS://X.example>"),
        ("javascript:alert(1)", "click", "click"),
        ("slack://channel?id=C1", "open", "open"),
        ("/relative/path", "rel", "rel"),
        ("https://", "no host", "no host"),
        (None, "<!channel>", "&lt;!channel&gt;"),
        ("ftp://x.example/<!here>", None, "ftp://x.example/&lt;!here&gt;"),
    ],
)
def test_link_escapes_label_and_only_links_web_urls(
    url: str | None, label: str | None, expected: str
) -> None:
    assert link(url, label) == expected


@pytest.mark.parametrize(
    ("user_id", "valid"),
    [
        ("U123", True),
        ("U024BE7LH", True),
        ("W0123ABCDE", True),
        ("u024be7lh", False),
        ("C024BE7LH", False),
        ("U024BE7LH>|<!channel", False),
        ("!channel", False),
        ("", False),
    ],
)
def test_mention_only_for_slack_user_ids(user_id: str, valid: bool) -> None:
    assert is_slack_user_id(user_id) is valid
    if valid:
        assert mention(user_id) == f"<@{user_id}>"
    else:
        with pytest.raises(ValueError, match="not a Slack user id"):
            mention(user_id)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("abcdefghijkl", 10, "abcdefghi…"),
        # The cut (after 9 chars) would fall inside "&amp;": back off to before the entity.
        ("abcdef&amp;xyz", 10, "abcdef…"),
        ("abcdefgh&lt;xyz", 10, "abcdefgh…"),
        # An entity that ends exactly at the cut is kept whole.
        ("abcd&amp;xyzzz", 10, "abcd&amp;…"),
        # Never leave half a link or mention behind.
        ("hi <https://x.example|label> tail", 12, "hi…"),
        ("ok <@U123> and more text", 9, "ok…"),
        ("a <@U1> b c d e f", 9, "a <@U1>…"),
        ("abc", 1, "…"),
    ],
)
def test_truncate_never_cuts_inside_an_entity_or_token(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected
    assert len(truncate(text, limit)) <= limit


@given(st.text(), st.integers(min_value=1, max_value=60))
def test_truncate_of_escaped_text_stays_well_formed(text: str, limit: int) -> None:
    short = truncate(escape_mrkdwn(text), limit)
    assert len(short) <= limit
    assert re.fullmatch(r"(?:[^&]|&(?:amp|lt|gt);)*", short, flags=re.DOTALL)


def test_truncate_plain_keeps_raw_angle_brackets() -> None:
    # Raw text is not markup: a "<" must not make the cut jump back.
    assert truncate_plain("a < b and then a long tail", 12) == "a < b and t…"
    assert truncate_plain("short", 10) == "short"
    with pytest.raises(ValueError):
        truncate_plain("x", 0)
