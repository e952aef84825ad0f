"""An install from before workspaces: the Slack team whose channels are in the implicit workspace keeps it."""

from __future__ import annotations

import pytest

from service.models import DEFAULT_WORKSPACE_ID, Member
from service.models.slack import ChannelLink
from service.teams.registry import create_team
from service.web.extensions import runtime_of
from service.workspaces.registry import workspace_for_slack
from tests.conftest import AppFactory


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_slack_team_linked_before_workspaces_takes_over_the_implicit_workspace(
    make_app: AppFactory, backend: str
) -> None:
    app = make_app(backend)
    with runtime_of(app).database.transaction() as session:
        team = create_team(session, "orb", "Orb")
        session.add(
            ChannelLink(team_id=team.id, slack_team_id="T0ACME", channel_id="C0WINS", linked_by_user_id="U0A")
        )

    with runtime_of(app).database.transaction() as session:
        stranger = workspace_for_slack(session, "T0GLOBEX")  # nothing of its own here: a new workspace
        acme = workspace_for_slack(session, "T0ACME", "E0ACME")
        again = workspace_for_slack(session, "T0ACME")
        ids = (stranger.id, acme.id, again.id, acme.slack_team_id, acme.slack_enterprise_id)

    assert ids == (ids[0], DEFAULT_WORKSPACE_ID, DEFAULT_WORKSPACE_ID, "T0ACME", "E0ACME")
    assert ids[0] != DEFAULT_WORKSPACE_ID


def test_people_of_the_slack_team_are_enough_and_only_one_team_takes_it(make_app: AppFactory) -> None:
    app = make_app("sqlite")
    with runtime_of(app).database.transaction() as session:
        session.add(Member(slack_team_id="T0ACME", slack_user_id="U0ALICE", display_name="Alice"))
        session.add(Member(slack_team_id="T0INITECH", slack_user_id="U0BOB", display_name="Bob"))

    with runtime_of(app).database.transaction() as session:
        acme = workspace_for_slack(session, "T0ACME").id
        initech = workspace_for_slack(session, "T0INITECH").id

    assert acme == DEFAULT_WORKSPACE_ID
    assert initech != DEFAULT_WORKSPACE_ID  # the implicit workspace has a Slack team now
