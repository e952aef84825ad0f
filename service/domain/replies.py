"""What Sprint Wins answers people in Slack: the replies to commands, buttons and the celebrate modal.

Functions return mrkdwn unless they say "raw": raw text is for errors a person reads after it is
escaped (``escape_mrkdwn``), or for places Slack does not parse markup. User text is escaped here.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from service.domain.mrkdwn import escape_mrkdwn, is_slack_user_id, link, mention, truncate_plain

BUSY = "I couldn't take that just now. Please try again in a minute."
CHANNEL_NOT_LINKED = "This channel isn't connected to a team yet: run `/sprintwins connect <team>` first."
CELEBRATE_IN_UNLINKED_CHANNEL = (
    "This channel isn't connected to a team yet: run `/sprintwins connect &lt;team&gt;` here first, "
    "then celebrate away. :tada:"
)
SPRINT_NOT_FOUND = "I couldn't find that sprint any more, so there was nothing to confirm."
SPRINT_OF_ANOTHER_TEAM = (
    "This channel isn't connected to that sprint's team, so its goal can't be confirmed here."
)
# Raw: ``service.teams.members`` raises it; the command answers with :func:`not_your_jira_account`.
NOT_YOUR_JIRA_ACCOUNT = (
    "You can link yourself only to a Jira account with the same email as your Slack profile, "
    "and I couldn't match this one."
)
ADMIN_NOT_IN_SLACK = (
    "Slack couldn't tell me who that is, so I didn't make them an admin. Try again in a minute."
)
BOT_CANNOT_BE_ADMIN = "Apps and bots can't be Sprint Wins admins: name a person."
ROLE_UNCHECKED = (
    "Only workspace admins can do that, and Slack couldn't tell me just now whether you are one. "
    "Please try again in a minute."
)
MAX_ADMINS_NAMED = 3  # a refusal names a few people to ask, not the whole list


# -- errors (raw text) ---------------------------------------------------------------------------------------


def unknown_team(wanted: str, known_slugs: Sequence[str]) -> str:
    """No team answers to ``wanted``: say so, with the closest slug or a few known ones (raw)."""
    close = difflib.get_close_matches(wanted.casefold(), list(known_slugs), n=1)
    if close:
        hint = f" Did you mean `{close[0]}`?"
    elif known_slugs:
        hint = " Teams I know: " + ", ".join(f"`{slug}`" for slug in known_slugs[:10]) + "."
    else:
        hint = " No teams yet: they appear with the first Jira event, or `sprintwins team create <slug>`."
    return f"I don't know a team called `{wanted[:100]}`.{hint}"


def no_jira_person_with_email(email: str) -> str:
    """``/sprintwins link`` named an email no Jira person has (raw)."""
    return (
        f"No one with the email {email} has shown up from Jira yet. "
        "Link them by their Jira account id instead."
    )


# -- /sprintwins ---------------------------------------------------------------------------------------------


def schedule_confirmation(schedule: str, tz: str) -> str:
    if schedule == "off":
        return ":zzz: Digests are off for this channel. `/win` still works whenever you like."
    if schedule == "sprint-end":
        return ":checkered_flag: A digest will land here whenever a sprint closes."
    return f":calendar: Digest schedule: *{escape_mrkdwn(schedule)}* ({escape_mrkdwn(tz)})."


def connected(team_name: str, previous_team: str | None, schedule: str, tz: str) -> str:
    moved = f" (it was connected to {escape_mrkdwn(previous_team)})" if previous_team else ""
    return (
        f":tada: This channel now celebrates *{escape_mrkdwn(team_name)}*{moved}. "
        f"{schedule_confirmation(schedule, tz)}\n"
        "Change it with `/sprintwins digest …`, or log a win any time with `/win`."
    )


def timezone_set(tz_name: str) -> str:
    return f":earth_africa: Got it: digests here now follow *{escape_mrkdwn(tz_name)}* time."


def challenge_started(personal: bool, title: str, ends_on: object) -> str:
    whose = "Your" if personal else "Team"
    return f":trophy: {whose} challenge is on: *{escape_mrkdwn(title)}*, until {ends_on}. You've got this!"


def member_linked(slack_user_id: str, jira_ref: str, merged_wins: int) -> str:
    merged = f" I moved their {merged_wins} earlier win(s) over too." if merged_wins else ""
    return (
        f":link: {mention(slack_user_id)} is now linked to Jira account `{escape_mrkdwn(jira_ref)}`.{merged}"
    )


# -- who may do what -----------------------------------------------------------------------------------------


def admins_only(action: str, admin_names: Sequence[str]) -> str:
    """Refuse an admin-only ``action`` (``commands.admin_only_action``), saying whom to ask."""
    return f"Only workspace admins can {escape_mrkdwn(action)}: {_whom_to_ask(admin_names)}"


def not_your_jira_account(admin_names: Sequence[str]) -> str:
    """Refuse linking yourself to a Jira account whose email is not yours."""
    return (
        f"{escape_mrkdwn(NOT_YOUR_JIRA_ACCOUNT)} Check the email in your Slack profile, or to be linked "
        f"anyway {_whom_to_ask(admin_names)}"
    )


def _whom_to_ask(admin_names: Sequence[str]) -> str:
    """Whom to ask, e.g. "ask @Ann or @Ben (admins), or a Slack admin or owner."; a few names, escaped."""
    shown = [
        "@" + escape_mrkdwn(truncate_plain(" ".join(name.split()), 40))
        for name in admin_names[:MAX_ADMINS_NAMED]
    ]
    if not shown:
        return "ask a Slack admin or owner of this workspace."
    more = len(admin_names) - len(shown)
    if more:
        listed = f"{', '.join(shown)} or one of {more} more"
    elif len(shown) == 1:
        listed = shown[0]
    else:
        listed = f"{', '.join(shown[:-1])} or {shown[-1]}"
    return f"ask {listed} ({'an admin' if len(admin_names) == 1 else 'admins'}), or a Slack admin or owner."


def admin_added(user_id: str, *, already: bool, slack_admin: bool) -> str:
    if already:
        return f"{mention(user_id)} is already a Sprint Wins admin here."
    through_slack = (
        " (they already were one as a Slack admin or owner; now they stay one if that changes)"
        if slack_admin
        else ""
    )
    return (
        f":key: {mention(user_id)} is now a Sprint Wins admin in this workspace{through_slack}: they can "
        "connect channels, change digests, time zones and live celebrations, and link people."
    )


def admin_removed(user_id: str, *, was_named: bool, slack_admin: bool) -> str:
    still = " They stay an admin as a Slack admin or owner." if slack_admin else ""
    if not was_named:
        return f"{mention(user_id)} wasn't a named Sprint Wins admin, so nothing changed.{still}"
    return f"{mention(user_id)} is no longer a named Sprint Wins admin.{still}"


def admins_listed(user_ids: Sequence[str]) -> str:
    """``/sprintwins admin list``: the named admins; Slack's admins and owners need no naming."""
    slack_admins = "Slack's admins and owners of this workspace are admins too."
    if not user_ids:
        return (
            f"No one is named a Sprint Wins admin yet. {slack_admins} "
            "Any of them can name more with `/sprintwins admin add @someone`."
        )
    return f":key: Sprint Wins admins here: {', '.join(mention(u) for u in user_ids)}. {slack_admins}"


# -- /win and "Celebrate as a win" ---------------------------------------------------------------------------


def win_logged(title: str, team_name: str) -> str:
    return f":star2: Nice one! Logged *{escape_mrkdwn(title)}* as a win for {escape_mrkdwn(team_name)}."


def kudos_sent(recipient_user_ids: Sequence[str], title: str) -> str:
    names = ", ".join(mention(r) for r in recipient_user_ids)
    return f":clap: Kudos sent to {names} for *{escape_mrkdwn(title)}*. Thanks for noticing!"


def message_celebrated(title: str, permalink: str | None, owner_user_id: str | None, private: bool) -> str:
    """The modal's confirmation; ``owner_user_id`` only when the win went to someone else (kudos)."""
    shown = link(permalink, title) if permalink else f"*{escape_mrkdwn(title)}*"
    who = f" for {mention(owner_user_id)}" if owner_user_id else ""
    only_you = " Only you will see it." if private else ""
    return f":tada: Celebrated {shown}{who}!{only_you}"


# -- "Sprint goal met" ---------------------------------------------------------------------------------------


def sprint_goal_confirmed(sprint_name: str | None) -> str:
    return f":tada: *{escape_mrkdwn(sprint_name or 'this sprint')}*: Sprint goal marked as met — nice work!"


def sprint_goal_already_confirmed(sprint_name: str | None, confirmer: str) -> str:
    """``confirmer`` is mrkdwn already (see :func:`confirmer`)."""
    name = escape_mrkdwn(sprint_name or "this sprint")
    return f"The goal of *{name}* was already confirmed by {confirmer}. :white_check_mark:"


def confirmer(
    *,
    shares_publicly: bool,
    is_clicker: bool,
    same_workspace_user_id: str | None,
    display_name: str | None,
) -> str:
    """Who confirmed a sprint goal, as mrkdwn: named only if they share publicly.

    ``same_workspace_user_id`` is their Slack user id when it belongs to the clicker's workspace.
    """
    if not shares_publicly:
        return "a teammate"
    if is_clicker:
        return "you"
    if same_workspace_user_id and is_slack_user_id(same_workspace_user_id):
        return mention(same_workspace_user_id)
    return escape_mrkdwn(display_name or "a teammate")
