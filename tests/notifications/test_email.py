"""The email layer against a real SMTP server: parts, headers, delivery states, outbox."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email import policy

import pytest
from sqlalchemy import select

from suivi.db import utcnow
from suivi.notifications.delivery import deliver
from suivi.notifications.email import message_id_for
from suivi.notifications.models import EmailDelivery
from tests.support.notifications import outgoing
from tests.support.ports import free_port
from tests.support.smtp import SmtpServer
from tests.support.smtp import smtp_settings

NO_WAIT = {"sleep": lambda _seconds: None}


def row(db, key: str) -> EmailDelivery:
    with db.session() as session:
        return session.execute(
            select(EmailDelivery).where(EmailDelivery.dedup_key == key)
        ).scalar_one()


def test_multipart_message_with_stable_message_id(empty_db, smtp_server):
    settings = smtp_settings(empty_db.settings, smtp_server.port)
    message = outgoing(unsubscribe_url="http://testserver/desabonnement/abc")
    outcome = deliver(empty_db.engine, settings, message, run_started_at=utcnow(), **NO_WAIT)

    assert outcome.status == "sent"
    assert len(smtp_server.received) == 1
    received = smtp_server.received[0]
    assert received.recipients == ["camille@example.org"]
    assert received.sender == "suivi@example.org"
    email = received.message
    assert email.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in email.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert "Données fictives de démonstration" in email.get_body(("plain",)).get_content()
    assert "<p>Bonjour,</p>" in email.get_body(("html",)).get_content()
    assert email["Message-ID"] == message_id_for(message.dedup_key, settings)
    assert email["Message-ID"] == outcome.message_id == row(empty_db, message.dedup_key).message_id
    assert email["List-Unsubscribe"] == "<http://testserver/desabonnement/abc>"
    assert email["Reply-To"] == "politique-de-la-ville@example.org"
    assert email["Date"]
    saved = row(empty_db, message.dedup_key)
    assert (saved.status, saved.attempts, saved.sent_at is not None) == ("sent", 1, True)


def test_a_sent_key_is_never_sent_again(empty_db, smtp_server):
    settings = smtp_settings(empty_db.settings, smtp_server.port)
    first = deliver(empty_db.engine, settings, outgoing(), run_started_at=utcnow(), **NO_WAIT)
    again = deliver(empty_db.engine, settings, outgoing(), run_started_at=utcnow(), **NO_WAIT)
    assert (first.status, again.status) == ("sent", "skipped")
    assert len(smtp_server.received) == 1


def test_server_down_leaves_pending_then_delivers_once(empty_db):
    port = free_port()
    settings = smtp_settings(empty_db.settings, port)
    sleeps = []
    down = deliver(
        empty_db.engine, settings, outgoing(), run_started_at=utcnow(), sleep=sleeps.append
    )
    assert down.status == "pending"
    assert sleeps == [1.0, 3.0]  # retried in the run with backoff before giving up for now
    saved = row(empty_db, outgoing().dedup_key)
    assert saved.status == "pending" and saved.attempts == 1
    assert "Connection" in saved.last_error or "refused" in saved.last_error.lower()
    assert saved.next_attempt_at > utcnow()

    # A scheduled run before the backoff elapsed leaves it alone.
    early = deliver(empty_db.engine, settings, outgoing(), run_started_at=utcnow(), **NO_WAIT)
    assert early.status == "skipped"

    server = SmtpServer(port).start()
    try:
        later = utcnow() + timedelta(hours=2)
        up = deliver(
            empty_db.engine,
            settings,
            outgoing(),
            run_started_at=later,
            now=lambda: later,
            **NO_WAIT,
        )
        rerun = deliver(empty_db.engine, settings, outgoing(), run_started_at=later, **NO_WAIT)
        assert (up.status, rerun.status) == ("sent", "skipped")
        assert len(server.received) == 1
        assert server.received[0].message["Message-ID"] == saved.message_id
        assert row(empty_db, outgoing().dedup_key).attempts == 2
    finally:
        server.stop()


def _deliver_refused(db, smtp_server, address: str, answer: str):
    """One message to `address`, which the server refuses with `answer`: (settings, message,
    outcome)."""
    smtp_server.handler.refuse[address] = answer
    settings = smtp_settings(db.settings, smtp_server.port)
    message = outgoing(to=address)
    outcome = deliver(db.engine, settings, message, run_started_at=utcnow(), **NO_WAIT)
    return settings, message, outcome


def test_permanent_refusal_is_failed_with_the_server_answer(empty_db, smtp_server):
    settings, message, outcome = _deliver_refused(
        empty_db, smtp_server, "nobody@example.org", "550 5.1.1 Boite inconnue"
    )
    assert outcome.status == "failed"
    saved = row(empty_db, message.dedup_key)
    assert saved.status == "failed"
    assert saved.last_error.startswith("550")
    assert "Boite inconnue" in saved.last_error
    # A failed message is not retried by later runs.
    later = deliver(empty_db.engine, settings, message, run_started_at=utcnow(), **NO_WAIT)
    assert later.status == "skipped" and smtp_server.received == []


def test_temporary_refusal_stays_pending(empty_db, smtp_server):
    _, message, outcome = _deliver_refused(
        empty_db, smtp_server, "busy@example.org", "451 4.3.0 Reessayez plus tard"
    )
    assert outcome.status == "pending"
    assert row(empty_db, message.dedup_key).last_error.startswith("451")


def test_given_up_after_max_attempts(empty_db):
    settings = smtp_settings(empty_db.settings, free_port())
    settings.smtp.max_attempts = 2
    statuses = [
        deliver(
            empty_db.engine,
            settings,
            outgoing(),
            run_started_at=utcnow(),
            respect_backoff=False,
            **NO_WAIT,
        ).status
        for _ in range(3)
    ]
    assert statuses == ["pending", "failed", "skipped"]
    assert "abandonné après 2 tentatives" in row(empty_db, outgoing().dedup_key).last_error


class Crash(BaseException):
    """Stands for the process dying while the message is on the wire."""


class CrashingTransport:
    def send(self, message, recipient):
        raise Crash


def test_crash_in_flight_resends_once_with_the_same_message_id(empty_db, smtp_server):
    settings = smtp_settings(empty_db.settings, smtp_server.port)
    first_run = utcnow()
    with pytest.raises(Crash):
        deliver(
            empty_db.engine,
            settings,
            outgoing(),
            run_started_at=first_run,
            transport=CrashingTransport(),
        )
    assert row(empty_db, outgoing().dedup_key).status == "sending"

    # Another run that started before the claim may still be sending it: left alone.
    concurrent = deliver(empty_db.engine, settings, outgoing(), run_started_at=first_run, **NO_WAIT)
    assert concurrent.status == "skipped"

    # The next run (started after the crash) resends it, once, with the same Message-ID.
    second_run = utcnow()
    resent = deliver(empty_db.engine, settings, outgoing(), run_started_at=second_run, **NO_WAIT)
    again = deliver(empty_db.engine, settings, outgoing(), run_started_at=utcnow(), **NO_WAIT)
    assert (resent.status, again.status) == ("sent", "skipped")
    assert smtp_server.handler.message_ids() == [message_id_for(outgoing().dedup_key, settings)]


def test_outbox_mode_writes_eml_files(empty_db):
    settings = empty_db.settings  # no SMTP host: outbox
    assert settings.smtp.host == ""
    outcome = deliver(empty_db.engine, settings, outgoing(), run_started_at=utcnow())
    assert outcome.status == "sent"
    files = list(settings.outbox.dir.glob("*.eml"))
    assert len(files) == 1
    email = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert email["To"] == "camille@example.org"
    assert email["Message-ID"] == outcome.message_id
    assert email.get_body(("plain",)) is not None and email.get_body(("html",)) is not None


def test_starttls_required_but_not_offered_is_transient(empty_db, smtp_server):
    settings = smtp_settings(empty_db.settings, smtp_server.port)
    settings.smtp.starttls = True
    outcome = deliver(empty_db.engine, settings, outgoing(), run_started_at=utcnow(), **NO_WAIT)
    assert outcome.status == "pending"
    assert "STARTTLS" in outcome.error
    assert smtp_server.received == []
