"""The money section of the reports: the COPIL and partner PDFs show the year's planned,
voted, paid and justified amounts equal, to the cent, to `GET /api/rollups/funding`, and
the overdue financial reports."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select

from suivi.app import create_app
from suivi.commitments.models import INACTIVE_STATUSES
from suivi.commitments.models import Commitment
from suivi.contract.models import Partner
from suivi.finance import service
from suivi.formatting import format_euros
from tests.support.api_clients import login
from tests.support.reports import PARTNER_CODE
from tests.support.reports import build
from tests.support.reports import render

MEASURES = ("planned", "voted", "paid", "justified")


def _money(db) -> int:
    """France Travail: a 2026 line voted and paid twice, and a 2025 line paid, not justified."""
    with db.session() as session:
        partner_id = session.execute(
            select(Partner.id).where(Partner.code == PARTNER_CODE)
        ).scalar()
        commitment = (
            session.execute(
                select(Commitment)
                .where(
                    Commitment.lead_partner_id == partner_id,
                    Commitment.status.not_in(INACTIVE_STATUSES),
                )
                .order_by(Commitment.id)
            )
            .scalars()
            .first()
        )

        def line(year, voted, payments, name):
            service.create_line(
                session,
                commitment,
                fields={"partner_id": partner_id, "year": year, "amount_voted": voted,
                        "voted_on": date(year, 4, 2), "beneficiary_name": name},
                payments=[(day, amount, "") for day, amount in payments],
                actor_id=None,
            )  # fmt: skip

        line(2026, "41234.56", [(date(2026, 5, 4), "20000.01"), (date(2026, 10, 5), "10000.02")],
             "Association Passerelles")  # fmt: skip
        line(2025, "12000", [(date(2025, 6, 1), "12000")], "Atelier Chantier")
    return partner_id


def _api_totals(db, partner_id=None) -> dict[str, str]:
    client = TestClient(create_app(db.settings))
    token = login(client, "admin@example.org")
    url = "/api/rollups/funding?year=2026&as_of=2026-11-15"
    if partner_id is not None:
        url += f"&partner_id={partner_id}"
    total = client.get(url, headers={"Authorization": f"Bearer {token}"}).json()["total"]
    return {key: format_euros(float(total[key])) for key in MEASURES}


def _flat(text: str) -> str:
    """PDF text on one line, with ordinary spaces (the layout breaks lines anywhere)."""
    return " ".join(text.replace("\u202f", " ").split())


def _shown(money) -> dict[str, str]:
    return {key: format_euros(getattr(money.total, key)) for key in MEASURES}


def test_partner_and_copil_reports_match_the_api_to_the_cent(demo_db):
    partner_id = _money(demo_db)
    partner = render(demo_db, build(demo_db, "partner", str(partner_id)), "partner-money")
    expected = _api_totals(demo_db, partner_id)
    assert _shown(partner.context.money) == expected
    text = _flat(partner.text)
    assert "Exécution financière 2026" in text
    assert _flat("Total " + " ".join(expected[key] for key in MEASURES)) in text
    start = text.index("Justifications en retard")
    section = text[start : text.index("Détail des engagements", start)]
    assert "2025 France Travail Atelier Chantier" in section, section
    assert f"{_flat(format_euros(12000))} 30 juin 2026" in section, section

    copil = build(demo_db, "copil")
    expected = _api_totals(demo_db)
    assert _shown(copil.money) == expected
    if demo_db.backend == "sqlite":  # the layout does not depend on the backend
        text = _flat(render(demo_db, copil, "copil-money").text)
        assert "Exécution financière 2026" in text
        assert _flat("Total " + " ".join(expected[key] for key in MEASURES)) in text
