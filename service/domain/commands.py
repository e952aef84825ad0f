"""Slash-command text parsed into typed commands, with errors a person can act on.

Slack sends the command text with ``&``, ``<``, ``>`` escaped and, when the command has
"Escape channels, users, and links" on (``should_escape: true`` in the manifest), mentions as
``<@U123>`` / ``<@U123|alice>``. Titles are stored raw (readable text, no Slack markup); they are
escaped again only when rendered, by ``service.domain.mrkdwn``.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import available_timezones

from service.domain.mrkdwn import escape_mrkdwn, readable, truncate_plain, unescape_mrkdwn
from service.domain.schedule import (
    SCHEDULE_USAGE,
    DigestSchedule,
    ScheduleError,
    load_timezone,
    parse_schedule,
)

MAX_TITLE_LENGTH = 300
MAX_TEAM_LENGTH = 100
MAX_CHALLENGE_LENGTH = 2000

# Raw usage text (contains ``<…>`` placeholders); ``help_text``/``CommandError.mrkdwn`` escape it.
SPRINTWINS_USAGE = (
    "Usage (_admins_: workspace admins only):\n"
    "• `/sprintwins connect <team>`: connect this channel to a team (Jira project or board), _admins_\n"
    "• `/sprintwins digest <schedule>`: when to post digests, e.g. `daily 09:30`, `weekly fri 16:00`,"
    " `sprint-end`, `off`, _admins_\n"
    "• `/sprintwins timezone <IANA zone>`: the team's time zone, e.g. `Europe/Berlin`, _admins_\n"
    "• `/sprintwins link @you <your Jira email or account id>`: match yourself to your Jira account"
    " (_admins_ may link anyone)\n"
    "• `/sprintwins challenge <challenge>`: start a team challenge, _admins_ (`challenge me …` for one"
    " of your own)\n"
    "• `/sprintwins live off|milestones|all`: post celebrations here as they happen (`all` adds every"
    " ticket and `/win`), _admins_\n"
    "• `/sprintwins admin list`: who the admins are; `admin add @someone`, `admin remove @someone`,"
    " _admins_\n"
    "• `/sprintwins help`: this help"
)
WIN_USAGE = (
    "Usage:\n"
    "• `/win <what you did>`: record a win, e.g. `/win migrated billing to the new API`\n"
    "• `/win @someone <what they did>`: give kudos, e.g. `/win @alice untangled the flaky tests`"
)

_SUBCOMMANDS = ("connect", "digest", "timezone", "link", "challenge", "live", "admin", "help")
_MENTION_RE = re.compile(r"<@(?P<id>[UW][A-Z0-9]{2,20})(?:\|[^<>]*)?>")
# A mention at the current position, plus a separator ("," "and" "&" "+") only if another mention follows.
_LEADING_MENTION_RE = re.compile(
    r"\s*<@(?P<id>[UW][A-Z0-9]{2,20})(?:\|[^<>]*)?>(?:\s*(?:,|and\b|&amp;|\+)(?=\s*<@))?"
)
_LEADING_PUNCTUATION = " \t:;,-\u2013\u2014"
_EMAIL_RE = re.compile(r"[^@\s<>|]+@[^@\s<>|]+\.[^@\s<>|]+")
# Atlassian account ids: 24 hex-ish characters or the older "557058:uuid" form.
_JIRA_ACCOUNT_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9:\-]{5,127}")


class CommandError(ValueError):
    """A command the user got wrong. ``str(err)`` is raw text; ``err.mrkdwn`` is safe to post."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(f"{message}\n\n{usage}")
        self.message = message
        self.usage = usage

    @property
    def mrkdwn(self) -> str:
        return escape_mrkdwn(str(self))


@dataclass(frozen=True, slots=True)
class HelpCommand:
    """``/sprintwins help`` (or no text at all)."""


@dataclass(frozen=True, slots=True)
class ConnectCommand:
    """``/sprintwins connect <team>``: ``team`` is raw text naming the team."""

    team: str


@dataclass(frozen=True, slots=True)
class DigestCommand:
    """``/sprintwins digest <schedule>``."""

    schedule: DigestSchedule


@dataclass(frozen=True, slots=True)
class TimezoneCommand:
    """``/sprintwins timezone <zone>``: ``tz_name`` is a valid, canonically spelled IANA name."""

    tz_name: str


@dataclass(frozen=True, slots=True)
class LinkCommand:
    """``/sprintwins link @user <account id or email>``: exactly one of the two refs is set."""

    slack_user_id: str
    jira_account_id: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class ChallengeCommand:
    """``/sprintwins challenge <spec>``: ``spec`` is the text as Slack sent it, for the challenge parser."""

    spec: str


class LiveMode(enum.StrEnum):
    """Which wins a channel hears of as they happen (``ChannelLink.live``)."""

    OFF = "off"
    MILESTONES = "milestones"  # milestones, sprint starts, kudos
    ALL = "all"  # and every ticket and ``/win``


@dataclass(frozen=True, slots=True)
class LiveCommand:
    """``/sprintwins live off|milestones|all``."""

    mode: LiveMode


class AdminAction(enum.StrEnum):
    LIST = "list"
    ADD = "add"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class AdminCommand:
    """``/sprintwins admin list|add @user|remove @user``: ``slack_user_id`` is set for add and remove."""

    action: AdminAction
    slack_user_id: str | None = None


SprintWinsCommand = (
    HelpCommand
    | ConnectCommand
    | DigestCommand
    | TimezoneCommand
    | LinkCommand
    | ChallengeCommand
    | LiveCommand
    | AdminCommand
)


@dataclass(frozen=True, slots=True)
class ManualWin:
    """``/win <text>``: a win the invoking user records for themselves."""

    title: str
    mentioned_user_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KudosWin:
    """``/win @a @b <text>``: kudos credited to the people mentioned at the start."""

    title: str
    recipient_user_ids: tuple[str, ...]


def help_text() -> str:
    """The full help for both commands, as mrkdwn."""
    return escape_mrkdwn(
        "*Sprint Wins* celebrates what your team gets done.\n\n"
        f"*/sprintwins*\n{SPRINTWINS_USAGE}\n\n*/win*\n{WIN_USAGE}\n\n"
        f"*Digest schedules*\n{SCHEDULE_USAGE}"
    )


def parse_sprintwins(text: str) -> SprintWinsCommand:
    """Parse the text after ``/sprintwins``; raises CommandError with usage on mistakes."""
    stripped = text.strip()
    if not stripped:
        return HelpCommand()
    head, _, rest = stripped.partition(" ")
    head, rest = head.lower(), rest.strip()
    if head in {"help", "?", "-h", "--help"}:
        return HelpCommand()
    if head == "connect":
        team = readable(rest)
        if not team:
            raise CommandError(
                "Say which team to connect, e.g. `/sprintwins connect Payments`.", SPRINTWINS_USAGE
            )
        if len(team) > MAX_TEAM_LENGTH:
            raise CommandError(f"A team name can be at most {MAX_TEAM_LENGTH} characters.", SPRINTWINS_USAGE)
        return ConnectCommand(team=team)
    if head == "digest":
        try:
            return DigestCommand(schedule=parse_schedule(unescape_mrkdwn(rest)))
        except ScheduleError as exc:
            raise CommandError(exc.reason, SCHEDULE_USAGE) from exc
    if head in {"timezone", "tz"}:
        return TimezoneCommand(tz_name=_parse_timezone(unescape_mrkdwn(rest)))
    if head == "link":
        return _parse_link(rest)
    if head == "challenge":
        if not rest:
            raise CommandError("Describe the challenge after `/sprintwins challenge`.", SPRINTWINS_USAGE)
        if len(rest) > MAX_CHALLENGE_LENGTH:
            raise CommandError(
                f"A challenge can be at most {MAX_CHALLENGE_LENGTH} characters.", SPRINTWINS_USAGE
            )
        return ChallengeCommand(spec=rest)
    if head == "live":
        return LiveCommand(mode=_parse_live_mode(rest))
    if head in {"admin", "admins"}:
        return _parse_admin(rest)
    suggestion = difflib.get_close_matches(head, _SUBCOMMANDS, n=1)
    hint = f" Did you mean `{suggestion[0]}`?" if suggestion else ""
    raise CommandError(f"I don't know `{truncate_plain(head, 40)}`.{hint}", SPRINTWINS_USAGE)


def parse_win(text: str) -> ManualWin | KudosWin:
    """Parse the text after ``/win``: leading mentions make it kudos, anything else a manual win."""
    recipients: list[str] = []
    position = 0
    while match := _LEADING_MENTION_RE.match(text, position):
        recipients.append(match.group("id"))
        position = match.end()
    title = _clean_title(text[position:])
    if recipients:
        if not title:
            raise CommandError("Say what they did, e.g. `/win @alice fixed the flaky deploy`.", WIN_USAGE)
        return KudosWin(title=title, recipient_user_ids=_unique(recipients))
    if not title:
        raise CommandError("Say what the win was, e.g. `/win shipped the new onboarding flow`.", WIN_USAGE)
    mentioned = _unique(match.group("id") for match in _MENTION_RE.finditer(text))
    return ManualWin(title=title, mentioned_user_ids=mentioned)


PERSONAL_PREFIXES = ("me ", "my ", "personal ")


def challenge_text(spec: str) -> tuple[bool, str]:
    """A ``/sprintwins challenge`` spec as raw text, and whether it is the asker's own.

    A leading ``me``, ``my`` or ``personal`` makes it personal; the word itself is dropped.
    """
    text = unescape_mrkdwn(spec).strip()
    personal = text.lower().startswith(PERSONAL_PREFIXES)
    if personal:
        text = text.split(" ", 1)[1].strip()
    return personal, text


def button_sprint_id(value: str) -> int | None:
    """A "Sprint goal met" button's value as a sprint id; anything else (or beyond an INTEGER column)
    is no sprint."""
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    sprint_id = int(value)
    return sprint_id if 0 < sprint_id < 2**31 else None


def _clean_title(slack_text: str) -> str:
    title = readable(slack_text).lstrip(_LEADING_PUNCTUATION)
    return truncate_plain(title, MAX_TITLE_LENGTH)


def _parse_timezone(name: str) -> str:
    name = name.strip()
    if not name:
        raise CommandError(
            "Say which time zone, e.g. `/sprintwins timezone Europe/Berlin`.", SPRINTWINS_USAGE
        )
    try:
        load_timezone(name)
        return name
    except ValueError:
        pass
    # People type "europe/berlin"; accept it and store the canonical spelling.
    by_folded = {zone.casefold(): zone for zone in available_timezones()}
    canonical = by_folded.get(name.casefold())
    if canonical is not None:
        return canonical
    close = difflib.get_close_matches(name, list(by_folded.values()), n=1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    raise CommandError(
        f"`{truncate_plain(name, 60)}` is not a time zone I know.{hint} "
        "Use an IANA name such as `Europe/Berlin` or `America/New_York`.",
        SPRINTWINS_USAGE,
    )


def live_confirmation(mode: LiveMode) -> str:
    """The answer to ``/sprintwins live``, as mrkdwn."""
    if mode is LiveMode.OFF:
        return "Live celebrations are off for this channel: wins show up in the digests only."
    what = (
        "milestones, sprint starts and kudos"
        if mode is LiveMode.MILESTONES
        else "every ticket, `/win`, milestone, sprint start and kudos"
    )
    return (
        f"From now on this channel celebrates {what} as they happen (what happens within a minute "
        "comes as one message). React to a celebration to cheer the wins in it."
    )


def _parse_live_mode(rest: str) -> LiveMode:
    word = readable(rest).strip().lower()
    try:
        return LiveMode(word)
    except ValueError:
        shown = f"`{truncate_plain(word, 40)}` is not a live setting. " if word else ""
        raise CommandError(
            f"{shown}Choose one: `/sprintwins live off`, `/sprintwins live milestones` or "
            "`/sprintwins live all`.",
            SPRINTWINS_USAGE,
        ) from None


def _parse_admin(rest: str) -> AdminCommand:
    parts = rest.split()
    verb = parts[0].lower() if parts else "list"
    if verb == "list" and len(parts) <= 1:
        return AdminCommand(AdminAction.LIST)
    if verb in {"add", "remove", "rm"}:
        action = AdminAction.ADD if verb == "add" else AdminAction.REMOVE
        mention_match = _MENTION_RE.fullmatch(parts[1]) if len(parts) == 2 else None
        if mention_match is not None:
            return AdminCommand(action, mention_match.group("id"))
        raise CommandError(
            f"Mention one person with @, e.g. `/sprintwins admin {action.value} @alice`.", SPRINTWINS_USAGE
        )
    raise CommandError(
        "Choose one: `/sprintwins admin list`, `/sprintwins admin add @someone` or "
        "`/sprintwins admin remove @someone`.",
        SPRINTWINS_USAGE,
    )


def admin_only_action(command: SprintWinsCommand, user_id: str) -> str | None:
    """What ``command`` does, as raw text ending "Only workspace admins can …", if only they may.

    A channel's settings are everyone's in it, so only admins change them. People link themselves
    (``service.teams.members`` checks the email); linking someone else moves their identity and wins.
    """
    if isinstance(command, ConnectCommand):
        return "connect a channel"
    if isinstance(command, DigestCommand):
        return "change a channel's digest schedule"
    if isinstance(command, TimezoneCommand):
        return "change a channel's time zone"
    if isinstance(command, LiveCommand):
        return "turn live celebrations on or off"
    if isinstance(command, ChallengeCommand) and not challenge_text(command.spec)[0]:
        return "start a team challenge"
    if isinstance(command, LinkCommand) and command.slack_user_id != user_id:
        return "link someone else's Jira account"
    if isinstance(command, AdminCommand) and command.action is not AdminAction.LIST:
        return "add or remove admins"
    return None


def _parse_link(rest: str) -> LinkCommand:
    usage_hint = (
        "e.g. `/sprintwins link @alice alice@example.com`"
        " or `/sprintwins link @alice 5b10ac8d82e05b22cc7d4ef5`."
    )
    parts = rest.split()
    if len(parts) != 2:
        raise CommandError(f"Give one person and one Jira account, {usage_hint}", SPRINTWINS_USAGE)
    mention_match = _MENTION_RE.fullmatch(parts[0])
    if mention_match is None:
        raise CommandError(
            f"Mention the person with @ so Slack turns it into a link, {usage_hint}", SPRINTWINS_USAGE
        )
    ref = readable(parts[1])
    if _EMAIL_RE.fullmatch(ref):
        return LinkCommand(slack_user_id=mention_match.group("id"), email=ref.lower())
    if _JIRA_ACCOUNT_ID_RE.fullmatch(ref):
        return LinkCommand(slack_user_id=mention_match.group("id"), jira_account_id=ref)
    raise CommandError(
        f"`{truncate_plain(ref, 60)}` is neither an email nor a Jira account id, {usage_hint}",
        SPRINTWINS_USAGE,
    )


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))
