"""Outcomes of the email jobs and the hourly `retry_emails` job, against a real SMTP server:
an SMTP server down makes the weekly run partial (each message kept pending with its
content), and once the server is back the retry job sends each pending message exactly once;
a second retry, or a rerun of the week, sends nothing."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from suivi.clock import frozen_at
from suivi.db import dispose_engines
from suivi.db import utcnow
from suivi.notifications import delivery
from suivi.notifications.delivery import deliver
from suivi.notifications.models import EmailDelivery
from suivi.scheduler import run_job
from tests.support.notifications import MONDAY
from tests.support.notifications import add_recipients
from tests.support.notifications import outgoing
from tests.support.ports import free_port
from tests.support.smtp import SmtpServer
from tests.support.smtp import smtp_settings

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def no_pause_within_a_run(monkeypatch):
    """No pause between the tries of one run (1 s and 3 s in production)."""
    monkeypatch.setattr(delivery, "IN_RUN_BACKOFF", ())


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    return datetime(MONDAY.year, MONDAY.month, MONDAY.day, hour, minute, tzinfo=PARIS) + (
        timedelta(days=days)
    )


def deliveries(db) -> list[EmailDelivery]:
    with db.session(write=False) as session:
        return list(session.execute(select(EmailDelivery).order_by(EmailDelivery.id)).scalars())


def test_smtp_down_makes_the_run_partial_then_the_retry_sends_each_message_once(demo_db):
    add_recipients(demo_db)
    port = free_port()
    settings = smtp_settings(demo_db.settings, port)
    engine = demo_db.engine

    with frozen_at(at(8)):
        weekly = run_job(engine, settings, "send_reminders", as_of=MONDAY, trigger="schedule")
    expected = weekly.counts["recipients"]
    assert expected >= 5
    assert weekly.outcome == "partial"
    assert weekly.counts["pending"] == expected and weekly.counts["sent"] == 0
    assert "en attente" in weekly.error
    stored = deliveries(demo_db)
    assert len(stored) == expected
    assert all(row.status == "pending" and row.content for row in stored)

    # Still down an hour later: the retry job tries again, still partial, nothing lost.
    with frozen_at(at(9, 7)):
        still_down = run_job(engine, settings, "retry_emails", as_of=MONDAY, trigger="schedule")
    assert still_down.outcome == "partial" and still_down.counts["pending"] == expected
    assert {row.attempts for row in deliveries(demo_db)} == {2}

    server = SmtpServer(port).start()
    try:
        with frozen_at(at(10, 7)):
            retried = run_job(engine, settings, "retry_emails", as_of=MONDAY, trigger="schedule")
        assert retried.outcome == "success", retried.error
        assert retried.counts["sent"] == expected
        assert len(server.received) == expected
        sent = deliveries(demo_db)
        assert sorted(server.handler.message_ids()) == sorted(row.message_id for row in sent)
        by_id = {item.message["Message-ID"]: item for item in server.received}
        for row in sent:
            assert row.status == "sent" and row.content is None
            assert by_id[row.message_id].recipients == [row.recipient]
            assert by_id[row.message_id].message["Subject"] == row.subject
            assert "indicateur" in by_id[row.message_id].message.get_body(("plain",)).get_content()

        with frozen_at(at(11, 7)):
            again = run_job(engine, settings, "retry_emails", as_of=MONDAY, trigger="schedule")
            rerun = run_job(engine, settings, "send_reminders", as_of=MONDAY, trigger="manual")
        assert again.outcome == "success" and again.counts["sent"] == 0
        assert rerun.outcome == "success"
        assert rerun.counts["sent"] == 0 and rerun.counts["skipped"] == expected
        assert len(server.received) == expected
    finally:
        server.stop()


def test_a_scheduled_retry_waits_for_each_message_s_pause(empty_db):
    settings = smtp_settings(empty_db.settings, free_port())
    with frozen_at(at(8)):
        first = deliver(empty_db.engine, settings, outgoing(), run_started_at=utcnow())
    assert first.status == "pending"
    # The pause after a first attempt is one minute: a retry 30 s later leaves it alone.
    with frozen_at(at(8, 0) + timedelta(seconds=30)):
        early = run_job(empty_db.engine, settings, "retry_emails", as_of=MONDAY, trigger="schedule")
    assert early.outcome == "success" and early.counts["pending"] == 0
    assert deliveries(empty_db)[0].attempts == 1


def test_retry_gives_up_after_max_attempts_and_the_run_fails(empty_db):
    settings = smtp_settings(empty_db.settings, free_port())
    settings.smtp.max_attempts = 2
    with frozen_at(at(8)):
        deliver(empty_db.engine, settings, outgoing(), run_started_at=utcnow())
    with frozen_at(at(9, 7)):
        run = run_job(empty_db.engine, settings, "retry_emails", as_of=MONDAY, trigger="schedule")
    assert run.outcome == "failed" and run.counts["failed"] == 1
    (row,) = deliveries(empty_db)
    assert row.status == "failed" and row.attempts == 2 and row.content is None
    assert row.last_error.startswith("abandonné après 2 tentatives")
    with frozen_at(at(10, 7)):
        after = run_job(empty_db.engine, settings, "retry_emails", as_of=MONDAY, trigger="schedule")
    assert after.outcome == "success" and after.counts["failed"] == 0


def test_jobs_run_exit_codes_partial_then_failed(demo_db, smtp_server, tmp_path, monkeypatch):
    from suivi.cli import app

    add_recipients(demo_db)
    down_port = free_port()
    config = tmp_path / "config.toml"
    config.write_text("[app]\nmode = 'dev'\n", encoding="utf-8")
    monkeypatch.setenv("SUIVI_DATABASE_URL", demo_db.url)
    monkeypatch.setenv("SUIVI_REPORTS_TEMPLATES_DIR", str(demo_db.settings.reports.templates_dir))
    monkeypatch.setenv("SUIVI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SUIVI_SMTP_STARTTLS", "false")
    monkeypatch.setenv("SUIVI_SMTP_TIMEOUT_SECONDS", "5")
    command = ["--config", str(config), "jobs", "run", "send_reminders"]
    command += ["--as-of", MONDAY.isoformat()]
    runner = CliRunner()
    try:
        monkeypatch.setenv("SUIVI_SMTP_PORT", str(down_port))
        partial = runner.invoke(app, command)
        assert partial.exit_code == 4, partial.output
        assert "Tâche send_reminders partielle" in partial.output
        assert "en attente" in partial.output

        # The server is up but refuses every recipient: nothing can ever be sent.
        monkeypatch.setenv("SUIVI_SMTP_PORT", str(smtp_server.port))
        for row in deliveries(demo_db):
            smtp_server.handler.refuse[row.recipient] = "550 5.1.1 Boîte inconnue"
        failed = runner.invoke(app, command)
        assert failed.exit_code == 1, failed.output
        assert "Tâche send_reminders en échec" in failed.output
    finally:
        dispose_engines()
    assert smtp_server.received == []
    assert {row.status for row in deliveries(demo_db)} == {"failed"}
