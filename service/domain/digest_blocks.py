"""Slack Block Kit pieces for digests, and a terminal rendering of a finished digest.

Composition (``service.domain.digest``) decides what a digest says; this module knows how Block Kit
holds it: the size limits, the block shapes, and how to read the blocks back as plain text for the
console (``sprintwins digest preview``, or a setup without Slack). ``plain_text`` objects (header,
button) carry raw text because Slack does not parse markup there; ``mrkdwn`` objects expect text that
is already escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.domain.mrkdwn import replace_markup, truncate, truncate_plain

# Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_HEADER_CHARS = 150
MAX_SECTION_CHARS = 3000
MAX_CONTEXT_CHARS = 2000
MAX_BUTTON_VALUE_CHARS = 2000

PROGRESS_BAR_WIDTH = 10


@dataclass(frozen=True, slots=True)
class Digest:
    """A message ready for ``chat.postMessage(text=..., blocks=...)``.

    ``text`` is the escaped mrkdwn fallback (notifications, embedded console); ``names`` maps the
    Slack ids mentioned in ``blocks`` to display names, for :func:`render_console`; ``win_ids`` are
    the wins it shows a line for, in id order (what a reaction on the post may cheer).
    """

    text: str
    blocks: list[dict[str, Any]]
    names: Mapping[str, str] = field(default_factory=dict)
    win_ids: tuple[int | str, ...] = ()


def render_console(digest: Digest) -> str:
    """Render a digest's blocks as plain text for a terminal (mentions become names)."""
    out: list[str] = []
    for block in digest.blocks:
        kind = block.get("type")
        if kind == "header":
            title = block["text"]["text"]
            out += [title, "=" * min(len(title), 60)]
        elif kind == "section":
            if "text" in block:
                out.append(_console_text(block["text"], digest.names))
            out += [_console_text(item, digest.names) for item in block.get("fields", ())]
        elif kind == "context":
            out.append("  ".join(_console_text(item, digest.names) for item in block["elements"]))
        elif kind == "divider":
            out.append("-" * 40)
        elif kind == "actions":
            out.append("  ".join(f"[ {item['text']['text']} ]" for item in block["elements"]))
    return "\n".join(out) + "\n"


def progress_bar(percent: float, width: int = PROGRESS_BAR_WIDTH) -> str:
    """A text bar such as ``▓▓▓▓▓▓▓░░░`` for 68%; ``percent`` is clamped to 0-100."""
    filled = round(clamp_percent(percent) / 100 * width)
    return "▓" * filled + "░" * (width - filled)


def clamp_percent(percent: float) -> float:
    return min(100.0, max(0.0, percent))


def one_line(text: str) -> str:
    """Collapse newlines and runs of spaces: a title or name must not break a digest's layout."""
    return " ".join(text.split())


def header(text: str) -> dict[str, Any]:
    # plain_text: Slack does not parse markup here, so raw text is safe and shows "&" as "&".
    return {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": truncate_plain(one_line(text), MAX_HEADER_CHARS),
            "emoji": True,
        },
    }


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn_text(truncate(text, MAX_SECTION_CHARS))}


def packed_sections(title: str, lines: Sequence[str]) -> list[dict[str, Any]]:
    """``title`` and ``lines`` in as few sections as Block Kit's size limit allows, never dropping a line.

    Only a single line longer than a whole section is shortened (by :func:`section`).
    """
    blocks: list[dict[str, Any]] = []
    current = title
    for line in lines:
        if current and len(current) + 1 + len(line) > MAX_SECTION_CHARS:
            blocks.append(section(current))
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        blocks.append(section(current))
    return blocks


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn_text(truncate(text, MAX_CONTEXT_CHARS))]}


def mrkdwn_text(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def _console_text(obj: Mapping[str, Any], names: Mapping[str, str]) -> str:
    text = str(obj["text"])
    if obj.get("type") != "mrkdwn":
        return text

    def token(body: str, label: str | None) -> str:
        if body.startswith("@"):
            return "@" + names.get(body[1:], body[1:])
        if label:
            return f"{label} ({body})"
        return body

    return replace_markup(text, token)
