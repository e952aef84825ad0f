"""Cheers in App Home: counted per win from the reactions on our posts, shown beside each win."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import select

from integrations.slack.views import HomeData, HomeWin, home_view
from service.models import SlackPost, Win
from service.slack import home
from service.web.extensions import runtime_of
from service.wins.cheers import record_cheer
from tests.celebrations.conftest import just_now
from tests.digests.conftest import WORKSPACE, Seed


def test_home_counts_the_cheers_of_each_win_from_reactions_on_our_posts(slack_app: Flask, seed: Seed) -> None:
    team_id = seed.team()
    cheered, ignored = seed.win(team_id, "Shipped search", just_now()), seed.win(team_id, "Quiet", just_now())
    database = runtime_of(slack_app).database
    with database.transaction() as session:
        session.add(
            SlackPost(slack_team_id=WORKSPACE, channel_id="C0WINS", ts="1700000000.000100", win_id=cheered)
        )
    with database.transaction() as session:
        for user, emoji in (("U1", "tada"), ("U2", "tada"), ("U1", "heart")):
            record_cheer(session, WORKSPACE, "C0WINS", "1700000000.000100", user, emoji, added=True)
        record_cheer(session, WORKSPACE, "C0WINS", "1700000000.000100", "U1", "tada", added=True)  # again
        assert record_cheer(session, WORKSPACE, "C0WINS", "1.2", "U1", "tada", added=True) is None

    with database.sessions() as session:
        wins = list(session.scalars(select(Win).order_by(Win.id)))
        assert home.cheers_on(session, wins) == {cheered: 3}
        assert ignored not in home.cheers_on(session, wins)


def test_app_home_shows_cheers_beside_a_win() -> None:
    view = home_view(
        HomeData(
            known=True, sharing=True, week=[HomeWin("Shipped search", None, 3, cheers=4), HomeWin("Quiet")]
        )
    )

    shown = json.dumps(view["blocks"])
    assert "Shipped search \\u00b7 3 pts \\u00b7 4 :raised_hands:" in shown
    assert shown.count(":raised_hands:") == 1  # a win nobody cheered shows no count
