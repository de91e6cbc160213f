"""Weekly reminder digests: one per person, scoped to them, sent once per ISO week."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from suivi.auth.models import User
from suivi.auth.models import UserScope
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.models import CommitmentQuartier
from suivi.indicators.models import Indicator
from suivi.notifications.models import EmailDelivery
from suivi.notifications.reminders import iso_week
from suivi.notifications.reminders import plan_reminders
from suivi.notifications.reminders import reminder_email
from suivi.notifications.reminders import send_reminders
from tests.support.notifications import MONDAY
from tests.support.notifications import add_recipients
from tests.support.smtp import smtp_settings

NO_WAIT = {"sleep": lambda _seconds: None}


def allowed_indicators(session, user: User) -> set[int]:
    """Independent statement of the rule: a partner's indicators are those of commitments it
    leads or co-funds; a scoped project manager's, those of its partners (or quartiers)."""
    if user.role == "partenaire":
        partner_ids = {user.partner_id}
    else:
        partner_ids = set(
            session.execute(
                select(UserScope.partner_id).where(
                    UserScope.user_id == user.id, UserScope.partner_id.is_not(None)
                )
            ).scalars()
        )
        if not partner_ids:
            return set(session.execute(select(Indicator.id)).scalars())  # quartier scope: see below
    commitments = set(
        session.execute(
            select(Commitment.id).where(Commitment.lead_partner_id.in_(partner_ids))
        ).scalars()
    ) | set(
        session.execute(
            select(CommitmentPartner.commitment_id).where(
                CommitmentPartner.partner_id.in_(partner_ids)
            )
        ).scalars()
    )
    return set(
        session.execute(
            select(Indicator.id).where(Indicator.commitment_id.in_(commitments))
        ).scalars()
    )


def test_each_digest_holds_only_the_recipients_indicators(demo_db):
    add_recipients(demo_db)
    settings = demo_db.settings
    with demo_db.session() as session:
        digests = plan_reminders(session, settings, as_of=MONDAY)
        assert len(digests) >= 5
        all_codes = {}
        for digest in digests:
            user = session.get(User, digest.user_id)
            assert digest.indicator_ids() <= allowed_indicators(session, user), digest.email
            for item in digest.escalated + digest.overdue + digest.due_soon:
                all_codes[item.code] = item.indicator_id
    # The email itself names only the recipient's indicators.
    for digest in digests:
        email = reminder_email(settings, digest, as_of=MONDAY)
        own = {item.code for item in digest.escalated + digest.overdue + digest.due_soon}
        for code in all_codes:
            assert (f"{code} —" in email.text) == (code in own), (digest.email, code)
            assert (f"{code} —" in email.html) == (code in own)


def test_demo_project_manager_sees_only_lens(demo_db):
    with demo_db.session() as session:
        digests = {d.email: d for d in plan_reminders(session, demo_db.settings, as_of=MONDAY)}
        chef = session.execute(select(User).where(User.email == "chef@example.org")).scalar_one()
        lens = set(
            session.execute(
                select(UserScope.quartier_id).where(UserScope.user_id == chef.id)
            ).scalars()
        )
        # A commitment is Lens's if it targets a Lens quartier or has an indicator there.
        lens_commitments = set(
            session.execute(
                select(CommitmentQuartier.commitment_id).where(
                    CommitmentQuartier.quartier_id.in_(lens)
                )
            ).scalars()
        ) | set(
            session.execute(
                select(Indicator.commitment_id).where(Indicator.quartier_id.in_(lens))
            ).scalars()
        )
        allowed = set(
            session.execute(
                select(Indicator.id).where(Indicator.commitment_id.in_(lens_commitments))
            ).scalars()
        )
    assert lens and digests["chef@example.org"].indicator_ids()
    assert digests["chef@example.org"].indicator_ids() <= allowed


def test_digest_content_in_french_with_links_and_demo_notice(demo_db):
    add_recipients(demo_db)
    settings = demo_db.settings
    with demo_db.session() as session:
        digests = plan_reminders(session, settings, as_of=MONDAY)
    digest = next(d for d in digests if d.escalated and d.role == "partenaire")
    email = reminder_email(settings, digest, as_of=MONDAY)
    assert email.dedup_key == f"reminder:user:{digest.user_id}:2026-W47"
    assert email.period == iso_week(MONDAY) == "2026-W47"
    assert "semaine 47" in email.subject
    for part in (email.text, email.html):
        assert "Données fictives de démonstration" in part
        assert "16 novembre 2026" in part
        assert f"http://testserver/indicateurs/{digest.escalated[0].indicator_id}" in part
        assert "signalés aux chef·fes de projet" in part
        assert f"Retards de plus de {settings.reminders.escalate_after_days} jours".upper() in (
            part.upper()
        )


def test_escalation_reaches_the_project_managers_in_charge(demo_db):
    add_recipients(demo_db)
    settings = demo_db.settings
    with demo_db.session() as session:
        digests = {d.email: d for d in plan_reminders(session, settings, as_of=MONDAY)}
    scoped_chef = digests["chef.partenaire@example.org"]
    escalate_after = settings.reminders.escalate_after_days
    assert scoped_chef.escalated
    assert all(item.days_late > escalate_after for item in scoped_chef.escalated)
    assert all(item.days_late <= escalate_after for item in scoped_chef.overdue)
    # Every escalated item of a partner is in the digest of some project manager.
    chef_escalated = set().union(
        *(
            {i.indicator_id for i in d.escalated}
            for d in digests.values()
            if d.role == "chef_de_projet"
        )
    )
    partner_escalated = set().union(
        *({i.indicator_id for i in d.escalated} for d in digests.values() if d.role == "partenaire")
    )
    lead_partner_of_chef = scoped_chef.escalated[0].partner
    assert any(
        i.partner == lead_partner_of_chef
        for d in digests.values()
        if d.role == "partenaire"
        for i in d.escalated
    )
    assert chef_escalated & partner_escalated


def test_one_email_per_person_and_a_rerun_sends_nothing(demo_db, smtp_server):
    add_recipients(demo_db)
    settings = smtp_settings(demo_db.settings, smtp_server.port)
    first = send_reminders(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    assert first["sent"] == first["recipients"] >= 5
    recipients = [r.recipients[0] for r in smtp_server.received]
    assert len(recipients) == len(set(recipients)) == first["recipients"]

    again = send_reminders(demo_db.engine, settings, as_of=MONDAY + timedelta(days=2), **NO_WAIT)
    assert again["sent"] == 0 and again["skipped"] == first["recipients"]
    assert len(smtp_server.received) == first["recipients"]

    next_week = send_reminders(
        demo_db.engine, settings, as_of=MONDAY + timedelta(days=7), **NO_WAIT
    )
    assert next_week["sent"] == next_week["recipients"] > 0


class Killed(BaseException):
    """The job process dies (kill -9) while a message is in flight."""


def test_job_killed_mid_run_then_rerun_sends_each_reminder_once(demo_db, smtp_server, monkeypatch):
    add_recipients(demo_db)
    settings = smtp_settings(demo_db.settings, smtp_server.port)
    import suivi.notifications.email as delivery

    real_send = delivery.SmtpTransport.send
    calls = {"n": 0}

    def dying_send(self, message, recipient):
        calls["n"] += 1
        if calls["n"] == 4:
            real_send(self, message, recipient)  # on the wire...
            raise Killed  # ...and the process dies before marking it sent
        real_send(self, message, recipient)

    monkeypatch.setattr(delivery.SmtpTransport, "send", dying_send)
    with pytest.raises(Killed):
        send_reminders(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    monkeypatch.setattr(delivery.SmtpTransport, "send", real_send)
    assert len(smtp_server.received) == 4

    rerun = send_reminders(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    with demo_db.session() as session:
        rows = session.execute(select(EmailDelivery)).scalars().all()
        assert {row.status for row in rows} == {"sent"}
        expected = {row.message_id for row in rows}
    received = smtp_server.handler.message_ids()
    assert set(received) == expected  # nothing lost
    duplicates = [mid for mid in set(received) if received.count(mid) > 1]
    assert len(duplicates) == 1  # only the one in flight, with its own Message-ID
    assert rerun["sent"] == rerun["recipients"] - 3


def test_transient_failure_then_later_run_delivers(demo_db, smtp_server):
    from tests.support.ports import free_port
    from tests.support.smtp import SmtpServer

    add_recipients(demo_db)
    port = free_port()
    settings = smtp_settings(demo_db.settings, port)
    down = send_reminders(demo_db.engine, settings, as_of=MONDAY, backoff=(), **NO_WAIT)
    assert down["pending"] == down["recipients"] > 0
    server = SmtpServer(port).start()
    try:
        up = send_reminders(
            demo_db.engine, settings, as_of=MONDAY, respect_backoff=False, **NO_WAIT
        )
        assert up["sent"] == down["recipients"]
        assert len(server.received) == down["recipients"]
    finally:
        server.stop()
    with demo_db.session() as session:
        assert (
            session.execute(
                select(func.count())
                .select_from(EmailDelivery)
                .where(EmailDelivery.status != "sent")
            ).scalar_one()
            == 0
        )
