"""Who may do what, through the real endpoint: signed ``/sprintwins`` commands from members, Slack admins,
owners and named admins, answered via response_url, with ``users.info`` served by the Slack stand-in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from integrations.slack.roles import SlackRole, role_of
from service.domain.commands import (
    AdminAction,
    AdminCommand,
    CommandError,
    admin_only_action,
    parse_sprintwins,
)
from service.domain.mrkdwn import escape_mrkdwn
from service.domain.replies import ROLE_UNCHECKED
from service.models import ChannelLink, Member, utcnow
from service.models.progress import ChallengeRow
from service.models.slack import CachedSlackRole, WorkspaceAdmin
from service.slack.roles import ROLE_TTL
from service.web.extensions import runtime_of
from tests.jobs.helpers import run_jobs
from tests.standins.slack_api import SlackStandIn
from tests.web.slack.conftest import BOT_TOKEN, SIGNING_SECRET, USER, SlackSender, add_team

MEMBER = "U0MEMBER"
SLACK_ADMIN = "U0SLACKADMIN"
SLACK_OWNER = "U0SLACKOWNER"
NAMED = "U0NAMED"
OTHER = "U0OTHER"


@pytest.fixture
def people(slack: SlackSender) -> None:
    standin = slack.standin
    standin.add_user(MEMBER, email="member@example.com", real_name="Mo Member")
    standin.add_user(SLACK_ADMIN, email="admin@example.com", real_name="Ada Admin", is_admin=True)
    standin.add_user(SLACK_OWNER, email="owner2@example.com", real_name="Olu Owner", is_owner=True)
    standin.add_user(NAMED, email="named@example.com", name="Ann")
    standin.add_user(OTHER, email="other@example.com", real_name="Otto Other")


def sprintwins(app: Flask, slack: SlackSender, text: str, user_id: str = USER) -> str:
    """Run ``/sprintwins <text>`` as ``user_id`` and return the ephemeral answer."""
    before = len(slack.standin.responses())
    assert slack.command("/sprintwins", text, user_id=user_id).status_code == 200
    run_jobs(app)
    responses = slack.standin.responses()
    assert len(responses) == before + 1, "no answer was posted to the response_url"
    assert responses[-1]["response_type"] == "ephemeral"
    return str(responses[-1]["text"])


def name_admin(app: Flask, slack: SlackSender, user_id: str = NAMED) -> None:
    assert "is now a Sprint Wins admin" in sprintwins(app, slack, f"admin add <@{user_id}>")


def channel_link(app: Flask) -> ChannelLink:
    with runtime_of(app).database.sessions() as session:
        return session.scalars(select(ChannelLink)).one()


def slack_user_of(app: Flask, jira_account_id: str) -> str | None:
    with runtime_of(app).database.sessions() as session:
        return session.scalar(select(Member.slack_user_id).where(Member.jira_account_id == jira_account_id))


def add_jira_person(app: Flask, jira_account_id: str, email: str | None, name: str = "Someone") -> None:
    """A person the pipeline learnt of from Jira, with the email Jira revealed."""
    with runtime_of(app).database.transaction() as session:
        session.add(Member(jira_account_id=jira_account_id, email=email, display_name=name))


def users_info_calls(slack: SlackSender, user_id: str) -> int:
    return sum(1 for call in slack.standin.calls_to("users.info") if call.params.get("user") == user_id)


def team_challenges(app: Flask) -> list[str]:
    with runtime_of(app).database.sessions() as session:
        return list(session.scalars(select(ChallengeRow.title).where(ChallengeRow.member_id.is_(None))))


# Each admin-only action: its command, the refusal's words, and whether it was carried out.
ADMIN_ONLY: dict[str, tuple[str, str, Callable[[Flask], bool]]] = {
    "connect": (
        "connect billing",
        "Only workspace admins can connect a channel",
        lambda app: channel_link(app).team_id != 1,
    ),
    "digest": (
        "digest daily 09:30",
        "Only workspace admins can change a channel's digest schedule",
        lambda app: channel_link(app).schedule == "daily 09:30",
    ),
    "timezone": (
        "timezone Asia/Tokyo",
        "Only workspace admins can change a channel's time zone",
        lambda app: channel_link(app).timezone == "Asia/Tokyo",
    ),
    "live": (
        "live all",
        "Only workspace admins can turn live celebrations on or off",
        lambda app: channel_link(app).live == "all",
    ),
    "team challenge": (
        "challenge close 5 bugs this week",
        "Only workspace admins can start a team challenge",
        lambda app: bool(team_challenges(app)),
    ),
    "link someone else": (
        f"link <@{OTHER}|otto> acc-other",
        "Only workspace admins can link someone else's Jira account",
        lambda app: slack_user_of(app, "acc-other") == OTHER,
    ),
}


@pytest.fixture
def ready(slack_app: Flask, slack: SlackSender, linked: int, people: None) -> None:
    """Channel C111 celebrates ``payments`` (team 1); a second team, and Otto known from Jira."""
    assert linked == 1
    add_team(slack_app, slug="billing", name="Billing")
    add_jira_person(slack_app, "acc-other", "other@example.com", "Otto")


@pytest.mark.parametrize("action", list(ADMIN_ONLY))
def test_a_member_is_refused_every_admin_only_action(
    slack_app: Flask, slack: SlackSender, ready: None, action: str
) -> None:
    text, refusal, carried_out = ADMIN_ONLY[action]

    reply = sprintwins(slack_app, slack, text, user_id=MEMBER)

    assert refusal in reply
    assert "ask a Slack admin or owner of this workspace." in reply
    assert not carried_out(slack_app)


@pytest.mark.parametrize("who", [SLACK_ADMIN, SLACK_OWNER, NAMED])
@pytest.mark.parametrize("action", list(ADMIN_ONLY))
def test_slack_admins_owners_and_named_admins_may_do_every_admin_only_action(
    slack_app: Flask, slack: SlackSender, ready: None, action: str, who: str
) -> None:
    if who == NAMED:
        name_admin(slack_app, slack)
    text, _, carried_out = ADMIN_ONLY[action]

    reply = sprintwins(slack_app, slack, text, user_id=who)

    assert "Only workspace admins" not in reply
    assert carried_out(slack_app), reply


def test_named_admins_are_added_and_removed_only_by_admins(
    slack_app: Flask, slack: SlackSender, ready: None
) -> None:
    refused = sprintwins(slack_app, slack, f"admin add <@{MEMBER}>", user_id=MEMBER)
    assert "Only workspace admins can add or remove admins" in refused

    name_admin(slack_app, slack)  # by the primary owner
    assert "is already a Sprint Wins admin" in sprintwins(slack_app, slack, f"admin add <@{NAMED}>")
    # A named admin is an admin: they may name others, and change the channel.
    assert "is now a Sprint Wins admin" in sprintwins(
        slack_app, slack, f"admin add <@{OTHER}>", user_id=NAMED
    )
    sprintwins(slack_app, slack, "digest off", user_id=NAMED)
    assert channel_link(slack_app).schedule == "off"

    assert "Only workspace admins" in sprintwins(slack_app, slack, f"admin remove <@{NAMED}>", user_id=MEMBER)
    listed = sprintwins(slack_app, slack, "admin list", user_id=MEMBER)  # anyone may see who to ask
    assert f"<@{NAMED}>, <@{OTHER}>" in listed

    removed = sprintwins(slack_app, slack, f"admin remove <@{NAMED}>", user_id=SLACK_ADMIN)
    assert f"<@{NAMED}> is no longer a named Sprint Wins admin." in removed
    assert "Only workspace admins" in sprintwins(slack_app, slack, "digest weekly fri 16:00", user_id=NAMED)
    assert channel_link(slack_app).schedule == "off"
    with runtime_of(slack_app).database.sessions() as session:
        named = session.scalars(select(WorkspaceAdmin.user_id)).all()
    assert named == [OTHER]


def test_removing_a_slack_admin_says_they_stay_one_and_bots_are_never_named(
    slack_app: Flask, slack: SlackSender, ready: None
) -> None:
    answer = sprintwins(slack_app, slack, f"admin remove <@{SLACK_OWNER}>")
    assert (
        "wasn't a named Sprint Wins admin" in answer and "stay an admin as a Slack admin or owner" in answer
    )

    slack.standin.add_user("U0ROBOT", real_name="Robot", is_bot=True)
    assert "bots can't be Sprint Wins admins" in sprintwins(slack_app, slack, "admin add <@U0ROBOT>")
    assert "couldn't tell me who that is" in sprintwins(slack_app, slack, "admin add <@U0NOBODY>")
    with runtime_of(slack_app).database.sessions() as session:
        assert session.scalars(select(WorkspaceAdmin)).all() == []


def test_a_slack_role_is_asked_once_per_ttl(slack_app: Flask, slack: SlackSender, ready: None) -> None:
    sprintwins(slack_app, slack, "digest off", user_id=SLACK_ADMIN)
    sprintwins(slack_app, slack, "timezone Asia/Tokyo", user_id=SLACK_ADMIN)
    sprintwins(slack_app, slack, "live off", user_id=MEMBER)
    sprintwins(slack_app, slack, "live all", user_id=MEMBER)

    assert users_info_calls(slack, SLACK_ADMIN) == 1
    assert users_info_calls(slack, MEMBER) == 1
    assert channel_link(slack_app).timezone == "Asia/Tokyo" and channel_link(slack_app).live != "all"

    # Slack demotes the admin; once the TTL has passed, the next command asks again and refuses.
    slack.standin.add_user(SLACK_ADMIN, email="admin@example.com", real_name="Ada Admin")
    with runtime_of(slack_app).database.transaction() as session:
        session.execute(update(CachedSlackRole).values(checked_at=utcnow() - ROLE_TTL - timedelta(seconds=1)))

    assert "Only workspace admins" in sprintwins(slack_app, slack, "digest daily 09:00", user_id=SLACK_ADMIN)
    assert users_info_calls(slack, SLACK_ADMIN) == 2
    assert channel_link(slack_app).schedule == "off"


def test_connect_asks_slack_once_for_the_role_and_the_time_zone(
    slack_app: Flask, slack: SlackSender, ready: None
) -> None:
    sprintwins(slack_app, slack, "connect billing", user_id=SLACK_OWNER)

    assert users_info_calls(slack, SLACK_OWNER) == 1
    assert channel_link(slack_app).linked_by_user_id == SLACK_OWNER


def test_a_named_admin_is_not_asked_of_slack(slack_app: Flask, slack: SlackSender, ready: None) -> None:
    name_admin(slack_app, slack)
    slack.standin.reset()

    sprintwins(slack_app, slack, "digest off", user_id=NAMED)
    sprintwins(slack_app, slack, "live off", user_id=NAMED)

    assert users_info_calls(slack, NAMED) == 0


def test_when_slack_will_not_say_an_admin_is_asked_to_try_again(
    slack_app: Flask, slack: SlackSender, ready: None
) -> None:
    slack.standin.fail_next("users.info", status=503)

    assert sprintwins(slack_app, slack, "digest off", user_id=SLACK_ADMIN) == escape_mrkdwn(ROLE_UNCHECKED)
    assert channel_link(slack_app).schedule != "off"
    # Nothing was remembered from the failure: the next command asks again, and Slack answers.
    sprintwins(slack_app, slack, "digest off", user_id=SLACK_ADMIN)
    assert users_info_calls(slack, SLACK_ADMIN) == 2
    assert channel_link(slack_app).schedule == "off"


def test_a_refusal_names_a_few_admins_escaped(slack_app: Flask, slack: SlackSender, ready: None) -> None:
    hostile = {"U0EVE": "<!channel> Eve & *co*", "U0BEN": "Ben", "U0CY": "Cy", "U0DEE": "Dee", "U0ED": "Ed"}
    for user_id, name in hostile.items():
        slack.standin.add_user(user_id, name=name)
    name_admin(slack_app, slack, "U0EVE")

    one = sprintwins(slack_app, slack, "digest off", user_id=MEMBER)
    assert one == (
        "Only workspace admins can change a channel's digest schedule: "
        "ask @&lt;!channel&gt; Eve &amp; *co* (an admin), or a Slack admin or owner."
    )
    assert "<!channel>" not in one

    name_admin(slack_app, slack, "U0BEN")
    two = sprintwins(slack_app, slack, "connect billing", user_id=MEMBER)
    assert "connect a channel: ask @&lt;!channel&gt; Eve &amp; *co* or @Ben (admins), or a Slack" in two

    for user_id in ("U0CY", "U0DEE", "U0ED"):
        name_admin(slack_app, slack, user_id)
    many = sprintwins(slack_app, slack, "live all", user_id=MEMBER)
    assert "ask @&lt;!channel&gt; Eve &amp; *co*, @Ben, @Cy or one of 2 more (admins)" in many
    assert "Dee" not in many and "<!channel>" not in many


def test_a_personal_challenge_and_the_admin_list_are_for_everyone(
    slack_app: Flask, slack: SlackSender, ready: None
) -> None:
    assert "Your challenge is on" in sprintwins(
        slack_app, slack, "challenge me one small win a day for 5 days", user_id=MEMBER
    )
    listed = sprintwins(slack_app, slack, "admin list", user_id=MEMBER)
    assert "No one is named a Sprint Wins admin yet" in listed


def test_a_typo_in_admin_is_answered_in_the_acknowledgement(slack: SlackSender) -> None:
    answer = slack.command("/sprintwins", "admin promote @ann", user_id=MEMBER).get_data(as_text=True)
    assert "`/sprintwins admin add @someone`" in answer


def test_roles_on_postgres_with_rq(
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
    slack_standin.add_user(MEMBER, real_name="Mo Member")
    slack_standin.add_user(NAMED, name="Ann")
    add_team(app)
    sprintwins(app, slack, "connect payments")
    name_admin(app, slack)

    assert "ask @Ann (an admin)" in sprintwins(app, slack, "digest off", user_id=MEMBER)
    sprintwins(app, slack, "live off", user_id=MEMBER)
    sprintwins(app, slack, "digest daily 09:30", user_id=NAMED)

    assert channel_link(app).schedule == "daily 09:30"
    assert users_info_calls(slack, MEMBER) == 1
    with runtime_of(app).database.sessions() as session:
        remembered = {r.user_id: (r.is_admin, r.is_owner) for r in session.scalars(select(CachedSlackRole))}
    assert remembered == {USER: (True, True), NAMED: (False, False), MEMBER: (False, False)}


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"is_admin": True}, SlackRole(is_admin=True, is_owner=False)),
        ({"is_admin": True, "is_owner": True, "is_primary_owner": True}, SlackRole(True, True)),
        ({"is_primary_owner": True}, SlackRole(is_admin=False, is_owner=True)),
        (
            {"enterprise_user": {"is_admin": True, "is_owner": False}},
            SlackRole(True, False),
        ),  # Grid org admin
        ({"is_admin": True, "deleted": True}, SlackRole(False, False)),
        ({"is_owner": True, "is_restricted": True}, SlackRole(False, False)),  # a guest
        ({}, SlackRole(False, False)),
    ],
)
def test_users_info_flags_become_a_role(user: dict[str, object], expected: SlackRole) -> None:
    assert role_of({"id": "U0X", **user}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("admin", AdminCommand(AdminAction.LIST)),
        ("admin list", AdminCommand(AdminAction.LIST)),
        ("admins", AdminCommand(AdminAction.LIST)),
        ("admin add <@U0ANN|ann>", AdminCommand(AdminAction.ADD, "U0ANN")),
        ("Admin Remove <@W0BEN>", AdminCommand(AdminAction.REMOVE, "W0BEN")),
        ("admin rm <@U0ANN>", AdminCommand(AdminAction.REMOVE, "U0ANN")),
    ],
)
def test_admin_commands_are_parsed(text: str, expected: AdminCommand) -> None:
    assert parse_sprintwins(text) == expected


@pytest.mark.parametrize(
    "text", ["admin add", "admin add ann", "admin add <@U0ANN> <@U0BEN>", "admin list me"]
)
def test_admin_command_mistakes_say_how(text: str) -> None:
    with pytest.raises(CommandError, match="/sprintwins admin"):
        parse_sprintwins(text)


@pytest.mark.parametrize(
    ("text", "admins_only"),
    [
        ("connect payments", "connect a channel"),
        ("digest off", "change a channel's digest schedule"),
        ("timezone Europe/Berlin", "change a channel's time zone"),
        ("live milestones", "turn live celebrations on or off"),
        ("challenge close 5 bugs this week", "start a team challenge"),
        ("challenge me one small win a day for 5 days", None),
        (f"link <@{OTHER}> acc-other", "link someone else's Jira account"),
        (f"link <@{MEMBER}> acc-member", None),
        ("admin add <@U0ANN>", "add or remove admins"),
        ("admin list", None),
        ("help", None),
    ],
)
def test_which_commands_are_for_admins(text: str, admins_only: str | None) -> None:
    assert admin_only_action(parse_sprintwins(text), MEMBER) == admins_only
