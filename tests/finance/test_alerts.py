"""Financial reports overdue: the daily check opens `justification_en_retard` alerts (once),
resolves them when the report is recorded, and the partner's summary email lists them."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select

from suivi.app import create_app
from suivi.commitments.models import INACTIVE_STATUSES
from suivi.commitments.models import Commitment
from suivi.contract.models import PartnerContact
from suivi.finance import service
from suivi.finance.alerts import check_justifications
from suivi.finance.models import FundingAlert
from suivi.jobs import JobContext
from suivi.jobs import registered_jobs
from suivi.notifications.summaries import summary_email
from suivi.notifications.summaries import summary_for_contact
from tests.support.api_clients import login


def _late_line(session):
    """A 2025 line paid without a report, of a partner that has a contact."""
    commitment, contact = session.execute(
        select(Commitment, PartnerContact)
        .join(PartnerContact, PartnerContact.partner_id == Commitment.lead_partner_id)
        .where(Commitment.status.not_in(INACTIVE_STATUSES))
        .order_by(Commitment.id, PartnerContact.id)
    ).first()
    line = service.create_line(
        session,
        commitment,
        fields={"partner_id": commitment.lead_partner_id, "year": 2025, "amount_voted": "8000",
                "voted_on": date(2025, 4, 3), "beneficiary_name": "Maison des jeunes"},
        payments=[(date(2025, 5, 1), "8000", "")],
        actor_id=None,
    )  # fmt: skip
    return line, contact


def _open(session, line_id):
    return list(
        session.execute(
            select(FundingAlert).where(
                FundingAlert.funding_line_id == line_id, FundingAlert.resolved_on.is_(None)
            )
        ).scalars()
    )


def test_alert_opens_once_after_six_months_and_resolves_with_the_report(demo_db):
    with demo_db.session() as session:
        line, _ = _late_line(session)
        check_justifications(session, as_of=date(2026, 6, 30))
        assert _open(session, line.id) == []
        first = check_justifications(session, as_of=date(2026, 7, 1))
        again = check_justifications(session, as_of=date(2026, 7, 2))
        alerts = _open(session, line.id)
        assert first.opened >= 1 and again.opened == 0
        assert [(a.kind, a.opened_on) for a in alerts] == [
            ("justification_en_retard", date(2026, 7, 1))
        ]
        assert alerts[0].details["due_on"] == "2026-06-30"
        service.update_line(
            session, line, version=line.version,
            fields={"amount_justified": "7950", "justified_on": date(2026, 7, 10)}, actor_id=None,
        )  # fmt: skip
        resolved = check_justifications(session, as_of=date(2026, 7, 11))
        assert resolved.resolved >= 1 and _open(session, line.id) == []


def test_the_daily_job_is_registered_and_runs_and_the_api_lists_the_alerts(demo_db):
    with demo_db.session() as session:
        line, _ = _late_line(session)
    job = registered_jobs()["check_justifications"]
    result = job(JobContext(engine=demo_db.engine, settings=demo_db.settings,
                            as_of=date(2026, 11, 15), trigger="manual"))  # fmt: skip
    assert result.counts["opened"] >= 1
    with demo_db.session(write=False) as session:
        assert len(_open(session, line.id)) == 1
    client = TestClient(create_app(demo_db.settings))
    token = login(client, "copil@example.org")
    listed = client.get("/api/funding-alerts", headers={"Authorization": f"Bearer {token}"})
    assert line.id in [a["funding_line_id"] for a in listed.json()]
    assert {a["kind"] for a in listed.json()} == {"justification_en_retard"}


def test_partner_summary_lists_overdue_reports(demo_db):
    with demo_db.session() as session:
        _, contact = _late_line(session)
        contact_id = contact.id
    with demo_db.session(write=False) as session:
        summary = summary_for_contact(
            session, demo_db.settings, contact_id, as_of=date(2026, 11, 15)
        )
    assert any("Maison des jeunes" in s for s in summary.overdue_justifications)
    email = summary_email(demo_db.settings, summary)
    assert "Justifications financières en retard" in email.text
    assert "compte rendu financier attendu au 30 juin 2026" in email.html
