"""Slash commands through the real endpoint: signed form posts, answers via response_url."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from service.models import ChannelLink, Member, Win
from service.web.extensions import runtime_of
from tests.jobs.helpers import run_jobs
from tests.standins.slack_api import SlackStandIn
from tests.web.slack.conftest import (
    BOT_TOKEN,
    CHANNEL,
    SIGNING_SECRET,
    USER,
    WORKSPACE,
    SlackSender,
    add_team,
    team,
)


def links(app: Flask) -> list[ChannelLink]:
    with runtime_of(app).database.sessions() as session:
        return list(session.scalars(select(ChannelLink)))


def wins(app: Flask) -> list[Win]:
    with runtime_of(app).database.sessions() as session:
        # The wins Slack recorded; the progress engine's badges for them are not what these tests are about.
        return list(session.scalars(select(Win).where(Win.source != "engine").order_by(Win.id)))


def last_reply(slack: SlackSender) -> str:
    responses = slack.standin.responses()
    assert responses, "no answer was posted to the response_url"
    assert responses[-1]["response_type"] == "ephemeral"
    return str(responses[-1]["text"])


def test_connect_links_the_channel_with_the_linkers_time_zone(slack_app: Flask, slack: SlackSender) -> None:
    team_id = add_team(slack_app)

    response = slack.command("/sprintwins", "connect Payments")
    run_jobs(slack_app)

    assert response.status_code == 200
    [link] = links(slack_app)
    assert (link.team_id, link.slack_team_id, link.channel_id) == (team_id, WORKSPACE, CHANNEL)
    assert link.linked_by_user_id == USER
    assert link.timezone == "Europe/Berlin"  # from users.info of the person who linked
    assert link.schedule == "weekly fri 16:00" and link.paused is False
    linked_team = team(slack_app)
    assert (linked_team.slack_team_id, linked_team.slack_channel) == (WORKSPACE, CHANNEL)
    assert linked_team.timezone == "Europe/Berlin"
    assert "now celebrates *Payments*" in last_reply(slack)


def test_connect_to_an_unknown_team_suggests_the_close_one(slack_app: Flask, slack: SlackSender) -> None:
    add_team(slack_app)

    slack.command("/sprintwins", "connect paymnts")
    run_jobs(slack_app)

    assert links(slack_app) == []
    assert "Did you mean `payments`?" in last_reply(slack)


def test_digest_schedule_is_stored_in_canonical_form(
    slack_app: Flask, slack: SlackSender, linked: int
) -> None:
    slack.command("/sprintwins", "digest Weekly Friday 4pm")
    run_jobs(slack_app)

    [link] = links(slack_app)
    assert link.schedule == "weekly fri 16:00"
    assert "weekly fri 16:00" in last_reply(slack)

    slack.command("/sprintwins", "digest off")
    run_jobs(slack_app)
    assert links(slack_app)[0].schedule == "off"
    assert "Digests are off" in last_reply(slack)


def test_a_bad_schedule_is_answered_in_the_acknowledgement(slack: SlackSender, linked: int) -> None:
    response = slack.command("/sprintwins", "digest hourly")

    assert response.status_code == 200
    assert "Unknown schedule" in response.get_data(as_text=True)
    assert slack.standin.responses() == []


def test_digest_in_an_unlinked_channel_says_to_connect_first(slack_app: Flask, slack: SlackSender) -> None:
    slack.command("/sprintwins", "digest daily 09:30")
    run_jobs(slack_app)

    assert "/sprintwins connect &lt;team&gt;" in last_reply(slack)


def test_timezone_sets_channel_and_team(slack_app: Flask, slack: SlackSender, linked: int) -> None:
    slack.command("/sprintwins", "timezone america/new_york")
    run_jobs(slack_app)

    assert links(slack_app)[0].timezone == "America/New_York"
    assert team(slack_app).timezone == "America/New_York"
    assert "America/New_York" in last_reply(slack)


def test_help_is_the_acknowledgement(slack: SlackSender) -> None:
    response = slack.command("/sprintwins", "help")

    # Slack shows a plain-text acknowledgement to the sender only.
    text = response.get_data(as_text=True)
    assert "/sprintwins connect &lt;team&gt;" in text
    assert "/win" in text


def test_link_attaches_a_slack_user_to_a_jira_person_and_merges_earlier_wins(
    slack_app: Flask, slack: SlackSender, linked: int
) -> None:
    slack.standin.add_user("U0ALICE", real_name="Alice")
    slack.command("/win", "<@U0ALICE|alice> fixed the flaky deploy")
    run_jobs(slack_app)
    with runtime_of(slack_app).database.transaction() as session:
        session.add(
            Member(jira_account_id="5b10ac8d82e05b22cc7d4ef5", display_name="Alice A", email="a@x.io")
        )

    slack.command("/sprintwins", "link <@U0ALICE|alice> a@x.io")
    run_jobs(slack_app)

    with runtime_of(slack_app).database.sessions() as session:
        alice = session.scalars(select(Member).where(Member.slack_user_id == "U0ALICE")).one()
        assert alice.jira_account_id == "5b10ac8d82e05b22cc7d4ef5"
        assert session.scalars(select(Win.member_id).where(Win.source != "engine")).all() == [alice.id]
    assert "is now linked" in last_reply(slack)
    assert "moved their 1 earlier win" in last_reply(slack)


def test_win_records_a_manual_win_for_the_sender(slack_app: Flask, slack: SlackSender, linked: int) -> None:
    slack.command("/win", "shipped the onboarding email")
    run_jobs(slack_app)

    [win] = wins(slack_app)
    assert (win.kind, win.source, win.team_id, win.title) == (
        "manual",
        "slack",
        linked,
        "shipped the onboarding email",
    )
    assert win.member is not None and win.member.slack_user_id == USER
    assert win.member.email == "owner@example.com"
    assert "Logged *shipped the onboarding email*" in last_reply(slack)


def test_the_same_command_delivered_twice_records_one_win(
    slack_app: Flask, slack: SlackSender, linked: int
) -> None:
    slack.command(
        "/win", "shipped it", trigger_id="111.999.same", response_url=slack.standin.response_url("a")
    )
    slack.command(
        "/win", "shipped it", trigger_id="111.999.same", response_url=slack.standin.response_url("b")
    )
    run_jobs(slack_app)

    assert len(wins(slack_app)) == 1


def test_win_with_mentions_is_kudos_for_each_person_named(
    slack_app: Flask, slack: SlackSender, linked: int
) -> None:
    slack.standin.add_user("U0ALICE", real_name="Alice")
    slack.standin.add_user("U0BOB", real_name="Bob")

    slack.command("/win", "<@U0ALICE|alice> <@U0BOB|bob> untangled the flaky CI job")
    run_jobs(slack_app)

    kudos = wins(slack_app)
    assert [w.kind for w in kudos] == ["kudos", "kudos"]
    assert {w.member.slack_user_id for w in kudos if w.member} == {"U0ALICE", "U0BOB"}
    assert all(w.title == "untangled the flaky CI job" for w in kudos)
    assert all(w.details["kudos_from"]["slack_user_id"] == USER for w in kudos)
    assert "<@U0ALICE>, <@U0BOB>" in last_reply(slack)


def test_win_in_an_unlinked_channel_says_to_connect_first(slack_app: Flask, slack: SlackSender) -> None:
    slack.command("/win", "did a thing")
    run_jobs(slack_app)

    assert wins(slack_app) == []
    assert "`/sprintwins connect &lt;team&gt;` first" in last_reply(slack)


def test_empty_win_is_answered_with_usage(slack: SlackSender) -> None:
    text = slack.command("/win", "   ").get_data(as_text=True)

    assert "Say what the win was" in text


def test_user_text_is_escaped_so_nobody_is_pinged(slack_app: Flask, slack: SlackSender, linked: int) -> None:
    slack.command("/win", "fixed &lt;!channel&gt; &amp; <!here> alerts")
    run_jobs(slack_app)

    [win] = wins(slack_app)
    assert win.title == "fixed <!channel> & @here alerts"  # stored raw, readable
    reply = last_reply(slack)
    assert "&lt;!channel&gt; &amp; @here" in reply
    assert "<!channel>" not in reply and "<!here>" not in reply


def test_connect_and_kudos_on_postgres_with_rq(
    make_app: Callable[..., Flask], redis_url: str, slack_standin: SlackStandIn
) -> None:
    app = make_app(
        "postgres",
        redis=redis_url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack_standin.url + "/api/",
    )
    slack = SlackSender(app.test_client(), slack_standin)
    slack_standin.add_user("U0ALICE", real_name="Alice")
    add_team(app)

    slack.command("/sprintwins", "connect payments")
    run_jobs(app)
    slack.command("/win", "<@U0ALICE|alice> rescued the release", trigger_id="1.2.3")
    slack.command("/win", "<@U0ALICE|alice> rescued the release", trigger_id="1.2.3")
    run_jobs(app)

    [kudos] = wins(app)
    assert kudos.kind == "kudos" and kudos.member is not None and kudos.member.slack_user_id == "U0ALICE"
    assert links(app)[0].timezone == "Europe/Berlin"


def test_challenges_for_the_team_and_for_oneself(slack_app: Flask, slack: SlackSender, linked: int) -> None:
    from service.models.progress import ChallengeRow

    slack.command("/sprintwins", "challenge close 5 bugs this week")
    run_jobs(slack_app)
    assert "Team challenge is on" in last_reply(slack)

    slack.command("/sprintwins", "challenge me one small win a day for 5 days")
    run_jobs(slack_app)
    assert "Your challenge is on" in last_reply(slack)

    slack.command("/sprintwins", "challenge become famous <!channel>")
    run_jobs(slack_app)
    refusal = last_reply(slack)
    assert "challenge is on" not in refusal and "<!channel>" not in refusal  # refused, and nobody pinged

    with runtime_of(slack_app).database.sessions() as session:
        rows = session.scalars(select(ChallengeRow).order_by(ChallengeRow.id)).all()
        me = session.scalars(select(Member).where(Member.slack_user_id == USER)).one()
    assert [(r.team_id, r.metric, r.target, r.member_id) for r in rows] == [
        (linked, "bugs_closed", 5, None),
        (linked, "daily_wins", 5, me.id),
    ]
