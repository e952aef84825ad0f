"""/api/v1/teams/<slug>/{rules,challenges,streaks} over wins recorded by the real pipeline."""

from __future__ import annotations

from flask import Flask

from jobs.progress import update_progress
from tests.jobs.helpers import run_jobs
from tests.progress.conftest import TODAY, day, deliver, opt_out, resolved, team_ids


def test_rules_round_trip_and_validation(progress_app: Flask) -> None:
    deliver(progress_app, [resolved("TES-1", day(0))])
    client = progress_app.test_client()
    got = client.get("/api/v1/teams/tes/rules")
    assert got.status_code == 200 and got.json["stored"] == {} and got.json["rules"]["count_subtasks"] is True
    bad = client.put(
        "/api/v1/teams/tes/rules",
        json={"min_points": "lots", "enabled_streaks": ["member", "galaxy"], "typo": 1},
    )
    assert bad.status_code == 400
    assert bad.json["error"] == "invalid team rules"
    assert len(bad.json["problems"]) == 3
    assert any(p.startswith("min_points:") for p in bad.json["problems"])
    assert any("'galaxy'" in p for p in bad.json["problems"])
    assert any("unknown setting 'typo'" in p for p in bad.json["problems"])
    assert client.put("/api/v1/teams/tes/rules", json=["not", "a", "mapping"]).status_code == 400
    assert client.get("/api/v1/teams/tes/rules").json["stored"] == {}
    ok = client.put("/api/v1/teams/tes/rules", json={"issue_types": ["Bug"], "enabled_streaks": ["team"]})
    assert ok.status_code == 200
    assert ok.json["stored"] == {"enabled_streaks": ["team"], "issue_types": ["bug"]}
    assert client.get("/api/v1/teams/nope/rules").status_code == 404
    run_jobs(progress_app)  # the recompute the PUT enqueued: Ada's story no longer counts
    from tests.progress.conftest import engine_wins

    assert [w for w in engine_wins(progress_app) if w.kind == "badge"] == []


def test_challenges_post_and_progress(progress_app: Flask) -> None:
    deliver(progress_app, [resolved("TES-1", day(0))])
    client = progress_app.test_client()
    created = client.post("/api/v1/teams/tes/challenges", json={"spec": "one small win a day for 2 days"})
    assert created.status_code == 201, created.json
    assert created.json["metric"] == "daily_wins" and created.json["member"] is None
    for body, message in [
        ({"spec": "be great"}, "can't read"),
        ({"spec": ""}, '"spec"'),
        ({"spec": "5 wins by fri", "member_id": "ada"}, '"member_id"'),
        ({"spec": "5 wins by fri", "member_id": 999}, "no member with id 999"),
    ]:
        refused = client.post("/api/v1/teams/tes/challenges", json=body)
        assert refused.status_code == 400 and message in refused.json["error"], refused.json
    assert client.post("/api/v1/teams/nope/challenges", json={"spec": "5 wins by fri"}).status_code == 404
    run_jobs(progress_app)
    [listed] = client.get("/api/v1/teams/tes/challenges").json["challenges"]
    assert listed["id"] == created.json["id"] and listed["target"] == 2


def test_streaks_never_name_people_who_opted_out(progress_app: Flask) -> None:
    deliver(
        progress_app,
        [
            *(resolved(f"TES-{n}", day(d)) for n, d in enumerate([0, 1, 2], start=1)),
            resolved("TES-9", day(1), ("acc-bob", "Bob")),
        ],
    )
    opt_out(progress_app, "acc-ada")
    update_progress(team_ids(progress_app), TODAY)
    body = progress_app.test_client().get("/api/v1/teams/tes/streaks").json
    assert body["team"]["best"] == 3
    assert [(m["member"], m["best"]) for m in body["members"]] == [
        ({"id": None, "name": None, "anonymous": True}, 3),
        ({"id": body["members"][1]["member"]["id"], "name": "Bob", "anonymous": False}, 1),
    ]
    assert "Ada" not in progress_app.test_client().get("/api/v1/teams/tes/streaks").get_data(as_text=True)
