"""The one place that makes user text safe for Slack's mrkdwn.

Slack treats only ``&``, ``<`` and ``>`` as control characters: ``<!channel>``, ``<@U123>`` and
``<http://x|y>`` are markup, everything else is text. Escaping those three in every piece of user
text (ticket titles, names, goals) means a title can never ping a channel or hide a link.

``plain_text`` objects (headers, button labels) are not parsed for markup, so they carry raw
text; everything that ends up in a ``mrkdwn`` object or a message's ``text`` goes through here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from urllib.parse import urlsplit

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ESCAPE_RE = re.compile(r"[&<>]")
_UNESCAPES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
_UNESCAPE_RE = re.compile(r"&(?:amp|lt|gt);")
_ENTITY_RE = re.compile(r"&(?:amp|lt|gt);")
# Slack user ids: U… for workspace users, W… for Enterprise Grid users.
_SLACK_USER_ID_RE = re.compile(r"[UW][A-Z0-9]{2,20}")
_LONGEST_ENTITY = len("&amp;")
# Any Slack markup token: <@U…>, <#C…|name>, <!here>, <!subteam^S…|@team>, <url|label>.
MARKUP_TOKEN_RE = re.compile(r"<(?P<body>[^<>|]*)(?:\|(?P<label>[^<>]*))?>")
_BIDI_CONTROLS_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Characters that would end or split a ``<url|label>`` token, or that Slack would not keep in a URL.
_URL_UNSAFE_RE = re.compile(r"[|<>\s\x00-\x1f\x7f]")


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's control characters so ``text`` renders literally inside mrkdwn."""
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group()], text)


def unescape_mrkdwn(text: str) -> str:
    """Invert :func:`escape_mrkdwn` (used when rendering mrkdwn for a terminal)."""
    return _UNESCAPE_RE.sub(lambda m: _UNESCAPES[m.group()], text)


def is_slack_user_id(value: str) -> bool:
    """Whether ``value`` looks like a Slack user id (``U…``/``W…``, upper-case alphanumerics)."""
    return _SLACK_USER_ID_RE.fullmatch(value) is not None


def is_web_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL with a host; anything else is never linked."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.netloc)


def link(url: str | None, label: str | None = None) -> str:
    """Build a ``<url|label>`` link with an escaped label.

    A URL that is not http(s) (``javascript:``, ``slack://``, relative paths, ``None``) is not
    linked at all: the escaped label (or the escaped URL text) is returned instead.
    """
    shown = label if label else (url or "")
    if url is None or not is_web_url(url):
        return escape_mrkdwn(shown)
    safe_url = _URL_UNSAFE_RE.sub(lambda m: f"%{ord(m.group()):02X}", url.strip()).replace("&", "&amp;")
    if not label:
        return f"<{safe_url}>"
    return f"<{safe_url}|{escape_mrkdwn(label)}>"


def mention(slack_user_id: str) -> str:
    """Build a ``<@U…>`` mention; raises ValueError for anything that is not a Slack user id."""
    if not is_slack_user_id(slack_user_id):
        raise ValueError(f"not a Slack user id: {slack_user_id!r}")
    return f"<@{slack_user_id}>"


def _without_cutting(text: str, limit: int, ellipsis: str) -> str | None:
    """What shortening gives without cutting ``text``: itself if it fits, the clipped ellipsis if
    nothing else does; None when ``text`` must be cut."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    if len(ellipsis) >= limit:
        return ellipsis[:limit]
    return None


def truncate_plain(text: str, limit: int, ellipsis: str = "…") -> str:
    """Shorten raw (unescaped) text to at most ``limit`` characters, ending with ``ellipsis``.

    For raw text only: ``truncate`` would treat a literal ``<`` in raw text as an open token.
    """
    short = _without_cutting(text, limit, ellipsis)
    if short is not None:
        return short
    return text[: limit - len(ellipsis)].rstrip() + ellipsis


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """Shorten mrkdwn ``text`` to at most ``limit`` characters, ending with ``ellipsis``.

    Never cuts inside an escape entity (``&amp;``) or inside a ``<…>`` token (link, mention),
    because half of either renders as garbage or, worse, as an unterminated link.
    """
    short = _without_cutting(text, limit, ellipsis)
    if short is not None:
        return short
    cut = limit - len(ellipsis)
    # An entity straddling the cut starts at most len("&amp;") - 1 characters before it.
    window_start = max(0, cut - _LONGEST_ENTITY + 1)
    for match in _ENTITY_RE.finditer(text, window_start, cut + _LONGEST_ENTITY):
        if match.start() < cut < match.end():
            cut = match.start()
            break
    open_token = text.rfind("<", 0, cut)
    if open_token != -1 and text.find(">", open_token, cut) == -1:
        cut = open_token
    return text[:cut].rstrip() + ellipsis


def replace_markup(text: str, token_text: Callable[[str, str | None], str]) -> str:
    """Replace every markup token in mrkdwn ``text`` by ``token_text(body, label)``, then unescape.

    Tokens go first: user text was escaped, so every remaining ``<…>`` is markup.
    """
    return unescape_mrkdwn(MARKUP_TOKEN_RE.sub(lambda m: token_text(m.group("body"), m.group("label")), text))


def readable(slack_text: str) -> str:
    """Slack-formatted text as one line of raw, readable text: markup becomes what people saw."""
    text = replace_markup(slack_text, _token_as_text)
    text = unicodedata.normalize("NFC", text)
    # Control and bidi-override characters can hide or reorder what a title appears to say.
    text = "".join(" " if unicodedata.category(char) == "Cc" else char for char in text)
    text = _BIDI_CONTROLS_RE.sub("", text)
    return " ".join(text.split())


def _token_as_text(body: str, label: str | None) -> str:
    if body.startswith("@"):  # user mention
        return f"@{label}" if label else body
    if body.startswith("#"):  # channel
        return f"#{label}" if label else body
    if body.startswith("!date"):  # <!date^…|fallback>: the fallback is what people read
        return label or ""
    if body.startswith("!"):  # <!here>, <!channel>, <!subteam^S1|@team>
        return "@" + (label or body[1:].split("^", 1)[0]).lstrip("@")
    if body.startswith("mailto:"):
        return label or body.removeprefix("mailto:")
    if label and label not in body:
        return f"{label} ({body})"
    return label or body
