"""The database itself refuses bad rows: foreign keys, enums, ranges, uniques."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from suivi.auth.models import User
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentAmount
from suivi.contract.models import Contract
from suivi.contract.models import Partner
from suivi.contract.models import Priority
from tests.support.indicators import new_indicator


def _ids(session):
    contract = session.exec(select(Contract)).one()
    partner = session.exec(select(Partner)).first()
    priority = session.exec(select(Priority)).first()
    return contract.id, partner.id, priority.id


def _commitment(ids, **overrides):
    contract_id, partner_id, priority_id = ids
    values = dict(
        contract_id=contract_id,
        code="T-1",
        title="Test",
        lead_partner_id=partner_id,
        priority_id=priority_id,
        start_date=date(2025, 1, 1),
        end_date=date(2030, 12, 31),
        status="en_cours",
        funding_type="droit_commun",
    )
    values.update(overrides)
    return Commitment(**values)


def _assert_refused(db, build):
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(build(_ids(session)))
        session.flush()


@pytest.mark.parametrize(
    "overrides",
    [
        {"lead_partner_id": 999_999},  # unknown partner
        {"priority_id": 999_999},  # unknown priority
        {"status": "termine"},  # not a lifecycle status
        {"funding_type": "loto"},  # not a funding type
        {"start_date": date(2030, 1, 1), "end_date": date(2025, 1, 1)},  # period reversed
    ],
)
def test_bad_commitments_are_refused(reference_db, overrides):
    _assert_refused(reference_db, lambda ids: _commitment(ids, **overrides))


def test_duplicate_commitment_code_is_refused(reference_db):
    with reference_db.session() as session:
        session.add(_commitment(_ids(session)))
    _assert_refused(reference_db, _commitment)


def test_negative_amount_is_refused(reference_db):
    with reference_db.session() as session:
        commitment = _commitment(_ids(session))
        session.add(commitment)
        session.flush()
        commitment_id = commitment.id
    with pytest.raises(IntegrityError), reference_db.session() as session:
        session.add(CommitmentAmount(commitment_id=commitment_id, year=2026, amount=Decimal("-1")))
        session.flush()


@pytest.mark.parametrize(
    "overrides",
    [
        {"tolerance": 0.0},
        {"tolerance": 1.5},
        {"direction": "sideways"},
        {"frequency": "weekly"},
        {"grace_days": -1},
    ],
)
def test_bad_indicators_are_refused(reference_db, overrides):
    with reference_db.session() as session:
        commitment = _commitment(_ids(session))
        session.add(commitment)
        session.flush()
        ids = {"contract_id": commitment.contract_id, "commitment_id": commitment.id}
    with pytest.raises(IntegrityError), reference_db.session() as session:
        session.add(new_indicator(**ids, **overrides))
        session.flush()


def test_partner_account_needs_a_partner(reference_db):
    with pytest.raises(IntegrityError), reference_db.session() as session:
        session.add(User(email="x@example.org", password_hash="x", role="partenaire"))
        session.flush()


def test_unknown_role_is_refused(reference_db):
    with pytest.raises(IntegrityError), reference_db.session() as session:
        session.add(User(email="x@example.org", password_hash="x", role="superuser"))
        session.flush()
