"""Block Kit for what people see of the app outside digests: the celebrate modal and App Home.

All user text in mrkdwn goes through ``service.domain.mrkdwn``; ``plain_text`` objects carry raw
text (Slack does not parse markup there), cut to Block Kit's limits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from service.domain.json_depth import nests_deeper_than
from service.domain.mrkdwn import escape_mrkdwn, is_slack_user_id, link, truncate, truncate_plain
from service.domain.wins import WinVisibility

CELEBRATE_CALLBACK_ID = "celebrate_message"  # the message shortcut
CELEBRATE_VIEW_CALLBACK_ID = "celebrate_message_submit"  # its modal
SHARING_ACTION_ID = "share_publicly"
SHARING_BLOCK_ID = "sharing"
# App Home self-service: a copy of what we hold about the person, and forgetting them.
EXPORT_ACTION_ID = "download_my_data"
FORGET_ACTION_ID = "forget_me"
MY_DATA_BLOCK_ID = "my_data"
FORGET_VIEW_CALLBACK_ID = "forget_me_confirm"
TITLE_BLOCK, TITLE_ACTION = "title", "title_input"
DETAIL_BLOCK, DETAIL_ACTION = "detail", "detail_input"
VISIBILITY_BLOCK, VISIBILITY_ACTION = "visibility", "visibility_input"
OWNER_BLOCK, OWNER_ACTION = "owner", "owner_input"
MAX_TITLE_CHARS = 300
MAX_DETAIL_CHARS = 2000
MAX_PLAIN_INPUT = 3000  # a plain_text_input's initial_value limit
HOME_LIST_LIMIT = 15
_SECTION_LIMIT = 3000


@dataclass(frozen=True, slots=True)
class CelebrateContext:
    """What the modal carries between the shortcut and the submission (in private_metadata)."""

    slack_team_id: str
    enterprise_id: str | None
    channel_id: str
    message_ts: str

    def dumps(self) -> str:
        return json.dumps(
            {"t": self.slack_team_id, "e": self.enterprise_id, "c": self.channel_id, "ts": self.message_ts}
        )

    @classmethod
    def loads(cls, text: str) -> CelebrateContext:
        if nests_deeper_than(text, 1):  # ours is one flat object
            raise ValueError("private_metadata is not ours")
        data = json.loads(text)
        return cls(str(data["t"]), data.get("e"), str(data["c"]), str(data["ts"]))


def celebrate_modal(
    context: CelebrateContext, message_text: str, team_name: str, author_user_id: str | None = None
) -> dict[str, Any]:
    """The "Celebrate as a win" modal, prefilled with the message (as readable text) and its author."""
    title_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": TITLE_ACTION,
        "max_length": MAX_TITLE_CHARS,
    }
    if message_text.strip():
        title_input["initial_value"] = truncate_plain(message_text.strip(), MAX_TITLE_CHARS)
    owner_select: dict[str, Any] = {"type": "users_select", "action_id": OWNER_ACTION}
    if author_user_id and is_slack_user_id(author_user_id):
        owner_select["initial_user"] = author_user_id
    options = [
        _option(f"The team ({truncate_plain(team_name, 60)})", WinVisibility.TEAM),
        _option("Only me", WinVisibility.PRIVATE),
    ]
    return {
        "type": "modal",
        "callback_id": CELEBRATE_VIEW_CALLBACK_ID,
        "private_metadata": context.dumps(),
        "title": _plain("Celebrate a win"),
        "submit": _plain("Celebrate"),
        "close": _plain("Cancel"),
        "blocks": [
            {"type": "input", "block_id": TITLE_BLOCK, "label": _plain("The win"), "element": title_input},
            {
                "type": "input",
                "block_id": OWNER_BLOCK,
                "label": _plain("Whose win is it?"),
                "element": owner_select,
            },
            {
                "type": "input",
                "block_id": DETAIL_BLOCK,
                "optional": True,
                "label": _plain("Anything to add?"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": DETAIL_ACTION,
                    "multiline": True,
                    "max_length": MAX_DETAIL_CHARS,
                    "placeholder": _plain("Who helped, why it mattered…"),
                },
            },
            {
                "type": "input",
                "block_id": VISIBILITY_BLOCK,
                "label": _plain("Who sees it"),
                "element": {
                    "type": "radio_buttons",
                    "action_id": VISIBILITY_ACTION,
                    "options": options,
                    "initial_option": options[0],
                },
            },
        ],
    }


@dataclass(frozen=True, slots=True)
class CelebrateSubmission:
    """The modal's values, or the per-block errors Slack shows next to the fields."""

    title: str
    detail: str
    visibility: str
    owner_user_id: str | None
    errors: dict[str, str]


def read_celebrate_submission(view: dict[str, Any]) -> CelebrateSubmission:
    values = (view.get("state") or {}).get("values") or {}

    def value(block: str, action: str) -> dict[str, Any]:
        return (values.get(block) or {}).get(action) or {}

    title = " ".join(str(value(TITLE_BLOCK, TITLE_ACTION).get("value") or "").split())
    detail = str(value(DETAIL_BLOCK, DETAIL_ACTION).get("value") or "").strip()
    choice = value(VISIBILITY_BLOCK, VISIBILITY_ACTION).get("selected_option") or {}
    visibility = str(choice.get("value") or WinVisibility.TEAM)
    owner = value(OWNER_BLOCK, OWNER_ACTION).get("selected_user")
    errors: dict[str, str] = {}
    if not title:
        errors[TITLE_BLOCK] = 'Give the win a name, e.g. "Shipped the new onboarding flow".'
    elif len(title) > MAX_TITLE_CHARS:
        errors[TITLE_BLOCK] = (
            f"Keep it under {MAX_TITLE_CHARS} characters; the detail field has room for more."
        )
    if len(detail) > MAX_DETAIL_CHARS:
        errors[DETAIL_BLOCK] = f"The detail can be at most {MAX_DETAIL_CHARS} characters."
    if visibility not in {WinVisibility.TEAM, WinVisibility.PRIVATE}:
        errors[VISIBILITY_BLOCK] = "Choose who sees the win."
    if owner is not None and not is_slack_user_id(str(owner)):
        errors[OWNER_BLOCK] = "Choose a person."
    return CelebrateSubmission(title, detail, visibility, str(owner) if owner else None, errors)


def notice_modal(title: str, text_mrkdwn: str) -> dict[str, Any]:
    """A modal that only explains something (e.g. "connect this channel first")."""
    return {
        "type": "modal",
        "title": _plain(title),
        "close": _plain("OK"),
        "blocks": [_section(text_mrkdwn)],
    }


@dataclass(frozen=True, slots=True)
class HomeWin:
    title: str
    url: str | None = None
    points: float | None = None
    cheers: int = 0  # reactions on the posts that celebrated it


@dataclass(frozen=True, slots=True)
class HomeData:
    """Everything App Home shows one person, as plain values."""

    known: bool  # False: we could not match this Slack user to anyone yet
    sharing: bool
    week: Sequence[HomeWin] = ()
    sprint_name: str | None = None
    sprint: Sequence[HomeWin] = ()
    streaks: Sequence[str] = ()
    badges: Sequence[str] = ()
    teams: Sequence[str] = field(default_factory=tuple)
    notice: str | None = None  # mrkdwn shown first: what just happened (data sent, forgotten)


# What App Home says after a self-service request; the texts are ours, so they are mrkdwn already.
EXPORT_SENT_NOTICE = (
    ":inbox_tray: Your data is in a direct message from me: a JSON file of everything I hold about you."
)
NOTHING_HELD_NOTICE = ":open_file_folder: I hold nothing about you yet, so there is nothing to download."
FORGOTTEN_NOTICE = (
    ":wave: Done: I have forgotten you. Your name, email and Slack id are gone from every record; "
    "your wins still count in your teams' totals, anonymously. Opening this tab again starts afresh."
)


def home_view(data: HomeData) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if data.notice:
        blocks += [_section(data.notice), {"type": "divider"}]
    blocks.append(_header("Your wins"))
    if not data.known:
        blocks.append(
            _section(
                "I haven't seen a win from you yet. Log one with `/win shipped the thing` in a team "
                "channel, or ask a teammate to link you with `/sprintwins link @you <Jira email>`."
            )
        )
    blocks += _win_list(":calendar: *This week*", data.week, "Nothing done yet this week. It's early days!")
    sprint_title = (
        f":runner: *This sprint: {escape_mrkdwn(truncate_plain(data.sprint_name, 100))}*"
        if data.sprint_name
        else ":runner: *This sprint*"
    )
    empty_sprint = (
        "Nothing done in this sprint yet: the first one is the best one."
        if data.sprint_name
        else "No active sprint right now."
    )
    blocks += _win_list(sprint_title, data.sprint, empty_sprint)
    blocks.append({"type": "divider"})
    if data.streaks or data.badges:
        lines = [f":fire: {escape_mrkdwn(truncate_plain(s, 150))}" for s in data.streaks[:HOME_LIST_LIMIT]]
        lines += [f":medal: {escape_mrkdwn(truncate_plain(b, 150))}" for b in data.badges[:HOME_LIST_LIMIT]]
        blocks.append(_section("*Streaks and badges*\n" + "\n".join(lines)))
    else:
        blocks.append(
            _section(
                "*Streaks and badges*\nNo streaks or badges yet. Finish something a few days in a row "
                "and your first streak shows up here. :seedling:"
            )
        )
    blocks.append({"type": "divider"})
    share_option = _option("Share my wins publicly", "on")
    share_option["description"] = _plain(
        "When off, digests never name you; your wins still count in team totals."
    )
    checkbox: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": SHARING_ACTION_ID,
        "options": [share_option],
    }
    if data.sharing:
        checkbox["initial_options"] = [share_option]
    blocks.append({"type": "actions", "block_id": SHARING_BLOCK_ID, "elements": [checkbox]})
    blocks += _my_data_blocks()
    return {"type": "home", "blocks": blocks}


def forgotten_home_view() -> dict[str, Any]:
    """App Home right after forgetting: nothing about the person, only what happened."""
    return {"type": "home", "blocks": [_header("Your wins"), _section(FORGOTTEN_NOTICE)]}


def _my_data_blocks() -> list[dict[str, Any]]:
    return [
        {"type": "divider"},
        _section(
            "*Your data*\nDownload everything Sprint Wins holds about you, or have it forget you: "
            "your wins stay in your teams' totals, without your name."
        ),
        {
            "type": "actions",
            "block_id": MY_DATA_BLOCK_ID,
            "elements": [
                {
                    "type": "button",
                    "action_id": EXPORT_ACTION_ID,
                    "text": _plain("Download my data"),
                    "value": "export",
                },
                {
                    "type": "button",
                    "action_id": FORGET_ACTION_ID,
                    "text": _plain("Forget me"),
                    "value": "forget",
                    "style": "danger",
                },
            ],
        },
    ]


@dataclass(frozen=True, slots=True)
class ForgetContext:
    """Who asked to be forgotten and where (the confirmation modal's private_metadata)."""

    slack_team_id: str
    enterprise_id: str | None
    user_id: str

    def dumps(self) -> str:
        return json.dumps({"t": self.slack_team_id, "e": self.enterprise_id, "u": self.user_id})

    @classmethod
    def loads(cls, text: str) -> ForgetContext:
        if nests_deeper_than(text, 1):  # ours is one flat object
            raise ValueError("private_metadata is not ours")
        data = json.loads(text)
        enterprise = data.get("e")
        return cls(str(data["t"]), str(enterprise) if enterprise else None, str(data["u"]))


def forget_confirmation_modal(context: ForgetContext) -> dict[str, Any]:
    """The "Forget me" confirmation: nothing is erased until the person submits it."""
    return {
        "type": "modal",
        "callback_id": FORGET_VIEW_CALLBACK_ID,
        "private_metadata": context.dumps(),
        "title": _plain("Forget me"),
        "submit": _plain("Forget me"),
        "close": _plain("Cancel"),
        "blocks": [
            _section(
                "*Sprint Wins will forget you.* Your name, email and Slack id are removed from every "
                "record it keeps; your streaks, badges and personal challenges are deleted. Your wins "
                "stay in your teams' totals, anonymously. This cannot be undone.\n\n"
                "Want a copy first? Cancel and choose *Download my data*."
            )
        ],
    }


def _win_list(title: str, wins: Sequence[HomeWin], empty: str) -> list[dict[str, Any]]:
    if not wins:
        return [_section(f"{title}\n{empty}")]
    lines = []
    for win in wins[:HOME_LIST_LIMIT]:
        label = truncate_plain(win.title, 150)
        shown = link(win.url, label) if win.url else escape_mrkdwn(label)
        points = f" · {win.points:g} pts" if win.points else ""
        cheers = f" · {win.cheers} :raised_hands:" if win.cheers else ""
        lines.append(f"• {shown}{points}{cheers}")
    if len(wins) > HOME_LIST_LIMIT:
        lines.append(f"…and {len(wins) - HOME_LIST_LIMIT} more")
    count = f" ({len(wins)})"
    return [_section(truncate(f"{title}{count}\n" + "\n".join(lines), _SECTION_LIMIT))]


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate_plain(text, 150), "emoji": True}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text), "value": value}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": _plain(text)}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}
