"""« Financements » pages: a vote and two payments through the forms, the partner's page
showing the same amounts as the API roll-up to the cent, the rules refused in French with
nothing written, and scope (no form for the committee, another partner's page is a 404)."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlalchemy import select

from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentQuartier
from suivi.contract.models import Quartier
from suivi.finance import service
from suivi.finance.models import FundingPayment
from suivi.formatting import format_euros
from tests.support.api_clients import login as api_login
from tests.support.web_clients import AS_OF


def _requested_line(web) -> tuple[int, int]:
    """A line asked for (not yet voted) on a commitment the project manager may change."""
    with web.db.session() as session:
        commitment = session.get(Commitment, web.ids["in_commitment"])
        line = service.create_line(
            session,
            commitment,
            fields={"partner_id": commitment.lead_partner_id, "year": 2026,
                    "amount_requested": "15000", "beneficiary_name": "Régie de quartier"},
            actor_id=None,
        )  # fmt: skip
        return line.id, commitment.lead_partner_id


def _payments(web) -> int:
    with web.db.session(write=False) as session:
        return session.execute(select(func.count()).select_from(FundingPayment)).scalar_one()


def test_vote_and_two_payments_through_the_forms_match_the_roll_up(web):
    line_id, partner_id = _requested_line(web)
    chef = web["chef_de_projet"]
    page = chef.get(f"/financements/lignes/{line_id}?as_of={AS_OF}")
    assert page.status_code == 200 and "Enregistrer la décision" in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    vote = chef.post(
        f"/financements/lignes/{line_id}",
        {"version": version, "amount_voted": "12 000,00", "voted_on": "2026-04-14",
         "vote_reference": "Délibération 2026-041"},
        htmx=False,
    )  # fmt: skip
    assert vote.status_code == 303, vote.text
    for paid_on, amount in (("2026-05-05", "7 200"), ("2026-10-20", "4 799,99")):
        paid = chef.post(
            f"/financements/lignes/{line_id}/versements",
            {"paid_on": paid_on, "amount": amount},
            htmx=False,
        )
        assert paid.status_code == 303, paid.text
    line = chef.get(f"/financements/lignes/{line_id}?as_of={AS_OF}").text
    assert format_euros(Decimal("11999.99")) in line
    assert "20 octobre 2026" in line

    money = chef.get(f"/partenaires/{partner_id}/financements?annee=2026&as_of={AS_OF}")
    assert money.status_code == 200
    api = TestClient(web.app)
    bearer = api_login(api, "chef@example.org")
    rollup = api.get(
        f"/api/rollups/funding?year=2026&partner_id={partner_id}&as_of={AS_OF}",
        headers={"Authorization": f"Bearer {bearer}"},
    ).json()
    for key in ("planned", "voted", "paid", "justified"):
        shown = re.search(rf'data-measure="{key}">([^<]+)<', money.text).group(1)
        assert shown == format_euros(Decimal(rollup["total"][key])), key
    assert Decimal(rollup["total"]["paid"]) >= Decimal("11999.99")
    assert "<svg" in money.text


def test_a_payment_above_the_vote_is_refused_in_french_and_nothing_is_written(web):
    line_id, _ = _requested_line(web)
    chef = web["chef_de_projet"]
    chef.post(
        f"/financements/lignes/{line_id}",
        {"version": "1", "amount_voted": "1000", "voted_on": "2026-04-14"},
        htmx=False,
    )
    before = _payments(web)
    refused = chef.post(
        f"/financements/lignes/{line_id}/versements",
        {"paid_on": "2026-05-05", "amount": "1000,01"},
        htmx=False,
    )
    assert refused.status_code == 422
    assert "indiquez le motif du dépassement" in refused.text
    assert 'aria-invalid="true"' in refused.text
    early = chef.post(
        f"/financements/lignes/{line_id}/versements",
        {"paid_on": "2026-04-13", "amount": "10"},
        htmx=False,
    )
    assert early.status_code == 422 and "précède le vote" in early.text
    assert _payments(web) == before


def test_committee_reads_without_forms_and_a_partner_only_its_own_page(web):
    line_id, partner_id = _requested_line(web)
    copil = web["copil"].get(f"/financements/lignes/{line_id}?as_of={AS_OF}")
    assert copil.status_code == 200 and "Enregistrer la décision" not in copil.text
    refused = web["copil"].post(
        f"/financements/lignes/{line_id}/versements",
        {"paid_on": "2026-05-05", "amount": "1"},
        htmx=False,
    )
    assert refused.status_code == 403
    own, other = web.ids["own_partner"], web.ids["other_partner"]
    assert web["partenaire"].get(f"/partenaires/{own}/financements").status_code == 200
    assert web["partenaire"].get(f"/partenaires/{other}/financements").status_code == 404
    if partner_id != own:
        assert web["partenaire"].get(f"/financements/lignes/{line_id}").status_code == 404


def test_quartier_money_page(web):
    with web.db.session(write=False) as session:
        code = session.execute(
            select(Quartier.code)
            .join(CommitmentQuartier, CommitmentQuartier.quartier_id == Quartier.id)
            .order_by(Quartier.code)
        ).scalar()
    page = web["chef_de_projet"].get(f"/quartiers/{code}/financements?annee=2026&as_of={AS_OF}")
    assert page.status_code == 200
    assert "Par partenaire" in page.text and "Justifications en retard" in page.text


def test_a_new_line_from_the_commitment_page(web):
    chef = web["chef_de_projet"]
    commitment_id = web.ids["in_commitment"]
    page = chef.get(f"/engagements/{commitment_id}?as_of={AS_OF}")
    assert f"/engagements/{commitment_id}/financements/nouveau" in page.text
    form = chef.get(f"/engagements/{commitment_id}/financements/nouveau?as_of={AS_OF}")
    partner_id = re.search(r'<option value="(\d+)"', form.text).group(1)
    url = f"/engagements/{commitment_id}/financements/nouveau"
    body = {"partner_id": partner_id, "year": "2026", "amount_requested": "9 500",
            "beneficiary_name": "Association Trait d'union"}  # fmt: skip
    refused = chef.post(url, {**body, "beneficiary_siret": "12345678901234"}, htmx=False)
    assert refused.status_code == 422 and "clé de contrôle" in refused.text
    created = chef.post(url, {**body, "beneficiary_siret": "73282932000074"}, htmx=False)
    assert created.status_code == 303
    assert "/financements/lignes/" in created.headers["location"]
    assert web["copil"].get(url).status_code == 403
