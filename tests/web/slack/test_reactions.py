"""Live celebrations and cheers through the real endpoint: ``/sprintwins live``, then signed
``reaction_added`` / ``reaction_removed`` events on what was posted, through the Slack stand-in."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import select

from jobs.digests import deliver_digest
from service.digests import stored
from service.domain.digest_blocks import Digest
from service.domain.mrkdwn import escape_mrkdwn
from service.domain.replies import CHANNEL_NOT_LINKED
from service.models import ChannelLink, Cheer, Win
from service.models.slack import DigestCheer
from service.web.extensions import runtime_of
from tests.jobs.helpers import run_jobs
from tests.web.slack.conftest import CHANNEL, USER, WORKSPACE, SlackSender, eventually, load_json

OTHER_USER = "W222"


def reaction(kind: str, event_id: str, ts: str, name: str = "tada", user: str = USER) -> dict[str, object]:
    payload = copy.deepcopy(load_json("event_callback_reaction_added.json"))
    payload["event_id"] = event_id
    payload["event"].update(type=kind, reaction=name, user=user)
    payload["event"]["item"].update(channel=CHANNEL, ts=ts)
    return payload


def cheers(app: Flask) -> list[tuple[int, str, str]]:
    with runtime_of(app).database.sessions() as session:
        return sorted((c.win_id, c.user_id, c.reaction) for c in session.scalars(select(Cheer)))


def digest_cheers(app: Flask) -> list[tuple[int, str, str]]:
    with runtime_of(app).database.sessions() as session:
        return sorted((c.digest_id, c.user_id, c.reaction) for c in session.scalars(select(DigestCheer)))


def live_setting(app: Flask) -> tuple[str, datetime | None]:
    with runtime_of(app).database.sessions() as session:
        link = session.scalars(select(ChannelLink).where(ChannelLink.channel_id == CHANNEL)).one()
        return link.live, link.live_since


def last_reply(slack: SlackSender) -> str:
    responses = slack.standin.responses()
    assert responses, "no answer was posted to the response_url"
    return str(responses[-1]["text"])


def test_live_sets_the_channel_setting_and_explains_mistakes(
    slack_app: Flask, slack: SlackSender, linked: int
) -> None:
    assert live_setting(slack_app) == ("milestones", None)  # a newly linked channel's default

    typo = slack.command("/sprintwins", "live loud")  # answered in the acknowledgement
    run_jobs(slack_app)
    answer = typo.get_data(as_text=True)
    assert "`loud` is not a live setting" in answer and "`/sprintwins live milestones`" in answer
    assert live_setting(slack_app) == ("milestones", None)

    slack.command("/sprintwins", "live off")
    run_jobs(slack_app)
    assert "off for this channel" in last_reply(slack)
    assert live_setting(slack_app)[0] == "off"

    before = datetime.now(UTC)
    slack.command("/sprintwins", "live ALL")
    run_jobs(slack_app)
    mode, since = live_setting(slack_app)
    assert mode == "all" and since is not None and since >= before  # only news from now on
    assert "every ticket" in last_reply(slack)

    slack.command("/sprintwins", "live all", channel_id="C0NOTLINKED")
    run_jobs(slack_app)
    assert last_reply(slack) == escape_mrkdwn(CHANNEL_NOT_LINKED)


def test_kudos_are_celebrated_live_and_reactions_cheer_each_of_their_wins(
    slack_app: Flask, slack: SlackSender, linked: int
) -> None:
    slack.standin.add_user("U0ALICE", real_name="Alice")
    slack.standin.add_user("U0BOB", real_name="Bob")

    slack.command("/win", "<@U0ALICE> <@U0BOB> untangled the flaky CI job")
    [message] = eventually(slack_app, lambda: slack.standin.messages(CHANNEL))
    assert "untangled the flaky CI job" in str(message["blocks"])
    with runtime_of(slack_app).database.sessions() as session:
        kudos = sorted(session.scalars(select(Win.id).where(Win.kind == "kudos")))
    assert len(kudos) == 2

    slack.event(reaction("reaction_added", "EvR1", message["ts"]))
    slack.event(reaction("reaction_added", "EvR2", message["ts"], user=OTHER_USER))
    slack.event(reaction("reaction_added", "EvR3", "1599529504.000400"))  # someone else's message
    expected = sorted((win_id, user, "tada") for win_id in kudos for user in (USER, OTHER_USER))
    eventually(slack_app, lambda: cheers(slack_app) == expected)
    assert digest_cheers(slack_app) == []  # a live celebration cheers its wins, it is no digest

    slack.event(reaction("reaction_added", "EvR1", message["ts"]))  # Slack's redelivery: no change
    slack.event(reaction("reaction_removed", "EvR4", message["ts"], user=OTHER_USER))
    eventually(slack_app, lambda: cheers(slack_app) == [(win_id, USER, "tada") for win_id in kudos])


def test_a_reaction_on_a_digest_cheers_the_digest_and_the_wins_it_lists(
    slack_app: Flask, slack: SlackSender, linked: int
) -> None:
    database = runtime_of(slack_app).database
    now = datetime.now(UTC)
    with database.transaction() as session:
        win_ids = []
        for title in ("Shipped search", "Fixed login"):
            win = Win(
                team_id=linked,
                kind="ticket",
                title=title,
                source="jira",
                source_key=title,
                occurred_at=now,
            )
            session.add(win)
            session.flush()
            win_ids.append(win.id)
        row = stored.ensure_digest(
            session,
            team_id=linked,
            slack_team_id=WORKSPACE,
            channel_id=CHANNEL,
            period_key="weekly:2026-W49",
            # The wins a digest lists are linked when it is stored, so reactions on it cheer them.
            compose=lambda: Digest(
                text="This week: Shipped search, Fixed login", blocks=[], win_ids=tuple(win_ids)
            ),
        )
        digest_id = row.id
    delivered = deliver_digest(digest_id)
    assert delivered["state"] == "posted"

    slack.event(reaction("reaction_added", "EvD1", str(delivered["ts"]), "raised_hands"))
    eventually(slack_app, lambda: digest_cheers(slack_app))
    assert digest_cheers(slack_app) == [(digest_id, USER, "raised_hands")]
    assert cheers(slack_app) == sorted((win_id, USER, "raised_hands") for win_id in win_ids)

    slack.event(reaction("reaction_removed", "EvD2", str(delivered["ts"]), "raised_hands"))
    eventually(slack_app, lambda: not digest_cheers(slack_app) and not cheers(slack_app))
