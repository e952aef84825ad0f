"""Nothing lost when Redis is away or a worker dies: the inbox holds the work and the sweeper returns it."""

from __future__ import annotations

from jobs import runtime as job_runtime
from jobs.inbox import sweep_inbox
from jobs.worker import run_worker
from service.settings import Settings
from service.web.extensions import runtime_of
from tests.conftest import AppFactory, post_jira
from tests.jobs.helpers import inbox_states, issue_payload, run_jobs, wins

T0 = 1_763_900_000_000
RESOLVED = "webhook-issue-updated-resolved.json"


def test_intake_while_redis_is_down_then_recovery(
    make_app: AppFactory, redis_url: str, postgres_url: str
) -> None:
    down = make_app("postgres", redis="redis://127.0.0.1:1/0")  # nothing listens on port 1
    client = down.test_client()
    for n in range(3):
        response = post_jira(
            client, issue_payload(RESOLVED, key=f"TES-{n}", timestamp=T0 + n), delivery_id=f"d{n}"
        )
        assert response.status_code == 202 and response.json["status"] == "accepted"
    assert inbox_states(down) == ["pending"] * 3
    assert wins(down) == []

    # Redis is back: a worker starts, sweeps the inbox at start-up and drains it.
    settings = runtime_of(down).settings.replace(redis_url=redis_url)
    run_worker(settings, burst=True)
    assert inbox_states(down) == ["processed"] * 3
    assert len(wins(down)) == 3


def test_periodic_sweep_recovers_rows_a_crashed_worker_left(make_app: AppFactory, redis_url: str) -> None:
    app = make_app("postgres", redis=redis_url)
    client = app.test_client()
    post_jira(client, issue_payload(RESOLVED, timestamp=T0), delivery_id="lost")
    # The worker died before taking the job: the queue lost it, the inbox did not.
    runtime_of(app).queue.redis.flushdb()  # type: ignore[attr-defined]
    assert inbox_states(app) == ["pending"]
    assert sweep_inbox() == {"pending": 1, "batches": 1}
    run_jobs(app)
    assert inbox_states(app) == ["processed"]
    assert [w.status for w in wins(app)] == ["active"]


def test_processing_twice_changes_nothing(make_app: AppFactory, redis_url: str) -> None:
    """A job retried after it committed (the ack was lost) finds its rows processed and does nothing."""
    from jobs.inbox import process_inbox

    app = make_app("postgres", redis=redis_url)
    post_jira(app.test_client(), issue_payload(RESOLVED, timestamp=T0), delivery_id="once")
    run_jobs(app)
    before = [(w.id, w.status, w.updated_at) for w in wins(app)]
    assert process_inbox([1], False)["rows"] == 0
    assert [(w.id, w.status, w.updated_at) for w in wins(app)] == before


def test_embedded_mode_sweeps_on_start(make_app: AppFactory) -> None:
    app = make_app("sqlite")
    settings: Settings = runtime_of(app).settings
    # Store a delivery without running its job, as if the process died right after the ack.
    from service.intake import inbox

    with runtime_of(app).database.transaction() as session:
        inbox.store_delivery(
            session,
            inbox.Delivery(
                "jira",
                "crash",
                "jira:issue_updated",
                __import__("json").dumps(issue_payload(RESOLVED, timestamp=T0)),
                T0,
            ),
        )
    job_runtime.install(job_runtime.Runtime.from_settings(settings))
    assert sweep_inbox()["pending"] == 1
    assert job_runtime.current().queue.wait_idle(30)  # type: ignore[attr-defined]
    assert inbox_states(app) == ["processed"]


def test_issue_held_by_another_batch_is_deferred_not_waited_on(make_app: AppFactory, redis_url: str) -> None:
    """Two workers never queue behind each other: rows for an issue another batch holds stay pending."""
    from service.domain.events import IssueChanged
    from service.intake.recorder import EventRecorder

    app = make_app("postgres", redis=redis_url)
    rt = runtime_of(app)
    reopened = issue_payload("webhook-issue-updated-reopened.json", timestamp=T0 + 10)
    post_jira(app.test_client(), reopened, delivery_id="later")
    other_worker = rt.database.sessions()
    other_worker.begin()
    from integrations.jira.parse import parse_event
    from tests.conftest import load_jira

    held = parse_event(load_jira(RESOLVED), received_at_ms=0)
    assert isinstance(held, IssueChanged)
    assert EventRecorder(other_worker).record([held]).deferred_issue_keys == set()  # it holds TES-41 now

    from jobs.inbox import process_inbox

    result = process_inbox([], True)
    assert result["deferred"] == 1 and result["rows"] == 0
    assert inbox_states(app) == ["pending"]

    other_worker.commit()
    other_worker.close()
    run_jobs(app)  # the drain job requested for the deferred row
    assert inbox_states(app) == ["processed"]
    [win] = wins(app)
    assert win.status == "retracted"  # the later reopen, applied after the held completion
