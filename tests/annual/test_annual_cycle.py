"""The annual report procedure on the demo (SQLite and PostgreSQL): consultation emails to
every body through a real SMTP server, two opinions entered (one with a PDF attachment), one
body silent and deemed favourable after the deadline, approval, publication with the
opinions annexed in the PDF/A, and the refusals in French."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from suivi.annual import service
from suivi.annual.consultation import send_consultation
from suivi.annual.models import AnnualReport
from suivi.annual.models import AnnualReportOpinion
from suivi.audit.models import AuditEvent
from suivi.errors import Conflict
from suivi.errors import Invalid
from suivi.errors import NotFound
from suivi.notifications.models import EmailDelivery
from suivi.reports.archive import generate_report
from tests.support.annual import DEADLINE_DAYS
from tests.support.annual import OPENED_ON
from tests.support.annual import open_2026
from tests.support.annual import principal_of
from tests.support.smtp import SmtpServer
from tests.support.smtp import smtp_settings

DEADLINE = date(2026, 12, 15)
SMALL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _opinion(session, report_id, **where):
    query = select(AnnualReportOpinion).where(AnnualReportOpinion.annual_report_id == report_id)
    for name, value in where.items():
        query = query.where(getattr(AnnualReportOpinion, name) == value)
    return session.execute(query.order_by(AnnualReportOpinion.id)).scalars().first()


def _submit(session, principal, report, opinion_id, db, **kw):
    values = {"verdict": "favorable", "text": "", "given_on": date(2026, 11, 20)}
    values.update(kw)
    return service.submit_opinion(
        session,
        principal,
        report,
        opinion_id,
        attachments_dir=Path(db.settings.reports.dir),
        max_attachment_bytes=1024,
        **values,
    )


def _approve(session, principal, report, day: date, reference: str, response: str = ""):
    """The council's deliberation approving the report, recorded on its day."""
    return service.approve(
        session,
        principal,
        report,
        deliberation_on=day,
        deliberation_ref=reference,
        observations_response=response,
        as_of=day,
    )


def test_full_cycle_from_draft_to_published_pdf_with_opinions_annexed(demo_db):
    db = demo_db
    report_id = open_2026(db)
    with db.session(write=False) as session:
        report = session.get(AnnualReport, report_id)
        assert report.status == "en_consultation"
        assert report.deadline == DEADLINE
        opinions = service.opinions_of(session, report_id)
        kinds = {o.body_kind for o in opinions}
        assert kinds == {"conseil_municipal", "conseil_citoyen"}
        expected_recipients = sorted(r for o in opinions for r in service.recipients_of(session, o))
    assert len(expected_recipients) >= len(opinions) - 0  # every demo body has an address

    # Consultation emails through the shared layer, to a real SMTP server, once per key.
    settings = smtp_settings(db.settings, 0)
    server = SmtpServer().start()
    try:
        settings.smtp.port = server.port
        draft = generate_report(
            db.engine, settings, kind="annual", as_of=OPENED_ON, contract_id=1
        ).rendered.pdf
        counts = send_consultation(db.engine, settings, report_id, draft)
        again = send_consultation(db.engine, settings, report_id, draft)
    finally:
        server.stop()
    assert counts["sent"] == len(expected_recipients)
    assert again["sent"] == 0 and again["skipped"] == len(expected_recipients)
    received = sorted(r for item in server.received for r in item.recipients)
    assert received == expected_recipients
    message = server.received[0].message
    assert "rapport annuel 2026" in message["Subject"]
    assert "15 décembre 2026" in message.get_body(("plain",)).get_content()
    assert [p.get_filename() for p in message.iter_attachments()] == [
        "projet-rapport-annuel-2026.pdf"
    ]
    with db.session(write=False) as session:
        kinds = set(
            session.execute(
                select(EmailDelivery.kind).where(EmailDelivery.period == "2026")
            ).scalars()
        )
    assert kinds == {"annual_consultation"}

    with db.session() as session:
        report = session.get(AnnualReport, report_id)
        admin = principal_of(session, "admin@example.org")
        citoyen = principal_of(session, "citoyen@example.org")
        member = service.member_conseil_id(session, citoyen)
        own = _opinion(session, report_id, conseil_citoyen_id=member)
        # Entered by the conseil citoyen's own account, with a PDF attachment.
        _submit(
            session,
            citoyen,
            report,
            own.id,
            db,
            verdict="reserve",
            text="Nous regrettons le retard des travaux de la cité 12.",
            attachment=service.UploadedPdf("déliberation CC.pdf", SMALL_PDF),
        )
        # Approval before the deadline while opinions are missing: refused.
        with pytest.raises(Conflict, match="avant la fin de la consultation"):
            _approve(session, admin, report, date(2026, 11, 30), "DEL-2026-1")
        # The conseil citoyen cannot answer for another body (404, not revealed).
        municipal = _opinion(session, report_id, body_kind="conseil_municipal")
        with pytest.raises(NotFound):
            _submit(session, citoyen, report, municipal.id, db)
        # Entered by the project manager on the conseil municipal's behalf.
        _submit(session, admin, report, municipal.id, db, verdict="favorable", text="Avis du CM")
        stored = Path(db.settings.reports.dir) / own.attachment_path
        assert own.attachment_sha256 == hashlib.sha256(SMALL_PDF).hexdigest()
        assert stored.read_bytes() == SMALL_PDF

    # The daily check after the deadline: every silent body deemed favourable.
    with db.session() as session:
        assert service.deem_all_silent_bodies(session, DEADLINE) == 0  # not after yet
        deemed = service.deem_all_silent_bodies(session, date(2026, 12, 16))
        report = session.get(AnnualReport, report_id)
        silent = [o for o in service.opinions_of(session, report_id) if o.deemed]
    assert deemed == len(silent) >= 1
    assert report.status == "avis_recus"
    assert all(o.text == "Avis réputé favorable (absence de réponse)" for o in silent)
    assert all(o.verdict == "favorable" and o.given_on == DEADLINE for o in silent)

    with db.session() as session:
        report = session.get(AnnualReport, report_id)
        admin = principal_of(session, "admin@example.org")
        with pytest.raises(Conflict, match="pas encore été approuvé"):
            service.check_can_publish(admin, report)
        _approve(
            session,
            admin,
            report,
            date(2026, 12, 18),
            "DEL-2026-117",
            "Les travaux de la cité 12 seront priorisés en 2027.",
        )
        citoyen = principal_of(session, "citoyen@example.org")
        own = _opinion(
            session, report_id, conseil_citoyen_id=service.member_conseil_id(session, citoyen)
        )
        with pytest.raises(Conflict, match="déjà approuvé"):
            _submit(session, citoyen, report, own.id, db)

    final = generate_report(
        db.engine, db.settings, kind="annual", as_of=date(2026, 12, 31), contract_id=1
    )
    with db.session() as session:
        report = session.get(AnnualReport, report_id)
        admin = principal_of(session, "admin@example.org")
        service.publish(session, admin, report, report_file_id=final.file.id)
        with pytest.raises(Conflict, match="déjà publié"):
            service.publish(session, admin, report, report_file_id=final.file.id)
        states = [
            (e.before or {}).get("status", "") + "→" + (e.after or {}).get("status", "")
            for e in session.execute(
                select(AuditEvent)
                .where(AuditEvent.entity == "annual_report", AuditEvent.entity_id == str(report_id))
                .order_by(AuditEvent.id)
            ).scalars()
        ]
    assert states == [
        "→brouillon",
        "brouillon→en_consultation",
        "en_consultation→avis_recus",
        "avis_recus→approuve",
        "approuve→publie",
    ]
    text = subprocess.run(
        ["pdftotext", "-layout", str(final.path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "Annexe — avis des organes consultés" in text
    assert "Nous regrettons le retard des travaux de la cité 12." in text
    # One row per body in the annex table (the cell wraps: the start of the phrase is kept).
    assert text.count("Avis réputé favorable") == len(silent)
    assert "DEL-2026-117" in text
    assert "Les travaux de la cité 12 seront priorisés en 2027." in text
    assert "Dotation de solidarité urbaine" in text


def test_attachments_must_be_small_pdfs(demo_db):
    report_id = open_2026(demo_db)
    with demo_db.session() as session:
        report = session.get(AnnualReport, report_id)
        admin = principal_of(session, "admin@example.org")
        opinion = _opinion(session, report_id)
        refused = {
            b"MZ\x90\x00 not a pdf": "doit être un fichier PDF",
            SMALL_PDF + b"0" * 2000: "taille maximale",  # the limit is 1024 bytes
        }
        for content, refusal in refused.items():
            attachment = service.UploadedPdf("avis.pdf", content)
            with pytest.raises(Invalid, match=refusal):
                _submit(session, admin, report, opinion.id, demo_db, attachment=attachment)


def test_open_twice_and_deadline_days_are_refused_or_applied(demo_db):
    report_id = open_2026(demo_db)
    with demo_db.session() as session:
        report = session.get(AnnualReport, report_id)
        admin = principal_of(session, "admin@example.org")
        with pytest.raises(Conflict, match="déjà ouverte"):
            service.open_consultation(
                session, admin, report, as_of=OPENED_ON, deadline_days=DEADLINE_DAYS
            )
        with pytest.raises(Conflict, match="existe déjà"):
            service.create_report(session, admin, contract_id=1, year=2026)
    assert demo_db.settings.annual_report.deadline_days == 30


def test_conseils_citoyens_get_their_monthly_summary_once(demo_db):
    from suivi.annual.summaries import send_conseil_summaries

    server = SmtpServer().start()
    try:
        settings = smtp_settings(demo_db.settings, server.port)
        first = send_conseil_summaries(demo_db.engine, settings, as_of=date(2026, 11, 15))
        again = send_conseil_summaries(demo_db.engine, settings, as_of=date(2026, 11, 20))
    finally:
        server.stop()
    assert first["sent"] == 2 and again["skipped"] == 2 and again["sent"] == 0
    by_recipient = {item.recipients[0]: item.message for item in server.received}
    assert set(by_recipient) == {"nadia.citoyenne@example.org", "hugo.habitant@example.org"}
    text = by_recipient["hugo.habitant@example.org"].get_body(("plain",)).get_content()
    assert "Conseil citoyen du centre" in text
    assert "Page publique du quartier : http://testserver/public/quartiers/" in text
    assert "ENG-" in text and "Nadia" not in text
