"""``sprintwins inbox failed|retry`` on a real SQLite inbox, fed through the signed endpoint."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select, update

from service.cli.main import main
from service.models import InboundEvent, InboxState
from service.web.extensions import runtime_of
from tests.conftest import AppFactory, post_jira
from tests.jobs.helpers import issue_payload, run_jobs, wins

T0 = 1_763_900_000_000
RESOLVED = "webhook-issue-updated-resolved.json"


def _cli(database_url: str, *args: str) -> str:
    env = {"SPRINTWINS_DATABASE_URL": database_url, "SPRINTWINS_REDIS_URL": ""}
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_failed_lists_the_parked_row_and_retry_records_it_once(make_app: AppFactory) -> None:
    app = make_app("sqlite")
    url = runtime_of(app).settings.database_url
    client = app.test_client()
    poison = issue_payload(RESOLVED, key="BAD-1", timestamp=T0)
    poison["issue"]["key"] = "K" * 30 + "-" + "1" * 40  # longer than any issue key: parked
    good = issue_payload(RESOLVED, key="FIX-1", timestamp=T0, assignee=("acc-ada", "Ada"))
    for delivery_id, payload in [("poison", poison), ("good", good)]:
        assert post_jira(client, payload, delivery_id=delivery_id).status_code == 202
    run_jobs(app)
    # A row parked by an earlier release's bug: the good delivery stands in for it.
    with runtime_of(app).database.transaction() as session:
        session.execute(
            update(InboundEvent)
            .where(InboundEvent.delivery_id == "good")
            .values(state=InboxState.FAILED, error="an earlier release could not parse this")
        )
        session.execute(update(InboundEvent).values(attempts=1))
    assert [w.source_key for w in wins(app, "ticket")].count("FIX-1") == 1

    listing = _cli(url, "inbox", "failed")
    assert "an earlier release could not parse this" in listing and " good" in listing
    assert "no failed deliveries" not in listing

    with runtime_of(app).database.sessions() as session:
        good_id = session.scalar(select(InboundEvent.id).where(InboundEvent.delivery_id == "good"))
    assert "1 failed deliveries returned" in _cli(url, "inbox", "retry", str(good_id))

    with runtime_of(app).database.sessions() as session:
        rows = {r.delivery_id: r for r in session.scalars(select(InboundEvent))}
    assert rows["good"].state == InboxState.PROCESSED and rows["good"].error is None
    assert [w.source_key for w in wins(app, "ticket")].count("FIX-1") == 1  # worked again, not doubled
    assert rows["poison"].state == InboxState.FAILED  # not named, not moved

    # Retrying what is still malformed parks it again, on its first attempt.
    assert "1 failed deliveries returned" in _cli(url, "inbox", "retry", "--all")
    with runtime_of(app).database.sessions() as session:
        again = session.scalars(select(InboundEvent).where(InboundEvent.delivery_id == "poison")).one()
    assert again.state == InboxState.FAILED and again.attempts <= 1
    assert "issue.key is longer than 64" in (again.error or "")


def test_retry_wants_ids_or_all(make_app: AppFactory) -> None:
    app = make_app("sqlite")
    env = {"SPRINTWINS_DATABASE_URL": runtime_of(app).settings.database_url, "SPRINTWINS_REDIS_URL": ""}
    result = CliRunner().invoke(main, ["inbox", "retry"], env=env)
    assert result.exit_code == 2 and "--all" in result.output
    assert "0 failed deliveries returned" in _cli(env["SPRINTWINS_DATABASE_URL"], "inbox", "retry", "--all")
