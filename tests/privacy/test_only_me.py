""" "Only me" wins reach nobody but their owner; people who opted out are never named by the API."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import update

from service.domain.wins import WinDraft, WinKind, WinSource, WinVisibility
from service.models import Member
from service.web.extensions import runtime_of
from service.wins.record import record_win
from tests.progress.conftest import cli, day, deliver, member_id, opt_out, resolved, sprint_started, team_id

PRIVATE_TITLE = "Told my manager about burnout"


def _wins_with_a_private_one(app: Flask) -> int:
    deliver(
        app,
        [
            sprint_started(),
            resolved("TES-1", day(0), ("acc-ada", "Ada Lovelace")),
            resolved("TES-2", day(1), ("acc-bob", "Bob")),
        ],
    )
    ada = member_id(app, "acc-ada")
    with runtime_of(app).database.transaction() as session:
        win_id, _ = record_win(
            session,
            WinDraft(
                WinKind.MANUAL,
                WinSource.SLACK,
                "trig-private",
                PRIVATE_TITLE,
                datetime(2026, 11, 11, tzinfo=UTC),
            ),
            team_id=team_id(app),
            member_id=ada,
            visibility=WinVisibility.PRIVATE,
        )
    return win_id


def _all_pages(app: Flask, query: str = "") -> list[dict[str, object]]:
    client = app.test_client()
    wins: list[dict[str, object]] = []
    url = f"/api/v1/teams/tes/wins?limit=2{query}"
    while True:
        answer = client.get(url)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        page = answer.get_json()
        wins += page["wins"]
        if page["next_cursor"] is None:
            return wins
        url = f"/api/v1/teams/tes/wins?limit=2{query}&cursor={page['next_cursor']}"


def test_only_me_wins_never_leave_the_api(progress_app: Flask) -> None:
    private_id = _wins_with_a_private_one(progress_app)
    wins = _all_pages(progress_app)
    assert private_id not in {w["id"] for w in wins}
    assert {w["source_key"] for w in wins if w["kind"] == "ticket"} == {"TES-1", "TES-2"}
    # Filtered by the owner or by kind, the private win stays out too.
    assert private_id not in {w["id"] for w in _all_pages(progress_app, "&member=acc-ada&kind=manual")}
    assert PRIVATE_TITLE not in cli(progress_app, "digest", "preview", "tes", "--period", "sprint").output
    # The owner still has it: their own export holds every win of theirs.
    exported = json.loads(
        cli(progress_app, "member", "export", str(member_id(progress_app, "acc-ada"))).output
    )
    assert PRIVATE_TITLE in {w["title"] for w in exported["wins"]}


def test_opted_out_people_are_never_named_or_picked_out(progress_app: Flask) -> None:
    _wins_with_a_private_one(progress_app)
    opt_out(progress_app, "acc-ada")
    wins = _all_pages(progress_app)
    tickets = json.dumps([w for w in wins if w["kind"] == "ticket"])
    assert "Ada" not in tickets and "acc-ada" not in tickets
    anonymous = [w for w in wins if w["source_key"] == "TES-1"]
    assert anonymous and anonymous[0]["member"] == {"id": None, "name": None, "anonymous": True}
    # Her wins still count in the team's list, but no filter tells which ones are hers.
    assert _all_pages(progress_app, "&member=acc-ada") == []
    assert {
        w["source_key"] for w in _all_pages(progress_app, "&member=acc-bob") if w["kind"] == "ticket"
    } == {"TES-2"}
    preview = cli(progress_app, "digest", "preview", "tes", "--period", "sprint").output
    assert "Ada" not in preview and "a teammate" in preview


def test_an_export_names_nobody_who_opted_out(progress_app: Flask) -> None:
    _wins_with_a_private_one(progress_app)
    ada, bob = member_id(progress_app, "acc-ada"), member_id(progress_app, "acc-bob")
    with runtime_of(progress_app).database.transaction() as session:
        session.execute(
            update(Member).where(Member.id == bob).values(slack_user_id="UBOB", slack_team_id="T1")
        )
        at = datetime(2026, 11, 12, tzinfo=UTC)
        for key, giver, receiver, title in (
            ("k-1", (ada, "Ada Lovelace"), bob, "<@UBOB> fixed the build, thanks Bob"),
            ("k-2", (bob, "Bob"), ada, "Ada unblocked the release"),
        ):
            record_win(
                session,
                WinDraft(
                    WinKind.KUDOS,
                    WinSource.SLACK,
                    key,
                    title,
                    at,
                    details={"kudos_from": {"member_id": giver[0], "name": giver[1]}},
                ),
                team_id=team_id(progress_app),
                member_id=receiver,
            )
    opt_out(progress_app, "acc-bob")
    exported = json.loads(cli(progress_app, "member", "export", str(ada)).output)
    # Her own data, her own name: all there.
    assert exported["member"]["display_name"] == "Ada Lovelace"
    # Bob opted out: neither the kudos she gave him nor the one he gave her says who he is.
    [given] = exported["kudos_given"]
    assert given["member_id"] is None and given["title"] == "a teammate fixed the build, thanks a teammate"
    [received] = [w for w in exported["wins"] if w["kind"] == "kudos"]
    assert received["details"]["kudos_from"] == {
        "member_id": None,
        "slack_user_id": None,
        "name": "a teammate",
    }
    text = json.dumps(exported)
    assert "Bob" not in text and "UBOB" not in text and "acc-bob" not in text
