"""Linking Slack people to Jira accounts through ``/sprintwins link``: a member links only the account
with their own email, an admin links anyone, and nobody takes over someone else's identity and wins."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from service.models import Member, Win
from service.web.extensions import runtime_of
from tests.jobs.helpers import run_jobs
from tests.web.slack.conftest import WORKSPACE, SlackSender
from tests.web.slack.test_roles import (
    MEMBER,
    OTHER,
    SLACK_ADMIN,
    add_jira_person,
    name_admin,
    slack_user_of,
    sprintwins,
)
from tests.web.slack.test_roles import people as people
from tests.web.slack.test_roles import ready as ready


def test_linking_yourself_to_the_jira_account_with_your_email(
    slack_app: Flask, slack: SlackSender, ready: None
) -> None:
    add_jira_person(slack_app, "acc-member", "Member@Example.com", "Mo")  # as Jira spelt it

    reply = sprintwins(slack_app, slack, f"link <@{MEMBER}|mo> acc-member", user_id=MEMBER)

    assert "is now linked to Jira account `acc-member`" in reply
    assert slack_user_of(slack_app, "acc-member") == MEMBER


def test_linking_yourself_by_your_own_email(slack_app: Flask, slack: SlackSender, ready: None) -> None:
    add_jira_person(slack_app, "acc-member", "member@example.com", "Mo")

    reply = sprintwins(slack_app, slack, f"link <@{MEMBER}> member@example.com", user_id=MEMBER)

    assert "is now linked" in reply
    assert slack_user_of(slack_app, "acc-member") == MEMBER


@pytest.mark.parametrize(
    "ref",
    [
        "other@example.com",  # someone else's email
        "acc-other",  # an account Jira knows with someone else's email
        "acc-unknown",  # an account Jira never showed: nothing proves it is theirs
    ],
)
def test_linking_yourself_to_an_account_with_another_email_is_refused(
    slack_app: Flask, slack: SlackSender, ready: None, ref: str
) -> None:
    name_admin(slack_app, slack)

    reply = sprintwins(slack_app, slack, f"link <@{MEMBER}> {ref}", user_id=MEMBER)

    assert "same email as your Slack profile" in reply
    assert "ask @Ann (an admin), or a Slack admin or owner." in reply
    assert slack_user_of(slack_app, "acc-other") is None
    assert slack_user_of(slack_app, "acc-unknown") is None
    with runtime_of(slack_app).database.sessions() as session:
        assert session.scalar(select(Member.id).where(Member.slack_user_id == MEMBER)) is None


def test_an_admin_links_anyone_and_themselves_to_any_account(
    slack_app: Flask, slack: SlackSender, ready: None
) -> None:
    add_jira_person(slack_app, "acc-ada", "ada@elsewhere.io", "Ada")

    assert "is now linked" in sprintwins(
        slack_app, slack, f"link <@{SLACK_ADMIN}> acc-ada", user_id=SLACK_ADMIN
    )
    assert "is now linked" in sprintwins(slack_app, slack, f"link <@{MEMBER}> acc-other", user_id=SLACK_ADMIN)

    assert slack_user_of(slack_app, "acc-ada") == SLACK_ADMIN
    assert slack_user_of(slack_app, "acc-other") == MEMBER


def test_a_member_cannot_take_over_someone_elses_identity_and_wins(
    slack_app: Flask, slack: SlackSender, ready: None
) -> None:
    """What was possible before: ``link @me <their account id>`` moved their identity and wins."""
    with runtime_of(slack_app).database.transaction() as session:
        other = session.scalars(select(Member).where(Member.jira_account_id == "acc-other")).one()
        other.slack_team_id, other.slack_user_id = WORKSPACE, OTHER
    slack.command("/win", "shipped the importer", user_id=OTHER)
    run_jobs(slack_app)

    sprintwins(slack_app, slack, f"link <@{OTHER}> acc-other", user_id=MEMBER)
    sprintwins(slack_app, slack, f"link <@{MEMBER}> acc-other", user_id=MEMBER)

    assert slack_user_of(slack_app, "acc-other") == OTHER
    with runtime_of(slack_app).database.sessions() as session:
        owners = session.scalars(
            select(Member.slack_user_id).join(Win, Win.member_id == Member.id).where(Win.source != "engine")
        ).all()
    assert owners == [OTHER]
