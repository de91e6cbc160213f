"""Administration pages: admins only; the run log (newest first, filtered, paginated); the
deliveries that failed or wait; partner contacts (add, edit, unsubscribe, resubscribe —
audited, errors next to the field, CSRF); the summary preview that sends nothing."""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select

from suivi.audit.models import AuditEvent
from suivi.auth.models import User
from suivi.clock import frozen_at
from suivi.config import JobSettings
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.db import utcnow
from suivi.monitoring.models import JobRun
from suivi.notifications.models import EmailDelivery
from tests.support.contracts import add_contract
from tests.support.web_clients import AS_OF

PARIS = ZoneInfo("Europe/Paris")
ADMIN_PATHS = ("/administration", "/administration/envois", "/administration/contacts")


def _contact(db, **where) -> PartnerContact:
    with db.session(write=False) as session:
        query = select(PartnerContact).order_by(PartnerContact.id)
        for key, value in where.items():
            query = query.where(getattr(PartnerContact, key) == value)
        return session.execute(query).scalars().first()


def _audits(db, contact_id: int) -> list[AuditEvent]:
    with db.session(write=False) as session:
        return list(
            session.execute(
                select(AuditEvent)
                .where(
                    AuditEvent.entity == "partner_contact",
                    AuditEvent.entity_id == str(contact_id),
                )
                .order_by(AuditEvent.id)
            ).scalars()
        )


def _admin_id(db) -> int:
    with db.session(write=False) as session:
        return session.scalar(select(User.id).where(User.role == "admin"))


@pytest.mark.parametrize("role", ["chef_de_projet", "partenaire", "copil"])
def test_administration_is_for_admins_only(web, role):
    client = web[role]
    contact = _contact(web.db)
    for path in (
        *ADMIN_PATHS,
        f"/administration/partenaires/{contact.partner_id}/contacts",
        f"/administration/contacts/{contact.id}/modifier",
        f"/administration/contacts/{contact.id}/apercu",
    ):
        assert client.get(f"{path}?as_of={AS_OF}").status_code == 403, path
    response = client.post(f"/administration/contacts/{contact.id}/desabonner", htmx=False)
    assert response.status_code == 403
    assert _contact(web.db, id=contact.id).unsubscribed_at is None
    assert "/administration" not in client.get(f"/contrat?as_of={AS_OF}").text


def test_a_partial_run_is_shown_as_partial(web):
    web.app.state.settings.scheduler.jobs = {"send_reminders": JobSettings(cron="0 8 * * mon")}
    with web.db.session() as session:
        session.add(
            JobRun(
                job_name="send_reminders",
                as_of=date(2026, 11, 16),
                started_at=datetime(2026, 11, 16, 7, 0, tzinfo=utcnow().tzinfo),
                outcome="partial",
                counts={"recipients": 6, "sent": 2, "pending": 4},
                error="4 courriel(s) en attente d'un nouvel essai",
            )
        )
    html = web["admin"].get(f"/administration?as_of={AS_OF}").text
    jobs, log = html.split('id="journal"', 1)
    assert '<span class="badge tone-warning">Partielle</span>' in jobs
    first_row = log.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert '<span class="badge tone-warning">Partielle</span>' in first_row
    assert "4 courriel(s) en attente" in first_row


def test_admin_sees_the_link_and_every_page(web):
    client = web["admin"]
    assert 'href="/administration?as_of=' in client.get(f"/contrat?as_of={AS_OF}").text
    for path in ADMIN_PATHS:
        response = client.get(f"{path}?as_of={AS_OF}")
        assert response.status_code == 200, path
        assert 'aria-label="Administration"' in response.text
    assert web.anonymous().get("/administration", follow_redirects=False).status_code == 303


def test_jobs_and_run_log_newest_first_filtered_and_paginated(web):
    web.app.state.settings.scheduler.jobs = {
        "check_indicators": JobSettings(cron="15 6 * * *"),
        "send_reminders": JobSettings(cron="0 8 * * mon", enabled=False),
    }
    start = datetime(2026, 11, 1, 5, 0, tzinfo=utcnow().tzinfo)
    with web.db.session() as session:
        for index in range(23):
            session.add(
                JobRun(
                    job_name="check_indicators",
                    as_of=date(2026, 11, 1) + timedelta(days=index % 10),
                    started_at=start + timedelta(hours=index),
                    finished_at=start + timedelta(hours=index, seconds=3),
                    outcome="success",
                    counts={"evaluated": 40 + index, "opened": index},
                )
            )
        session.add(
            JobRun(
                job_name="send_reminders",
                as_of=date(2026, 11, 16),
                started_at=start + timedelta(days=2),
                finished_at=start + timedelta(days=2, seconds=1),
                outcome="failed",
                error="SMTPConnectError: connexion refusée",
                trigger="manual",
            )
        )
    client = web["admin"]
    # The next run is computed from the clock: pinned on a 1st of the month before 06:15
    # (the day « 1er » is written as an ordinal), then on the last day after 06:15.
    with frozen_at(datetime(2026, 12, 1, 3, 49, tzinfo=PARIS)):
        html = client.get(f"/administration?as_of={AS_OF}").text
    with frozen_at(datetime(2026, 11, 30, 23, 30, tzinfo=PARIS)):
        late_html = client.get(f"/administration?as_of={AS_OF}").text
    # Jobs: schedule, next run, last outcome.
    jobs = html.split('id="journal"', 1)[0]
    check_row, reminders_row = re.findall(r"<tr><th scope=\"row\"><code>.*?</tr>", jobs, re.S)
    # Next run: today (or tomorrow) at 06:15, Paris time; last run: the latest success.
    assert "<td>1er décembre 2026 à 06:15</td>" in check_row, check_row
    assert "<td>1er décembre 2026 à 06:15</td>" in late_html
    assert "Réussie" in check_row
    assert "Désactivée" in reminders_row and "En échec" in reminders_row
    assert "24 exécutions, de la plus récente à la plus ancienne" in html
    log = html.split('id="journal"', 1)[1]
    first_row = log.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert "send_reminders" in first_row and "En échec" in first_row
    assert "SMTPConnectError: connexion refusée" in first_row
    assert "(lancée à la main)" in first_row
    assert "Page 1 sur 2" in html
    page_two = client.get(f"/administration?page=2&as_of={AS_OF}").text
    assert page_two.count("<code>evaluated</code>") == 4
    assert "<code>opened</code> : 0" in page_two  # the oldest run, last
    filtered = client.get(f"/administration?tache=send_reminders&as_of={AS_OF}").text
    assert "1 exécution," in filtered


def test_deliveries_show_failures_and_pending_with_the_server_answer(web):
    contact = _contact(web.db)
    now = utcnow()
    with web.db.session() as session:
        for status, error in (
            ("failed", "550 5.1.1 <x@example.org>: Recipient address rejected"),
            ("pending", "Connexion refusée (nouvel essai prévu)"),
            ("sent", ""),
        ):
            session.add(
                EmailDelivery(
                    dedup_key=f"partner_summary:contact:{contact.id}:{status}",
                    kind="partner_summary",
                    period="2026-11",
                    recipient=f"{status}@example.org",
                    contact_id=contact.id,
                    subject="Suivi du contrat de ville — votre point de novembre 2026",
                    message_id=f"<{status}@suivi>",
                    status=status,
                    attempts=1,
                    last_error=error,
                    created_at=now,
                    next_attempt_at=now + timedelta(minutes=30) if status == "pending" else None,
                    sent_at=now if status == "sent" else None,
                )
            )
    client = web["admin"]
    html = client.get(f"/administration/envois?as_of={AS_OF}").text
    assert "failed@example.org" in html and "pending@example.org" in html
    assert "sent@example.org" not in html
    assert "550 5.1.1 &lt;x@example.org&gt;: Recipient address rejected" in html
    assert "Échec définitif" in html and "Prochain essai" in html
    sent = client.get(f"/administration/envois?statut=sent&as_of={AS_OF}").text
    assert "sent@example.org" in sent and "failed@example.org" not in sent


def test_add_a_contact_with_errors_next_to_the_field_then_saved_and_audited(web):
    client = web["admin"]
    partner_id = web.ids["own_partner"]
    url = f"/administration/partenaires/{partner_id}/contacts?as_of={AS_OF}"
    listing = client.get(url)
    assert listing.status_code == 200
    assert '<label for="nouveau-email">Adresse électronique</label>' in listing.text

    bad = client.post(
        url, {"name": "Claire Martin", "email": "pas-une-adresse", "frequency": "weekly"}
    )
    assert bad.status_code == 422
    assert '<p class="error" id="nouveau-email-err">Adresse électronique invalide.</p>' in bad.text
    assert 'value="Claire Martin"' in bad.text  # what was typed is kept
    assert _contact(web.db, name="Claire Martin") is None

    good = client.post(
        url,
        {
            "name": "Claire Martin",
            "email": "Claire.Martin@Example.ORG",
            "role": "Cheffe",
            "frequency": "monthly",
        },
        htmx=False,
    )
    assert good.status_code == 303
    created = _contact(web.db, name="Claire Martin")
    assert created.email == "Claire.Martin@example.org" and created.frequency == "monthly"
    assert f"ajoute={created.id}" in good.headers["location"]
    confirmation = client.get(good.headers["location"])
    assert "Contact ajouté." in confirmation.text
    assert [a.action for a in _audits(web.db, created.id)] == ["create"]

    duplicate = client.post(
        url, {"name": "Autre", "email": "claire.martin@example.org", "frequency": "monthly"}
    )
    assert duplicate.status_code == 422
    assert "déjà un contact avec cette adresse" in duplicate.text
    missing_csrf = client.post(
        url, {"name": "Sans jeton", "email": "x@example.org", "frequency": "monthly"}, csrf=False
    )
    assert missing_csrf.status_code == 403
    assert _contact(web.db, name="Sans jeton") is None


def test_edit_unsubscribe_and_resubscribe_a_contact(web):
    client = web["admin"]
    contact = _contact(web.db, unsubscribed_at=None)
    edit_url = f"/administration/contacts/{contact.id}/modifier?as_of={AS_OF}"
    form = client.get(edit_url)
    assert f'value="{contact.email}"' in form.text
    bad = client.post(
        edit_url, {"name": "", "email": contact.email, "frequency": "weekly"}, htmx=False
    )
    assert bad.status_code == 422
    assert '<p class="error" id="contact-name-err">Le nom est obligatoire.</p>' in bad.text
    unknown = client.post(
        edit_url, {"name": contact.name, "email": contact.email, "frequency": "daily"}
    )
    assert unknown.status_code == 422
    assert "Choisissez la fréquence des envois." in unknown.text

    saved = client.post(
        edit_url,
        {"name": contact.name, "email": contact.email, "role": "Direction", "frequency": "weekly"},
        htmx=False,
    )
    assert saved.status_code == 303
    assert "Contact modifié." in client.get(saved.headers["location"]).text
    assert _contact(web.db, id=contact.id).frequency == "weekly"

    stop = client.post(f"/administration/contacts/{contact.id}/desabonner", htmx=False)
    assert stop.status_code == 303
    assert _contact(web.db, id=contact.id).unsubscribed_at is not None
    listing = client.get(stop.headers["location"]).text
    assert "Contact désabonné" in listing and "Réabonner" in listing

    again = client.post(f"/administration/contacts/{contact.id}/reabonner", htmx=False)
    assert again.status_code == 303
    assert _contact(web.db, id=contact.id).unsubscribed_at is None

    audits = _audits(web.db, contact.id)
    assert [a.action for a in audits] == ["update", "update", "update"]
    assert {a.actor_id for a in audits} == {_admin_id(web.db)}
    assert audits[1].before["unsubscribed_at"] is None and audits[1].after["unsubscribed_at"]


def test_contacts_of_another_contract_are_out_of_reach(web):
    with web.db.session() as session:
        other = add_contract(session, signed_on=date(2024, 1, 1))
        partner = Partner(
            contract_id=other.id, code="P-AUTRE", name="Partenaire d'ailleurs", kind="operateur"
        )
        session.add(partner)
        session.flush()
        contact = PartnerContact(
            partner_id=partner.id,
            name="Personne",
            email="personne@example.org",
            unsubscribe_token="jeton-autre",
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(contact)
        session.flush()
        ids = partner.id, contact.id
    client = web["admin"]
    assert client.get(f"/administration/partenaires/{ids[0]}/contacts").status_code == 404
    assert client.get(f"/administration/contacts/{ids[1]}/apercu").status_code == 404
    assert client.post(f"/administration/contacts/{ids[1]}/desabonner").status_code == 404
    assert _contact(web.db, id=ids[1]).unsubscribed_at is None


def test_summary_preview_renders_without_sending(web):
    contact = _contact(web.db)
    client = web["admin"]
    with web.db.session(write=False) as session:
        before = session.scalar(select(func.count()).select_from(EmailDelivery))
    response = client.get(f"/administration/contacts/{contact.id}/apercu?as_of={AS_OF}")
    assert response.status_code == 200
    html = response.text
    assert "rien n'est envoyé" in html
    assert "Suivi du contrat de ville — votre point de " in html
    assert contact.email in html
    iframe = re.search(
        r'<iframe class="email-preview" title="[^"]+" sandbox srcdoc="([^"]*)"', html
    )
    assert iframe is not None
    assert "&lt;html" in iframe.group(1).lower()  # the email's HTML, escaped in the attribute
    assert "<pre>" in html  # the text part
    with web.db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(EmailDelivery)) == before
