"""Subsidies for the SCDL tests (the demo's funders have no SIRET, so the demo publishes
none): 2026 lines of one funder given a SIRET, above, at and below the 23 000 € threshold."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from suivi.commitments.models import Commitment
from suivi.contract.models import Partner
from suivi.finance import service

FUNDER_SIRET = "21620498000009"  # invented, with a right Luhn key


def add_subsidies(db) -> int:
    """Three 2026 lines of one funder with a SIRET: above, at and below the threshold, and a
    line of a funder without SIRET."""
    with db.session() as session:
        commitment = session.execute(select(Commitment).order_by(Commitment.id)).scalars().first()
        funder = session.get(Partner, commitment.lead_partner_id)
        funder.siret = FUNDER_SIRET
        session.add(funder)

        def line(voted, name, payments=(), **extra):
            service.create_line(
                session,
                commitment,
                fields={"partner_id": funder.id, "year": 2026, "amount_voted": voted,
                        "voted_on": date(2026, 3, 27), "vote_reference": "DEL-2026-027",
                        "beneficiary_name": name, **extra},
                payments=[(day, amount, "") for day, amount in payments],
                actor_id=None,
            )  # fmt: skip

        line("48000.50", "Association « Les Bâtisseurs »", [(date(2026, 4, 15), "24000"),
             (date(2026, 9, 15), "24000.50")], beneficiary_rna="W623001234")  # fmt: skip
        line("23000.01", "=Régie de quartier", [(date(2026, 5, 2), "23000.01")],
             beneficiary_siret="52499120500005")  # fmt: skip
        line("23000.00", "Petite association", beneficiary_rna="W623009999")
        line("30000", "Sans identifiant")
        return funder.id
