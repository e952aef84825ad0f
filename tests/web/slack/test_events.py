"""Events and App Home through the real endpoint: signatures, url_verification, retries, reactions."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from service.models import Cheer, InboundEvent, Member, SlackPost, Sprint, Win
from service.web.extensions import runtime_of
from service.wins.cheers import record_cheer
from tests.jobs.helpers import run_jobs
from tests.web.slack.conftest import (
    CHANNEL,
    SIGNING_SECRET,
    USER,
    WORKSPACE,
    SlackSender,
    event_payload,
    eventually,
    load_json,
    signed_headers,
)


def test_url_verification_answers_the_challenge(slack: SlackSender) -> None:
    payload = load_json("url_verification.json")

    response = slack.event(payload)

    assert response.status_code == 200
    assert response.get_json() == {"challenge": payload["challenge"]}


@pytest.mark.parametrize(
    "sign",
    [
        {"secret": "not-the-signing-secret"},
        {"timestamp": int(time.time()) - 6 * 60},  # outside the 5-minute window
    ],
    ids=["wrong-secret", "stale-timestamp"],
)
def test_bad_or_old_signatures_are_refused(slack: SlackSender, sign: dict[str, object]) -> None:
    response = slack.event(load_json("url_verification.json"), **sign)

    assert response.status_code == 401


def test_a_tampered_body_is_refused(slack: SlackSender) -> None:
    body = json.dumps(load_json("url_verification.json"))
    headers = signed_headers(body, "application/json")

    response = slack.client.post("/slack/events", data=body.replace("3eZ", "4eZ"), headers=headers)

    assert response.status_code == 401


def test_without_slack_settings_the_app_runs_and_slack_routes_say_why(make_app: Callable[..., Flask]) -> None:
    client = make_app("sqlite").test_client()

    events = client.post("/slack/events", data="{}", headers=signed_headers("{}", "application/json"))
    install = client.get("/slack/install")

    assert events.status_code == 503 and "SPRINTWINS_SLACK_BOT_TOKEN" in events.get_json()["error"]
    assert install.status_code == 503
    assert client.get("/healthz").status_code in {200, 404}  # the rest of the app is unaffected


def test_install_is_for_multi_workspace_mode_only(slack: SlackSender) -> None:
    response = slack.client.get("/slack/install")

    assert response.status_code == 404
    assert "single Slack workspace" in response.get_json()["error"]


def test_half_a_configuration_is_refused_at_start_up(make_app: Callable[..., Flask]) -> None:
    from service.settings import SettingsError

    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        make_app("sqlite", slack_bot_token="xoxb-1")


# -- retries -------------------------------------------------------------------------------------------------


def home_opened(event_id: str, user: str = USER) -> dict[str, object]:
    return event_payload(
        {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home", "event_ts": "1.2"},
        event_id,
    )


def test_a_retried_event_is_acknowledged_without_doing_the_work_twice(
    slack_app: Flask, slack: SlackSender
) -> None:
    first = slack.event(home_opened("Ev0001"))
    retry = slack.raw(json.dumps(home_opened("Ev0001")), "application/json")  # signed afresh, as Slack does
    eventually(slack_app, lambda: slack.standin.calls_to("views.publish"))

    assert first.status_code == retry.status_code == 200
    with runtime_of(slack_app).database.sessions() as session:
        rows = list(session.scalars(select(InboundEvent)))
    assert [(r.source, r.delivery_id, r.event_type) for r in rows] == [("slack", "Ev0001", "app_home_opened")]

    slack.event(home_opened("Ev0002"))
    eventually(slack_app, lambda: len(slack.standin.calls_to("views.publish")) >= 2)
    run_jobs(slack_app)
    # The duplicate was turned away before any listener ran: only the two distinct events published.
    assert len(slack.standin.calls_to("views.publish")) == 2


# -- reactions -----------------------------------------------------------------------------------------------


def reaction(kind: str, event_id: str, ts: str, reaction_name: str = "tada") -> dict[str, object]:
    payload = copy.deepcopy(load_json("event_callback_reaction_added.json"))
    payload["event_id"] = event_id
    payload["event"].update(type=kind, reaction=reaction_name)
    payload["event"]["item"].update(channel=CHANNEL, ts=ts)
    return payload


def cheers(app: Flask) -> list[tuple[int, str, str]]:
    with runtime_of(app).database.sessions() as session:
        return [(c.win_id, c.user_id, c.reaction) for c in session.scalars(select(Cheer).order_by(Cheer.id))]


def test_reactions_on_our_posts_are_cheers_on_the_win(
    slack_app: Flask, slack: SlackSender, linked: int
) -> None:
    slack.command("/win", "shipped search")
    run_jobs(slack_app)
    with runtime_of(slack_app).database.transaction() as session:
        win_id = session.scalars(select(Win.id).where(Win.source != "engine")).one()
        # What the poster writes when it posts a celebration.
        session.add(
            SlackPost(slack_team_id=WORKSPACE, channel_id=CHANNEL, ts="1700000000.000100", win_id=win_id)
        )

    slack.event(reaction("reaction_added", "EvR1", "1700000000.000100"))
    slack.event(reaction("reaction_added", "EvR2", "1700000000.000100", "heart"))
    slack.event(reaction("reaction_added", "EvR3", "1599529504.000400"))  # not one of ours
    eventually(slack_app, lambda: len(cheers(slack_app)) == 2)
    assert sorted(cheers(slack_app)) == sorted([(win_id, USER, "tada"), (win_id, USER, "heart")])

    slack.event(reaction("reaction_removed", "EvR4", "1700000000.000100"))
    eventually(slack_app, lambda: len(cheers(slack_app)) == 1)
    assert cheers(slack_app) == [(win_id, USER, "heart")]


# -- App Home ------------------------------------------------------------------------------------------------


def test_app_home_shows_my_week_sprint_streaks_and_the_sharing_toggle(
    slack_app: Flask, slack: SlackSender, linked: int
) -> None:
    now = datetime.now(UTC)
    with runtime_of(slack_app).database.transaction() as session:
        me = Member(slack_team_id=WORKSPACE, slack_user_id=USER, display_name="Owner")
        session.add(me)
        session.add(
            Sprint(team_id=linked, name="Sprint 42", state="active", start_at=now - timedelta(days=20))
        )
        session.flush()
        for n, (kind, title, when) in enumerate(
            [
                ("ticket", "Fix <!channel> alerts & pages", now),
                ("ticket", "Old but in the sprint", now - timedelta(days=15)),
                ("streak", "5-day streak", now),
            ]
        ):
            session.add(
                Win(
                    team_id=linked,
                    kind=kind,
                    title=title,
                    member_id=me.id,
                    source="jira",
                    source_key=f"K-{n}",
                    occurred_at=when,
                    details={},
                )
            )

    with runtime_of(slack_app).database.transaction() as session:
        # Two reactions on the post that celebrated the first win: App Home counts them beside it.
        first = session.scalars(select(Win).where(Win.source_key == "K-0")).one()
        session.add(
            SlackPost(slack_team_id=WORKSPACE, channel_id=CHANNEL, ts="1700000000.000900", win_id=first.id)
        )
    with runtime_of(slack_app).database.transaction() as session:
        for emoji in ("tada", "heart"):
            record_cheer(session, WORKSPACE, CHANNEL, "1700000000.000900", USER, emoji, added=True)

    slack.event(home_opened("EvH1"))
    eventually(slack_app, lambda: slack.standin.published_views())

    view = slack.standin.published_views()[USER]
    text = json.dumps(view["blocks"])
    assert "Fix &lt;!channel&gt; alerts &amp; pages" in text and "<!channel>" not in text
    assert "This week* (1)" in text
    assert "2 :raised_hands:" in text and text.count(":raised_hands:") == 2  # this week and the sprint
    assert "Sprint 42* (2)" in text and "Old but in the sprint" in text
    assert "5-day streak" in text
    [toggle] = next(b for b in view["blocks"] if b.get("block_id") == "sharing")["elements"]
    assert toggle["initial_options"][0]["value"] == "on"

    action = copy.deepcopy(load_json("block_actions.json"))
    action["container"] = {"type": "view", "view_id": view["id"]}
    action["actions"] = [
        {"type": "checkboxes", "action_id": "share_publicly", "block_id": "sharing", "selected_options": []}
    ]
    assert slack.interaction(action).status_code == 200
    eventually(slack_app, lambda: len(slack.standin.calls_to("views.publish")) == 2)

    with runtime_of(slack_app).database.sessions() as session:
        assert (
            session.scalars(select(Member.sharing_opt_out).where(Member.slack_user_id == USER)).one() is True
        )
    republished = slack.standin.published_views()[USER]
    [toggle] = next(b for b in republished["blocks"] if b.get("block_id") == "sharing")["elements"]
    assert "initial_options" not in toggle


def test_app_home_for_someone_new_is_encouraging(slack_app: Flask, slack: SlackSender) -> None:
    slack.standin.add_user("U0NEW", real_name="New Person")

    slack.event(home_opened("EvH2", user="U0NEW"))
    eventually(slack_app, lambda: slack.standin.published_views())

    text = json.dumps(slack.standin.published_views()["U0NEW"]["blocks"])
    assert "haven't seen a win from you yet" in text
    assert "No streaks or badges yet" in text


def test_app_home_links_someone_jira_knows_by_email(slack_app: Flask, slack: SlackSender) -> None:
    with runtime_of(slack_app).database.transaction() as session:
        session.add(Member(jira_account_id="acc-1", email="Owner@Example.com", display_name="Owner"))

    slack.event(home_opened("EvH3"))
    eventually(slack_app, lambda: slack.standin.published_views())

    with runtime_of(slack_app).database.sessions() as session:
        member = session.scalars(select(Member).where(Member.jira_account_id == "acc-1")).one()
    assert (member.slack_team_id, member.slack_user_id) == (WORKSPACE, USER)


def test_connect_links_jira_people_to_slack_users_by_email(slack_app: Flask, slack: SlackSender) -> None:
    from tests.web.slack.conftest import add_team

    add_team(slack_app)
    slack.standin.add_user("U0CAROL", email="carol@example.com")
    with runtime_of(slack_app).database.transaction() as session:
        session.add(Member(jira_account_id="acc-carol", email="carol@example.com", display_name="Carol"))
        session.add(Member(jira_account_id="acc-dave", email="dave@elsewhere.io", display_name="Dave"))

    slack.command("/sprintwins", "connect payments")
    run_jobs(slack_app)

    with runtime_of(slack_app).database.sessions() as session:
        found = {
            ref: user for ref, user in session.execute(select(Member.jira_account_id, Member.slack_user_id))
        }
    assert found["acc-carol"] == "U0CAROL"
    assert found["acc-dave"] is None
    assert SIGNING_SECRET not in json.dumps([c.params for c in slack.standin.calls])


def test_new_jira_people_are_matched_to_slack_users_by_email_after_a_batch(
    slack_app: Flask, slack: SlackSender
) -> None:
    """Nobody has to run a command: a batch that brings a new person with an email links them."""
    from service.teams.registry import attach
    from tests.conftest import post_jira
    from tests.jobs.helpers import issue_payload
    from tests.web.slack.conftest import add_team

    add_team(slack_app, slug="tes", name="Test")
    with runtime_of(slack_app).database.transaction() as session:
        attach(session, "tes", "project", "TES")
    slack.command("/sprintwins", "connect tes")
    run_jobs(slack_app)
    slack.standin.add_user("U0GRACE", email="grace@example.com")
    payload = issue_payload("webhook-issue-updated-resolved.json", timestamp=1_763_900_000_000)
    payload["issue"]["fields"]["assignee"] = {
        "accountId": "acc-grace",
        "displayName": "Grace",
        "emailAddress": "grace@example.com",
    }
    assert post_jira(slack_app.test_client(), payload, delivery_id="grace-1").status_code == 202
    run_jobs(slack_app)

    with runtime_of(slack_app).database.sessions() as session:
        grace = session.scalars(select(Member).where(Member.jira_account_id == "acc-grace")).one()
    assert (grace.slack_team_id, grace.slack_user_id) == (WORKSPACE, "U0GRACE")
