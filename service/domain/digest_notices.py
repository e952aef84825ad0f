"""What people are told when a digest cannot reach its channel: the error noted on the channel link,
and the direct message to whoever linked it (with what to do about it)."""

from __future__ import annotations

import re

from service.domain.mrkdwn import escape_mrkdwn

NOT_IN_CHANNEL = "not_in_channel"
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def channel_error(code: str) -> str:
    """The error stored on the digest row and the channel link, for ``code`` from Slack."""
    reason = (
        "Sprint Wins is not a member of the channel; invite it with /invite @Sprint Wins"
        if code == NOT_IN_CHANNEL
        else "the channel does not exist any more, or Sprint Wins cannot see it"
    )
    return f"{code}: {reason}"


def linker_notice(code: str, channel_id: str, team_name: str, *, sprint_end: bool) -> str:
    """The DM (mrkdwn) to the person who linked a channel the digest could not be posted in."""
    channel = f"<#{channel_id}>" if _CHANNEL_ID.match(channel_id) else escape_mrkdwn(channel_id)
    what = "a sprint-end celebration" if sprint_end else "a digest"
    if code == NOT_IN_CHANNEL:
        fix = (
            f"I'm not a member of {channel}. Invite me there with `/invite @Sprint Wins` "
            "and I'll post from the next one."
        )
    else:
        fix = (
            f"I can't find {channel}: it may have been deleted or made private. "
            "Run `/sprintwins connect <team>` in the channel that should get them."
        )
    return f":warning: I couldn't post {what} for *{escape_mrkdwn(team_name)}*. {fix}"
