"""`suivi report releve MEETING_ID`: the relevé is a PDF/A-3a archived with its hash and the
decisions CSV attached, e-mailed once to each contact concerned (their decisions
highlighted) through a real SMTP server; the decisions' texts are then frozen."""

from __future__ import annotations

import csv
import hashlib
import io
import re

from pypdf import PdfReader
from sqlalchemy import select
from typer.testing import CliRunner

from suivi.auth.models import User
from suivi.auth.principal import load_principal
from suivi.cli import app
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.errors import Conflict
from suivi.governance import service
from suivi.notifications.models import EmailDelivery
from suivi.reports.models import ReportFile
from tests.support.databases import DEMO_AS_OF
from tests.support.governance import new_meeting
from tests.support.reports import pdftotext


def _record_decisions(demo_db) -> dict:
    meeting_id = new_meeting(demo_db)
    with demo_db.session() as session:
        chef = load_principal(
            session, session.execute(select(User).where(User.role == "chef_de_projet")).scalar_one()
        )
        meeting = session.get(Meeting, meeting_id)
        owners = (
            session.execute(
                select(Partner)
                .where(Partner.id.in_(select(PartnerContact.partner_id)))
                .order_by(Partner.id)
            )
            .scalars()
            .all()[:2]
        )
        service.hold_meeting(session, chef, meeting, as_of=DEMO_AS_OF)
        service.set_participants(session, chef, meeting, [owners[1].id])
        service.create_decision(
            session,
            chef,
            meeting,
            fields={
                "text": "Ouvrir un second chantier d'insertion",
                "owner_partner_id": owners[0].id,
                "due_on": DEMO_AS_OF,
            },
        )
        service.create_decision(
            session,
            chef,
            meeting,
            fields={"text": "Présenter le bilan des clauses sociales", "kind": "information"},
        )
        contacts = {
            c.email: c.partner_id
            for c in session.execute(
                select(PartnerContact).where(
                    PartnerContact.partner_id.in_([o.id for o in owners]),
                    PartnerContact.unsubscribed_at.is_(None),
                )
            ).scalars()
        }
        return {"meeting_id": meeting.id, "owner_id": owners[0].id, "contacts": contacts}


def _run(demo_db, smtp_server, meeting_id, monkeypatch):
    (demo_db.work_dir / "none.toml").write_text("", encoding="utf-8")
    for key, value in {
        "SUIVI_DATABASE_URL": demo_db.url,
        "SUIVI_REPORTS_DIR": str(demo_db.settings.reports.dir),
        "SUIVI_REPORTS_TEMPLATES_DIR": str(demo_db.settings.reports.templates_dir),
        "SUIVI_SMTP_HOST": "127.0.0.1",
        "SUIVI_SMTP_PORT": str(smtp_server.port),
        "SUIVI_SMTP_STARTTLS": "false",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SUIVI_CONFIG", raising=False)
    config = ["--config", str(demo_db.work_dir / "none.toml")]
    return CliRunner().invoke(
        app, [*config, "report", "releve", str(meeting_id), "--as-of", DEMO_AS_OF.isoformat()]
    )


def test_the_releve_is_archived_sent_once_per_contact_and_freezes_the_texts(
    demo_db, smtp_server, monkeypatch
):
    setup = _record_decisions(demo_db)
    assert len(setup["contacts"]) >= 2
    result = _run(demo_db, smtp_server, setup["meeting_id"], monkeypatch)
    assert result.exit_code == 0, result.output
    assert "SHA-256" in result.output and f"sent {len(setup['contacts'])}" in result.output

    with demo_db.session(write=False) as session:
        row = session.execute(select(ReportFile)).scalar_one()
        meeting = session.get(Meeting, setup["meeting_id"])
        assert meeting.status == "releve_diffuse"
        deliveries = session.execute(select(EmailDelivery)).scalars().all()
    assert (row.kind, row.meeting_id) == ("releve", setup["meeting_id"])
    path = demo_db.settings.reports.dir / row.path
    assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()

    reader = PdfReader(path)
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r'pdfaid:part(="|>)3', xmp) and re.search(r'pdfaid:conformance(="|>)A', xmp)
    text = " ".join(pdftotext(path).split())  # lines wrapped by the layout joined again
    assert "Relevé de décisions du comité de pilotage du 2 juin 2026" in text
    assert (
        "Ouvrir un second chantier d’insertion" in text
        or "Ouvrir un second chantier d'insertion" in text
    )
    assert "15 novembre 2026" in text and len(reader.pages) == 1
    ((name, [data]),) = reader.attachments.items()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert name.startswith("decisions-") and [r["numero"] for r in rows] == ["1", "2"]
    assert rows[0]["echeance"] == DEMO_AS_OF.isoformat() and rows[1]["type"] == "information"

    # One message per contact, each with the PDF; the owner's contacts see theirs highlighted.
    received = {item.recipients[0]: item.message for item in smtp_server.received}
    assert set(received) == set(setup["contacts"])
    assert {d.dedup_key for d in deliveries} == {
        f"releve:meeting:{setup['meeting_id']}:contact:{d.contact_id}" for d in deliveries
    }
    for email, partner_id in setup["contacts"].items():
        message = received[email]
        html = message.get_body(("html",)).get_content()
        assert html.count('data-own="1"') == (1 if partner_id == setup["owner_id"] else 0)
        pdf = [part for part in message.iter_attachments()][0]
        assert pdf.get_content_type() == "application/pdf"
        assert pdf.get_content() == path.read_bytes()

    # Issued again: nothing is sent twice.
    again = _run(demo_db, smtp_server, setup["meeting_id"], monkeypatch)
    assert again.exit_code == 0, again.output
    assert len(smtp_server.received) == len(setup["contacts"])

    with demo_db.session() as session:
        chef = load_principal(
            session, session.execute(select(User).where(User.role == "chef_de_projet")).scalar_one()
        )
        decision = session.execute(
            select(service.Decision).where(
                service.Decision.number == 1, service.Decision.meeting_id == setup["meeting_id"]
            )
        ).scalar_one()
        try:
            service.update_decision(
                session, chef, decision, fields={"text": "Autre"}, as_of=DEMO_AS_OF
            )
        except Conflict as exc:
            assert "ne peut plus être modifié" in exc.detail
        else:
            raise AssertionError("the text of a sent relevé was changed")


def test_no_releve_before_the_meeting_is_held(demo_db, smtp_server, monkeypatch):
    result = _run(demo_db, smtp_server, new_meeting(demo_db), monkeypatch)
    assert result.exit_code == 1 and "pas encore tenu" in result.output
    with demo_db.session(write=False) as session:  # a held meeting without decisions
        held = (
            session.execute(
                select(Meeting.id).where(Meeting.kind == "cotech", Meeting.status == "tenue")
            )
            .scalars()
            .first()
        )
    result = _run(demo_db, smtp_server, held, monkeypatch)
    assert result.exit_code == 1 and "Aucune décision" in result.output
    assert smtp_server.received == []
