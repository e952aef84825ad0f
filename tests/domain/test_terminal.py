"""Terminal-safe text: escape sequences, controls and bidi overrides removed, layout kept."""

from __future__ import annotations

from service.domain.terminal import terminal_safe


def test_escape_sequences_go_whole() -> None:
    assert terminal_safe("a\x1b[2Jb\x1b]0;title\x07c\x1b]8;;http://x\x1b\\d") == "abcd"


def test_controls_and_bidi_overrides_go_newline_and_tab_stay() -> None:
    assert terminal_safe("x\x00\x08\r\x7f\x85\u202e\u2066y\tz\n") == "xy\tz\n"


def test_ordinary_text_is_untouched() -> None:
    text = "Shipped «search» 🎉 — 100% done ▓▓░░"
    assert terminal_safe(text) == text
