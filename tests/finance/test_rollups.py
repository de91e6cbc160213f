"""The money roll-up: co-funded money counted once (planned split by `partner_shares`, one
partner per line), overdue financial reports, and the CPO share of association funding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from suivi.commitments.models import INACTIVE_STATUSES
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentAmount
from suivi.commitments.models import CommitmentPartner as CoPartner
from suivi.finance import service
from suivi.finance.rollups import funding_rollup


def _co_funded(session) -> tuple[Commitment, int, Decimal]:
    """An active demo commitment with a co-partner and a planned amount for 2026."""
    commitment, co_partner, amount = session.execute(
        select(Commitment, CoPartner.partner_id, CommitmentAmount.amount)
        .join(CoPartner, CoPartner.commitment_id == Commitment.id)
        .join(CommitmentAmount, CommitmentAmount.commitment_id == Commitment.id)
        .where(
            CommitmentAmount.year == 2026,
            Commitment.status.not_in(INACTIVE_STATUSES),
            CoPartner.share > 0,
        )
        .order_by(Commitment.id)
    ).first()
    return commitment, co_partner, Decimal(amount)


def _line(session, commitment, partner_id, year, voted, payments=(), **extra):
    return service.create_line(
        session,
        commitment,
        fields={
            "partner_id": partner_id,
            "year": year,
            "amount_voted": voted,
            "voted_on": date(year, 4, 1),
            **extra,
        },
        payments=[(date(year, 5, 1), amount, "") for amount in payments],
        actor_id=None,
    )


def _rollup(session, commitment, **kw):
    return funding_rollup(
        session, None, contract_id=commitment.contract_id, as_of=date(2026, 11, 15), **kw
    )


def test_co_funded_money_is_counted_once(demo_db):
    with demo_db.session() as session:
        commitment, co_partner, planned = _co_funded(session)
        before = _rollup(session, commitment, year=2026)
        _line(session, commitment, commitment.lead_partner_id, 2026, "700.10", ["700.10"])
        _line(session, commitment, co_partner, 2026, "300.05", ["100"])
        after = _rollup(session, commitment, year=2026)
        lead = _rollup(session, commitment, year=2026, partner_id=commitment.lead_partner_id)
        co = _rollup(session, commitment, year=2026, partner_id=co_partner)
    assert after.total.voted - before.total.voted == Decimal("1000.15")
    assert after.total.paid - before.total.paid == Decimal("800.10")
    assert after.total.planned == before.total.planned  # lines do not change what was planned
    # The partners' groups add up to the whole (to rounding): nothing counted twice.
    for measure in ("planned", "voted", "paid"):
        groups = sum((getattr(t, measure) for t in after.by_partner.values()), Decimal(0))
        assert abs(groups - getattr(after.total, measure)) <= Decimal("0.01") * len(
            after.by_partner
        )
    # Each partner's own view is its group of the whole.
    assert lead.total == after.by_partner[commitment.lead_partner_id]
    assert co.total == after.by_partner[co_partner]
    assert planned > 0


def test_a_report_missing_six_months_after_the_year_is_overdue(demo_db):
    with demo_db.session() as session:
        commitment, _, _ = _co_funded(session)
        late = _line(session, commitment, commitment.lead_partner_id, 2025, "5000", ["2500"])
        _line(session, commitment, commitment.lead_partner_id, 2025, "4000", ["4000"],
              amount_justified="4000", justified_on=date(2026, 5, 2))  # fmt: skip
        _line(session, commitment, commitment.lead_partner_id, 2025, "3000")  # nothing paid

        def overdue(day):
            rollup = funding_rollup(session, None, contract_id=commitment.contract_id, as_of=day)
            return [o.line_id for o in rollup.overdue if o.commitment_id == commitment.id]

        assert overdue(date(2026, 6, 30)) == []
        assert overdue(date(2026, 7, 1)) == [late.id]


def test_cpo_share_of_association_funding(demo_db):
    with demo_db.session() as session:
        commitment, co_partner, _ = _co_funded(session)
        association = {"beneficiary_rna": "W623001234", "beneficiary_name": "Asso"}
        _line(session, commitment, commitment.lead_partner_id, 2026, "6000", cpo=True,
              cpo_first_year=2025, cpo_last_year=2027, **association)  # fmt: skip
        _line(session, commitment, co_partner, 2026, "4000", **association)
        _line(session, commitment, co_partner, 2026, "9999")  # not an association
        rollup = funding_rollup(
            session, None, contract_id=commitment.contract_id, as_of=date(2026, 11, 15), year=2026
        )
    assert rollup.association_voted - rollup.cpo_voted >= Decimal("4000")
    assert rollup.cpo_voted >= Decimal("6000")
    assert rollup.cpo_share == rollup.cpo_voted / rollup.association_voted
