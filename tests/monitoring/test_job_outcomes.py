"""Job outcomes: success, partial (work left for a later run), failed — the rule, the
daily check with one contract failing, the catch-up, and how runs are shown (CLI, API,
administration page)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from typer.testing import CliRunner

from suivi.commitments.models import Commitment
from suivi.contract.models import Contract
from suivi.db import dispose_engines
from suivi.indicators.models import Indicator
from suivi.jobs import JobResult
from suivi.monitoring.models import Alert
from suivi.monitoring.models import JobRun
from suivi.scheduler import jobs_to_catch_up
from suivi.scheduler import run_job
from tests.support.api_clients import client_for
from tests.support.api_clients import login
from tests.support.contracts import add_contract
from tests.support.databases import DEMO_AS_OF
from tests.support.scheduler import catch_up_settings
from tests.support.scheduler import paris
from tests.support.scheduler import record_run


@pytest.mark.parametrize(
    ("result", "outcome"),
    [
        (JobResult({}), "success"),
        (JobResult({}, done=3), "success"),
        (JobResult({}, done=2, failed=1), "partial"),
        (JobResult({}, unfinished=4), "partial"),  # SMTP down: every email pending
        (JobResult({}, failed=1, unfinished=1), "partial"),
        (JobResult({}, failed=2), "failed"),  # nothing done, nothing left to retry
    ],
)
def test_the_outcome_rule(result, outcome):
    assert result.outcome == outcome


def second_contract(db) -> tuple[int, int]:
    """Half of the demo commitments (and their indicators) moved to a second contract.
    Returns (demo contract id, second contract id)."""
    with db.session() as session:
        demo_id = session.execute(select(Contract.id)).scalar_one()
        other = add_contract(session, name="Contrat voisin")
        ids = list(session.execute(select(Commitment.id).order_by(Commitment.id)).scalars())
        moved = ids[: len(ids) // 2]
        session.execute(
            update(Commitment).where(Commitment.id.in_(moved)).values(contract_id=other.id)
        )
        session.execute(
            update(Indicator).where(Indicator.commitment_id.in_(moved)).values(contract_id=other.id)
        )
        return demo_id, other.id


def refuse_alerts_of(db, contract_id: int) -> None:
    """The database refuses new alerts of one contract (a real failure of its check)."""
    with db.session() as session:
        if db.backend == "sqlite":
            session.execute(
                text(
                    "CREATE TRIGGER refuse_alert BEFORE INSERT ON alert"
                    f" WHEN NEW.contract_id = {contract_id}"
                    " BEGIN SELECT RAISE(ABORT, 'alertes refusées pour ce contrat'); END"
                )
            )
        else:
            session.execute(
                text(
                    "CREATE FUNCTION refuse_alert() RETURNS trigger LANGUAGE plpgsql AS $$"
                    f" BEGIN IF NEW.contract_id = {contract_id} THEN"
                    " RAISE EXCEPTION 'alertes refusées pour ce contrat'; END IF;"
                    " RETURN NEW; END $$"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER refuse_alert BEFORE INSERT ON alert"
                    " FOR EACH ROW EXECUTE FUNCTION refuse_alert()"
                )
            )


def allow_alerts(db) -> None:
    with db.session() as session:
        session.execute(
            text("DROP TRIGGER refuse_alert" + ("" if db.backend == "sqlite" else " ON alert"))
        )


def open_alerts(db, contract_id: int) -> int:
    with db.session(write=False) as session:
        return session.execute(
            select(func.count())
            .select_from(Alert)
            .where(Alert.contract_id == contract_id, Alert.resolved_on.is_(None))
        ).scalar_one()


def test_one_contract_failing_makes_the_check_partial_and_the_next_run_judges_it(demo_db):
    demo_id, other_id = second_contract(demo_db)
    refuse_alerts_of(demo_db, demo_id)

    run = run_job(demo_db.engine, demo_db.settings, "check_indicators", as_of=DEMO_AS_OF)
    assert run.outcome == "partial"
    assert run.counts["contracts"] == 1 and run.counts["failed_contracts"] == 1
    assert f"contrat {demo_id}" in run.error and "alertes refusées" in run.error
    assert open_alerts(demo_db, other_id) > 0  # the other contract was checked
    assert open_alerts(demo_db, demo_id) == 0  # nothing half-written

    allow_alerts(demo_db)
    again = run_job(demo_db.engine, demo_db.settings, "check_indicators", as_of=DEMO_AS_OF)
    assert again.outcome == "success" and again.error == ""
    assert again.counts["contracts"] == 1 and again.counts["opened"] > 0
    assert open_alerts(demo_db, demo_id) > 0
    assert "failed_contracts" not in again.counts


def test_every_contract_failing_makes_the_check_failed(demo_db):
    with demo_db.session(write=False) as session:
        demo_id = session.execute(select(Contract.id)).scalar_one()
    refuse_alerts_of(demo_db, demo_id)
    run = run_job(demo_db.engine, demo_db.settings, "check_indicators", as_of=DEMO_AS_OF)
    assert run.outcome == "failed" and run.counts["failed_contracts"] == 1


def test_a_partial_run_counts_as_done_for_the_catch_up(demo_db):
    settings = catch_up_settings(demo_db)
    record_run(demo_db, "check_indicators", paris(2026, 11, 26, 6, 15, 1), outcome="partial")
    record_run(demo_db, "send_reminders", paris(2026, 11, 23, 8, 0, 2), outcome="partial")
    now = paris(2026, 11, 26, 9, 30)
    assert jobs_to_catch_up(demo_db.engine, settings, now=now) == []
    record_run(demo_db, "check_indicators", paris(2026, 11, 27, 6, 15, 1), outcome="failed")
    later = now + timedelta(days=1)
    assert jobs_to_catch_up(demo_db.engine, settings, now=later) == ["check_indicators"]


def test_partial_runs_shown_in_the_cli_the_api_and_the_administration(demo_db, tmp_path):
    from suivi.cli import app

    record_run(demo_db, "send_reminders", paris(2026, 11, 23, 8, 0, 2), outcome="partial")
    with demo_db.session() as session:
        session.execute(
            update(JobRun).values(
                counts={"recipients": 6, "sent": 2, "pending": 4},
                error="4 courriel(s) en attente d'un nouvel essai",
            )
        )
    settings = catch_up_settings(demo_db)

    client = client_for(demo_db)
    client.app.state.settings.scheduler.jobs = settings.scheduler.jobs
    admin = {"Authorization": f"Bearer {login(client, 'admin@example.org')}"}
    jobs = {job["name"]: job for job in client.get("/api/jobs", headers=admin).json()}
    assert jobs["send_reminders"]["last_outcome"] == "partial"
    runs = client.get("/api/jobs/runs", headers=admin).json()["items"]
    assert runs[0]["outcome"] == "partial" and runs[0]["counts"]["pending"] == 4

    config = tmp_path / "config.toml"
    config.write_text(
        f"[app]\nmode = 'dev'\n[database]\nurl = '{demo_db.url}'\n"
        "[scheduler.jobs.send_reminders]\ncron = '0 8 * * mon'\n",
        encoding="utf-8",
    )
    try:
        listed = CliRunner().invoke(app, ["--config", str(config), "jobs", "list"])
    finally:
        dispose_engines()
    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if line.startswith("send_reminders"))
    assert "— partielle" in line and '"pending": 4' in line
