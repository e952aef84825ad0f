"""App Home self-service in a workspace of its own: "Download my data" arrives as a file in the
person's DM, once; "Forget me", once confirmed, forgets that person only, only in their workspace."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import JSON, String, select

from integrations.slack import views
from jobs.slack_self_service import forget_me, send_my_data
from service.models import Member, Win
from service.models.base import Base
from service.web.extensions import runtime_of
from tests.jobs.helpers import run_jobs
from tests.standins.slack_api import SlackStandIn
from tests.web.slack.conftest import eventually, load_json
from tests.workspaces.test_slack_workspaces import (
    EMAIL,
    NAME,
    OWNER,
    A,
    B,
    TwoWorkspaces,
    connected,
    two_workspaces,
)
from tests.workspaces.test_slack_workspaces import backend as backend
from tests.workspaces.test_slack_workspaces import standin as standin
from tests.workspaces.test_slack_workspaces import two as two

CLICKED_AT = "1700000000.000100"


def home_button(action_id: str, trigger_id: str = "A.home.trigger") -> dict[str, Any]:
    """A click on one of App Home's buttons: the corpus block action, from the Home tab."""
    payload = copy.deepcopy(load_json("block_actions.json"))
    for not_in_home in ("channel", "response_url"):
        payload.pop(not_in_home, None)
    payload["container"] = {"type": "view", "view_id": "V0HOME"}
    payload["trigger_id"] = trigger_id
    payload["actions"] = [
        {
            "action_id": action_id,
            "block_id": views.MY_DATA_BLOCK_ID,
            "type": "button",
            "action_ts": CLICKED_AT,
        }
    ]
    return payload


def submitted(modal: dict[str, Any]) -> dict[str, Any]:
    """The corpus view submission, for the modal the stand-in opened."""
    payload = copy.deepcopy(load_json("view_submission.json"))
    payload["view"] = {
        "id": modal["id"],
        "type": "modal",
        "callback_id": modal["callback_id"],
        "private_metadata": modal["private_metadata"],
        "state": {"values": {}},
    }
    return payload


def wins_with_titles(two: TwoWorkspaces) -> None:
    connected(two)
    two.command(A, "/win", f"{NAME} fixed the A build")
    two.command(B, "/win", f"{NAME} demoed the B thing")
    run_jobs(two.app)
    two.standin.reset()


def stored_text(app: Flask) -> Iterator[tuple[str, str]]:
    """(table, text) for every string and JSON value in the database."""
    with runtime_of(app).database.sessions() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | JSON)]
            for row in session.execute(select(*columns)) if columns else []:
                for value in row:
                    if value is not None:
                        yield table.name, value if isinstance(value, str) else json.dumps(value)


def test_download_my_data_sends_the_persons_export_once_as_a_file_in_their_dm(two: TwoWorkspaces) -> None:
    wins_with_titles(two)

    for _ in range(2):  # a click delivered twice is one request
        assert two.interaction(A, home_button(views.EXPORT_ACTION_ID)).status_code == 200
    [sent] = eventually(two.app, lambda: two.standin.uploaded_files())
    run_jobs(two.app)

    assert sent["channel"] == "D" + OWNER[A][1:]  # the DM with the person who clicked
    export = json.loads(sent["content"])
    assert export["member"]["slack_user_id"] == OWNER[A] and export["member"]["email"] == EMAIL[A]
    titles = [win["title"] for win in export["wins"]]
    assert f"{NAME} fixed the A build" in titles and f"{NAME} demoed the B thing" not in titles
    [upload] = two.standin.calls_to("files.getUploadURLExternal")
    assert upload.headers["Authorization"] == f"Bearer xoxb-{A}-0001-standinbot"
    home = json.dumps(eventually(two.app, lambda: two.standin.published_views().get(OWNER[A])))
    assert "Your data is in a direct message" in home

    # A retried job finds the file it sent in the DM and sends nothing again.
    again = send_my_data(A, None, OWNER[A], CLICKED_AT)
    assert again["state"] == "already_sent"
    assert len(two.standin.uploaded_files()) == 1


@pytest.fixture
def two_on_rq(
    make_app: Callable[..., Flask], standin: SlackStandIn, redis_url: str
) -> Iterator[TwoWorkspaces]:
    yield from two_workspaces(make_app, standin, "sqlite", redis=redis_url)


def test_through_rq_a_redelivered_click_and_a_retried_job_send_one_file(two_on_rq: TwoWorkspaces) -> None:
    two = two_on_rq
    wins_with_titles(two)

    for _ in range(2):
        assert two.interaction(A, home_button(views.EXPORT_ACTION_ID)).status_code == 200
    eventually(two.app, lambda: two.standin.uploaded_files())
    runtime_of(two.app).queue.enqueue(send_my_data, A, None, OWNER[A], CLICKED_AT)  # as RQ retries it
    run_jobs(two.app)

    [sent] = two.standin.uploaded_files()
    assert json.loads(sent["content"])["member"]["slack_user_id"] == OWNER[A]


def test_download_my_data_for_someone_never_seen_sends_nothing(two: TwoWorkspaces) -> None:
    two.standin.add_user("UA0NEW", name="New Person")

    assert send_my_data(A, None, "UA0NEW", CLICKED_AT) == {"state": "nothing_held"}
    assert two.standin.uploaded_files() == []
    assert "nothing to download" in json.dumps(two.standin.published_views()["UA0NEW"])


def test_forget_me_after_confirmation_forgets_the_person_in_their_workspace_only(two: TwoWorkspaces) -> None:
    wins_with_titles(two)

    assert two.interaction(A, home_button(views.FORGET_ACTION_ID)).status_code == 200
    [modal] = eventually(two.app, lambda: two.standin.opened_views())
    assert modal["callback_id"] == views.FORGET_VIEW_CALLBACK_ID
    assert two.rows(Member, Member.slack_user_id == OWNER[A])  # opening the modal forgets nobody

    # Only the person who asked may confirm.
    assert two.interaction(A, submitted(modal), user="UA0OTHER").status_code == 200
    run_jobs(two.app)
    assert two.rows(Member, Member.slack_user_id == OWNER[A])

    assert two.interaction(A, submitted(modal)).status_code == 200
    eventually(two.app, lambda: not two.rows(Member, Member.slack_user_id == OWNER[A]))

    # Not a trace of them is left; their namesake in the other workspace keeps their name and text.
    for trace in (EMAIL[A], OWNER[A]):
        assert [table for table, text in stored_text(two.app) if trace.lower() in text.lower()] == []
    named = {table for table, text in stored_text(two.app) if NAME.lower() in text.lower()}
    assert named == {"members", "wins"}
    [namesake] = two.rows(Member, Member.display_name == NAME)
    assert namesake.workspace_id == two.workspace_id(B)
    titles = {win.team_id: win.title for win in two.rows(Win, Win.source != "engine")}
    assert titles == {
        two.team(A).id: "a teammate fixed the A build",
        two.team(B).id: f"{NAME} demoed the B thing",
    }
    home = json.dumps(eventually(two.app, lambda: two.standin.published_views().get(OWNER[A])))
    assert "I have forgotten you" in home

    # A retried job finds nobody left to forget.
    assert forget_me(A, None, OWNER[A]) == {"forgotten": False}
