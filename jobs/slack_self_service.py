"""App Home self-service: a person downloads what Sprint Wins holds about them, or has it forget them.

Both act inside the workspace the person's Slack team belongs to, on their own member row only.
Exactly once across retries and duplicate clicks: each request is one job (``enqueue_unique`` on the
click's id); the export's file is named after that request and looked for in the person's DM before
it is sent again; forgetting someone already forgotten finds nobody and changes nothing. What follows
the one step that matters (the App Home's notice) is best effort, so it never makes RQ repeat it.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from integrations.slack import installation, views
from integrations.slack.poster import PostError, PostOutcomeUnknown, PostRejected, SlackPoster, TokenLookup
from jobs import runtime
from jobs.slack_home import publish_home
from jobs.slack_people import slack_client, workspace_of
from service.models import Member, utcnow
from service.privacy.export import export_member
from service.privacy.forget import forget_member
from service.slack import roles
from service.teams import members

log = logging.getLogger(__name__)

# How far back the DM is searched for an export an earlier attempt already sent.
EXPORT_LOOKBACK = timedelta(days=1)
# A DM's text holds about 40,000 characters; an export longer than this goes only as a file.
MAX_SNIPPET_CHARS = 35_000
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

EXPORT_FAILED_NOTICE = (
    ":warning: I could not send your data just now. Try again later, or ask a Sprint Wins admin "
    "for an export (`sprintwins member export`)."
)


def request_key(slack_team_id: str, user_id: str, click_id: str) -> str:
    """One key per click: a job id (RQ allows letters, digits, ``_`` and ``-``) and the file's name."""
    return _UNSAFE.sub("_", f"{slack_team_id}-{user_id}-{click_id}")[:120]


def send_my_data(slack_team_id: str, enterprise_id: str | None, user_id: str, key: str) -> dict[str, Any]:
    """DM the person a JSON file of everything stored about them (``service.privacy.export``)."""
    rt = runtime.current()
    workspace_id = workspace_of(slack_team_id, enterprise_id)
    with rt.database.sessions() as session:
        member = _own_member(session, slack_team_id, user_id, workspace_id)
        data = export_member(session, member) if member is not None else None
    if data is None:
        _publish_notice(slack_team_id, enterprise_id, user_id, views.NOTHING_HELD_NOTICE)
        return {"state": "nothing_held"}
    content = json.dumps(data, indent=2, ensure_ascii=False)
    filename = f"sprintwins-my-data-{request_key(slack_team_id, user_id, key)}.json"
    poster = SlackPoster(rt.settings, _token_lookup(rt))
    try:
        sent = poster.send_file_to_person(
            slack_team_id,
            user_id,
            filename=filename,
            content=content,
            title="Your Sprint Wins data",
            comment="Here is everything Sprint Wins holds about you, as you asked.",
            since=utcnow() - EXPORT_LOOKBACK,
            enterprise_id=enterprise_id,
        )
        state = "already_sent" if sent.already else "sent"
    except PostRejected as error:
        if error.retryable:
            raise  # nothing was shared: RQ tries again later
        if error.code == "missing_scope" and len(content) <= MAX_SNIPPET_CHARS:
            # An install from before file uploads: the same JSON, as a snippet in a DM.
            poster.direct_message(
                slack_team_id,
                user_id,
                f"Here is everything Sprint Wins holds about you:\n```{content}```",
                enterprise_id=enterprise_id,
            )
            state = "sent_as_snippet"
        else:
            log.error("could not send a person their data: %s", error.code)
            _publish_notice(slack_team_id, enterprise_id, user_id, EXPORT_FAILED_NOTICE)
            return {"state": "failed", "error": error.code}
    except PostOutcomeUnknown:
        raise  # the retry looks for the file in the DM before sending it again
    except PostError as error:
        log.error("could not send a person their data: %s", error.code)
        _publish_notice(slack_team_id, enterprise_id, user_id, EXPORT_FAILED_NOTICE)
        return {"state": "failed", "error": error.code}
    _publish_notice(slack_team_id, enterprise_id, user_id, views.EXPORT_SENT_NOTICE)
    return {"state": state, "filename": filename}


def forget_me(slack_team_id: str, enterprise_id: str | None, user_id: str) -> dict[str, Any]:
    """Forget the person who confirmed "Forget me" (``service.privacy.forget``), then say so in App Home."""
    rt = runtime.current()
    workspace_id = workspace_of(slack_team_id, enterprise_id)
    with rt.database.transaction() as session:
        member = _own_member(session, slack_team_id, user_id, workspace_id)
        roles.forget_person(session, slack_team_id, user_id)
        report = forget_member(session, member) if member is not None else None
    try:
        # Not ``publish_home``: it would match them by email again and bring their name back.
        slack_client(slack_team_id, enterprise_id).views_publish(
            user_id=user_id, view=views.forgotten_home_view()
        )
    except Exception as error:  # the forgetting is done; a lost notice must not repeat it
        log.warning("forgot a person but could not update their App Home: %s", type(error).__name__)
    return {"forgotten": report is not None, **(report or {})}


def _own_member(session: Session, slack_team_id: str, user_id: str, workspace_id: int) -> Member | None:
    """The person's member row, only if it belongs to the workspace the request acts in."""
    member = members.member_for_slack_user(session, slack_team_id, user_id)
    if member is None or member.workspace_id != workspace_id:
        return None
    return member


def _publish_notice(slack_team_id: str, enterprise_id: str | None, user_id: str, notice: str) -> None:
    try:
        publish_home(slack_team_id, enterprise_id, user_id, notice)
    except Exception as error:  # the request is done; a lost notice must not make RQ repeat it
        log.warning("could not update a person's App Home: %s", type(error).__name__)


def _token_lookup(rt: runtime.Runtime) -> TokenLookup:
    def token_for(slack_team_id: str | None, enterprise_id: str | None) -> str:
        return installation.bot_token_for(rt.settings, rt.database.engine, slack_team_id, enterprise_id)

    return token_for
