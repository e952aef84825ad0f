"""The work Slack's listeners hand off, under the names jobs were queued with.

Jobs already in Redis name their function as ``jobs.slack_inbound.<name>``; the work itself lives
in one module per kind: ``jobs.slack_commands`` (``/sprintwins``), ``jobs.slack_wins`` (``/win``
and "Celebrate as a win"), ``jobs.slack_sprint_goal``, ``jobs.slack_home`` (App Home),
``jobs.slack_self_service`` (App Home's "Download my data" and "Forget me"),
``jobs.slack_events`` (reactions, uninstalls, revoked tokens) and ``jobs.slack_people``
(matching Jira people to Slack users). Every job takes primitives (RQ's JSON serializer) and is
safe to run twice.
"""

from __future__ import annotations

from jobs.slack_commands import handle_sprintwins_command
from jobs.slack_events import forget_workspace, record_reaction, revoke_tokens
from jobs.slack_home import publish_home, set_sharing
from jobs.slack_people import match_members_by_email, match_team_members_by_email, request_member_matching
from jobs.slack_self_service import forget_me, send_my_data
from jobs.slack_sprint_goal import confirm_sprint_goal
from jobs.slack_wins import handle_win_command, record_message_win

__all__ = [
    "confirm_sprint_goal",
    "forget_me",
    "forget_workspace",
    "handle_sprintwins_command",
    "handle_win_command",
    "match_members_by_email",
    "match_team_members_by_email",
    "publish_home",
    "record_message_win",
    "record_reaction",
    "request_member_matching",
    "revoke_tokens",
    "send_my_data",
    "set_sharing",
]
