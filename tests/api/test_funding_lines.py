"""Money through the API: a vote and its payments, the rules refused with French errors and
nothing written, scoping (a partner sees and changes only its own lines), audit rows, and the
roll-up to the cent."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func
from sqlalchemy import select

from suivi.audit.models import AuditEvent
from suivi.commitments.models import Commitment
from suivi.finance.models import FundingLine
from suivi.finance.models import FundingPayment

SIRET = "73282932000074"


def _lead(api, commitment_id: int) -> int:
    with api.db.session(write=False) as session:
        return session.get(Commitment, commitment_id).lead_partner_id


def _count(api, model) -> int:
    with api.db.session(write=False) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _line_body(partner_id: int, **extra) -> dict:
    return {
        "partner_id": partner_id,
        "year": 2026,
        "amount_requested": "12000.00",
        "amount_voted": "10000.00",
        "vote_reference": "CP 2026-04-12",
        "voted_on": "2026-04-10",
        "beneficiary_name": "Association Les Jardins du 12-14",
        "beneficiary_siret": SIRET,
        "beneficiary_rna": "W623001234",
        **extra,
    }


def _create(api, role="chef_de_projet", **extra):
    commitment_id = api.ids["in"]["commitment_id"]
    body = _line_body(extra.pop("partner_id", _lead(api, commitment_id)), **extra)
    return api.post(role, f"/api/commitments/{commitment_id}/funding-lines", json=body)


def test_vote_then_two_payments_roll_up_to_the_cent(api):
    created = _create(api)
    assert created.status_code == 201, created.text
    line = created.json()
    assert line["amount_voted"] == "10000.00" and line["amount_paid"] == "0"
    for paid_on, amount in (("2026-05-02", "6000.00"), ("2026-10-15", "3999.99")):
        response = api.post(
            "chef_de_projet",
            f"/api/funding-lines/{line['id']}/payments",
            json={"paid_on": paid_on, "amount": amount},
        )
        assert response.status_code == 201, response.text
    assert response.json()["amount_paid"] == "9999.99"
    assert [p["paid_on"] for p in response.json()["payments"]] == ["2026-05-02", "2026-10-15"]
    listed = api.get("copil", f"/api/commitments/{line['commitment_id']}/funding-lines").json()
    assert line["id"] in [item["id"] for item in listed]

    rollup = api.get(
        "admin", f"/api/rollups/funding?year=2026&partner_id={line['partner_id']}"
    ).json()
    with api.db.session(write=False) as session:
        voted = session.execute(
            select(func.sum(FundingLine.amount_voted)).where(
                FundingLine.year == 2026, FundingLine.partner_id == line["partner_id"]
            )
        ).scalar_one()
        paid = session.execute(
            select(func.sum(FundingPayment.amount))
            .join(FundingLine, FundingLine.id == FundingPayment.funding_line_id)
            .where(FundingLine.year == 2026, FundingLine.partner_id == line["partner_id"])
        ).scalar_one()
    assert Decimal(rollup["total"]["voted"]) == voted
    assert Decimal(rollup["total"]["paid"]) == paid
    by_partner = {g["key"]: g for g in rollup["by_partner"]}
    assert Decimal(by_partner[line["partner_id"]]["paid"]) == paid


def test_rules_are_refused_in_french_and_nothing_is_written(api):
    line = _create(api).json()
    url = f"/api/funding-lines/{line['id']}/payments"
    before = (_count(api, FundingPayment), _count(api, AuditEvent))
    early = api.post("chef_de_projet", url, json={"paid_on": "2026-04-09", "amount": 10})
    assert early.status_code == 422
    assert early.json()["field"] == "paid_on" and "précède le vote" in early.json()["detail"]
    above = api.post("chef_de_projet", url, json={"paid_on": "2026-05-01", "amount": "10000.01"})
    assert above.status_code == 422
    assert above.json()["field"] == "overrun_reason"
    assert "motif du dépassement" in above.json()["detail"]
    assert (_count(api, FundingPayment), _count(api, AuditEvent)) == before

    reason = api.client.patch(
        f"/api/funding-lines/{line['id']}",
        headers=api.headers("chef_de_projet"),
        json={"version": line["version"], "overrun_reason": "Avenant : +500 € de matériel"},
    )
    assert reason.status_code == 200, reason.text
    above = api.post("chef_de_projet", url, json={"paid_on": "2026-05-01", "amount": "10000.01"})
    assert above.status_code == 201
    justified = api.client.patch(
        f"/api/funding-lines/{line['id']}",
        headers=api.headers("chef_de_projet"),
        json={
            "version": above.json()["version"],
            "amount_justified": "10000.02",
            "justified_on": "2027-03-01",
        },  # fmt: skip
    )
    assert justified.status_code == 422 and justified.json()["field"] == "amount_justified"


def test_bad_siret_and_rna_are_refused(api):
    before = _count(api, FundingLine)
    siret = _create(api, beneficiary_siret="73282932000075")
    assert siret.status_code == 422 and siret.json()["field"] == "beneficiary_siret"
    assert "clé de contrôle" in siret.json()["detail"]
    rna = _create(api, beneficiary_rna="623001234")
    assert rna.status_code == 422 and rna.json()["field"] == "beneficiary_rna"
    assert _count(api, FundingLine) == before


def test_every_change_is_audited(api):
    line = _create(api).json()
    api.post(
        "chef_de_projet",
        f"/api/funding-lines/{line['id']}/payments",
        json={"paid_on": "2026-06-01", "amount": 100},
    )
    with api.db.session(write=False) as session:
        events = list(
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.entity == "funding_line", AuditEvent.entity_id == str(line["id"]))
                .order_by(AuditEvent.id)
            ).scalars()
        )
    assert [e.action for e in events] == ["create", "update"]
    assert events[1].after["payments"] == [
        {"paid_on": "2026-06-01", "amount": "100.00", "reference": ""}
    ]
    assert events[1].actor_id == api.user_ids["chef_de_projet"]


def test_a_partner_sees_and_changes_only_its_own_lines(api):
    own_partner = api.ids["in"]["partner_id"]
    commitment_id = api.ids["in"]["commitment_id"]
    lead = _lead(api, commitment_id)
    other = _create(api)  # the lead's line, written by the project manager
    assert other.status_code == 201
    if lead != own_partner:
        listed = api.get("partenaire", f"/api/commitments/{commitment_id}/funding-lines").json()
        assert other.json()["id"] not in [item["id"] for item in listed]
        patch = api.client.patch(
            f"/api/funding-lines/{other.json()['id']}",
            headers=api.headers("partenaire"),
            json={"version": 1, "vote_reference": "x"},
        )
        assert patch.status_code == 404
        refused = _create(api, role="partenaire", partner_id=lead)
        assert refused.status_code == 403
    own = _create(api, role="partenaire", partner_id=own_partner)
    assert own.status_code == 201, own.text
    paid = api.post(
        "partenaire",
        f"/api/funding-lines/{own.json()['id']}/payments",
        json={"paid_on": "2026-06-01", "amount": 50},
    )
    assert paid.status_code == 201
    rollup = api.get("partenaire", "/api/rollups/funding?year=2026").json()
    assert {g["key"] for g in rollup["by_partner"]} <= {own_partner}
    out = api.ids["out"]["commitment_id"]
    assert api.get("partenaire", f"/api/commitments/{out}/funding-lines").status_code == 404
    copil = _create(api, role="copil")
    assert copil.status_code == 403


def test_a_funder_must_be_a_partner_of_the_commitment(api):
    commitment_id = api.ids["in"]["commitment_id"]
    with api.db.session(write=False) as session:
        from suivi.commitments.models import CommitmentPartner
        from suivi.contract.models import Partner

        involved = {session.get(Commitment, commitment_id).lead_partner_id} | set(
            session.execute(
                select(CommitmentPartner.partner_id).where(
                    CommitmentPartner.commitment_id == commitment_id
                )
            ).scalars()
        )
        stranger = session.execute(
            select(Partner.id).where(Partner.id.not_in(involved)).order_by(Partner.id)
        ).scalar()
    response = _create(api, role="admin", partner_id=stranger)
    assert response.status_code == 422 and response.json()["field"] == "partner_id"
