"""A team's posted digests, each as it looked: read back from the blocks stored with its row.

A digest row keeps the Block Kit message it was sent as (``service.digests.stored``), so the page shows
exactly what the channel saw. The blocks are Slack mrkdwn, never HTML: they are read here into plain
spans (text, bold, italic, code, a web link) that the template escapes like any other text, so a title such as
``<script>`` stays text. Mentions become the person's name, or "a teammate" for someone who opted out
of being named (or whom we do not know); only http(s) addresses become links.

A digest posted before someone opted out names them in its text; shown today, it says "a teammate"
instead, as every other page does (their name is replaced wherever it stands as a whole word).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.domain.mrkdwn import MARKUP_TOKEN_RE, is_web_url, unescape_mrkdwn
from service.models import Member, Team
from service.models.digests import DigestKind, DigestState, StoredDigest
from service.wins.cheers import digest_cheer_counts

HISTORY_LIMIT = 10
ANONYMOUS = "a teammate"
# What reached people: posted to Slack, or rendered where Slack is not set up. Live celebrations are
# their own kind and are not digests.
SHOWN_STATES = (DigestState.POSTED.value, DigestState.RENDERED.value)
SHOWN_KINDS = (DigestKind.DIGEST.value, DigestKind.SPRINT_END.value)
KIND_NAMES = {DigestKind.DIGEST.value: "Digest", DigestKind.SPRINT_END.value: "Sprint end"}
# The shortcodes our digests use, drawn as Slack draws them; any other stays as written.
EMOJI = {
    "white_check_mark": "\u2705",
    "rocket": "\U0001f680",
    "checkered_flag": "\U0001f3c1",
    "dart": "\U0001f3af",
    "fire": "\U0001f525",
    "medal": "\U0001f3c5",
    "star2": "\U0001f31f",
    "clap": "\U0001f44f",
    "trophy": "\U0001f3c6",
    "sparkles": "\u2728",
    "raised_hands": "\U0001f64c",
    "tada": "\U0001f389",
    "chart_with_upwards_trend": "\U0001f4c8",
    "calendar": "\U0001f4c6",
    "star": "\u2b50",
    "seedling": "\U0001f331",
    "zzz": "\U0001f4a4",
    "warning": "\u26a0\ufe0f",
    "link": "\U0001f517",
    "key": "\U0001f511",
    "earth_africa": "\U0001f30d",
}
_INLINE = re.compile(r"\*(?P<bold>[^*\n]+)\*|`(?P<code>[^`\n]+)`|(?<!\w)_(?P<em>[^_\n]+)_(?!\w)")
_SHORTCODE = re.compile(r":([a-z0-9_+-]{1,40}):")
# Controls and bidi overrides can hide or reorder what a line appears to say.
_HIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_MENTION = re.compile(r"<@([A-Z0-9]{2,21})(?:\|[^<>]*)?>")


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    href: str | None = None
    strong: bool = False
    code: bool = False
    em: bool = False


Line = tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Block:
    kind: str  # "header", "text", "context" or "divider"
    lines: tuple[Line, ...] = ()


@dataclass(frozen=True)
class PastDigest:
    id: int
    kind: str  # KIND_NAMES' key
    at: datetime  # when it was posted (or rendered)
    channels: int  # the channels it went to (one row each, one message)
    cheers: int  # reactions on the digest itself
    blocks: list[Block]

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)


def recent_digests(session: Session, team_id: int, limit: int = HISTORY_LIMIT) -> list[PastDigest]:
    """The team's last ``limit`` digests and sprint-end posts, newest first, each once however many
    channels it went to."""
    shown_at = func.coalesce(StoredDigest.posted_at, StoredDigest.created_at)
    rows = list(
        session.scalars(
            select(StoredDigest)
            .where(
                StoredDigest.team_id == team_id,
                StoredDigest.state.in_(SHOWN_STATES),
                StoredDigest.kind.in_(SHOWN_KINDS),
            )
            .order_by(shown_at.desc(), StoredDigest.id.desc())
            # Each period's rows for every linked channel are one message; read enough to fill the page.
            .limit(limit * 8)
        )
    )
    periods: dict[tuple[str, str], list[StoredDigest]] = {}
    for row in rows:
        periods.setdefault((row.kind, row.period_key), []).append(row)
    chosen = list(periods.values())[:limit]
    cheers = digest_cheer_counts(session, [r.id for group in chosen for r in group])
    names = _names(session, [r for group in chosen for r in group])
    hidden = _opted_out_names(session, team_id) if chosen else None
    return [
        PastDigest(
            id=group[0].id,
            kind=group[0].kind,
            at=group[0].posted_at or group[0].created_at,
            channels=len(group),
            cheers=sum(cheers.get(r.id, 0) for r in group),
            blocks=unnamed(
                read_blocks(_blocks_of(group[0]), names.get(group[0].slack_team_id or "", {})), hidden
            ),
        )
        for group in chosen
    ]


def _blocks_of(row: StoredDigest) -> list[dict[str, Any]]:
    if isinstance(row.blocks, list) and row.blocks:
        return [b for b in row.blocks if isinstance(b, dict)]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": row.text or ""}}]


def _names(session: Session, rows: Sequence[StoredDigest]) -> dict[str, dict[str, str]]:
    """Per Slack workspace, the display names of the people the rows mention who agreed to be named."""
    wanted: dict[str, set[str]] = {}
    for row in rows:
        found = _MENTION.findall(json.dumps(row.blocks)) + _MENTION.findall(row.text or "")
        if found and row.slack_team_id:
            wanted.setdefault(row.slack_team_id, set()).update(found)
    names: dict[str, dict[str, str]] = {}
    for slack_team_id, user_ids in wanted.items():
        query = select(Member.slack_user_id, Member.display_name).where(
            Member.slack_team_id == slack_team_id,
            Member.slack_user_id.in_(sorted(user_ids)),
            Member.sharing_opt_out.is_(False),
        )
        names[slack_team_id] = {u: n for u, n in session.execute(query) if u and n}
    return names


def _opted_out_names(session: Session, team_id: int) -> re.Pattern[str] | None:
    """The names of the team's workspace's people who opted out, as one whole-word pattern."""
    workspace = select(Team.workspace_id).where(Team.id == team_id).scalar_subquery()
    query = select(Member.display_name).where(
        Member.workspace_id == workspace, Member.sharing_opt_out.is_(True)
    )
    names = sorted({n.strip() for n in session.scalars(query) if n and n.strip()}, key=len, reverse=True)
    if not names:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)")


def unnamed(blocks: list[Block], hidden: re.Pattern[str] | None) -> list[Block]:
    """``blocks`` with every name ``hidden`` matches said as "a teammate" (link addresses untouched)."""
    if hidden is None:
        return blocks
    return [
        replace(
            b,
            lines=tuple(
                tuple(replace(s, text=hidden.sub(ANONYMOUS, s.text)) for s in line) for line in b.lines
            ),
        )
        for b in blocks
    ]


def read_blocks(blocks: Iterable[Mapping[str, Any]], names: Mapping[str, str]) -> list[Block]:
    """Stored Block Kit blocks as plain blocks of spans; buttons and unknown blocks are left out."""
    out: list[Block] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            out.append(Block("header", ((Span(_emoji(_clean(_text_of(block.get("text"))))),),)))
        elif kind == "section":
            items = [block.get("text"), *(block.get("fields") or ())]
            lines = tuple(line for item in items if item for line in _lines(item, names))
            out.append(Block("text", lines))
        elif kind == "context":
            elements = [e for e in block.get("elements") or () if isinstance(e, Mapping)]
            spans = tuple(s for e in elements for line in _lines(e, names) for s in (*line, Span("  ")))
            out.append(Block("context", (spans[:-1],)))
        elif kind == "divider":
            out.append(Block("divider"))
    return out


def _text_of(obj: object) -> str:
    return str(obj.get("text", "")) if isinstance(obj, Mapping) else ""


def _lines(obj: object, names: Mapping[str, str]) -> list[Line]:
    if not isinstance(obj, Mapping):
        return []
    text = _text_of(obj)
    if obj.get("type") != "mrkdwn":  # plain_text: raw, no markup but emoji
        return [(Span(_emoji(_clean(line))),) for line in text.split("\n")]
    return [_mrkdwn_line(line, names) for line in text.split("\n")]


def _mrkdwn_line(line: str, names: Mapping[str, str]) -> Line:
    """One line of mrkdwn as spans. Tokens first: user text was escaped, so every ``<…>`` is markup."""
    spans: list[Span] = []
    position = 0
    for match in MARKUP_TOKEN_RE.finditer(line):
        spans += _inline(line[position : match.start()])
        spans.append(_token(match.group("body"), match.group("label"), names))
        position = match.end()
    spans += _inline(line[position:])
    return tuple(spans)


def _inline(text: str) -> list[Span]:
    """Escaped mrkdwn text with ``*bold*`` and ```code``` read; everything else is literal text."""
    spans: list[Span] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            spans.append(Span(_plain(text[position : match.start()])))
        if match.group("bold") is not None:
            spans.append(Span(_plain(match.group("bold")), strong=True))
        elif match.group("em") is not None:
            spans.append(Span(_plain(match.group("em")), em=True))
        else:
            spans.append(Span(_plain(match.group("code")), code=True))
        position = match.end()
    if position < len(text):
        spans.append(Span(_plain(text[position:])))
    return spans


def _plain(mrkdwn: str) -> str:
    return _clean(_emoji(unescape_mrkdwn(mrkdwn)))


def _emoji(text: str) -> str:
    return _SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group()), text)


def _token(body: str, label: str | None, names: Mapping[str, str]) -> Span:
    shown = _clean(unescape_mrkdwn(label)) if label else ""
    if body.startswith("@"):
        return Span("@" + names.get(body[1:], ANONYMOUS))
    if body.startswith("#"):
        return Span(f"#{shown}" if shown else "#channel")
    if body.startswith("!date"):
        return Span(shown)
    if body.startswith("!"):  # <!here>, <!channel>, <!subteam^S1|@team>
        return Span("@" + (shown or body[1:].split("^", 1)[0]).lstrip("@"))
    url = unescape_mrkdwn(body)
    if is_web_url(url):
        return Span(shown or url, href=url)
    return Span(shown or _clean(url))


def _clean(text: str) -> str:
    text = _HIDDEN.sub("", unicodedata.normalize("NFC", text))
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
