"""Shared helpers of the figure review tests: the demo's France Travail figures and users."""

from __future__ import annotations

from sqlalchemy import select

from suivi import scoping
from suivi.audit.models import AuditEvent
from suivi.auth.models import User
from suivi.auth.principal import load_principal
from suivi.commitments.models import Commitment
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.review import owner_partner_id


def france_travail_indicators(db) -> list[int]:
    """Indicators led and owned by France Travail (its validator reads them), demo order."""
    with db.session(write=False) as session:
        partner_id = session.execute(
            select(Partner.id).where(Partner.code == "france-travail")
        ).scalar_one()
        return list(
            session.execute(
                select(Indicator.id)
                .join(Commitment, Commitment.id == Indicator.commitment_id)
                .where(
                    Commitment.lead_partner_id == partner_id,
                    owner_partner_id() == partner_id,
                )
                .order_by(Indicator.id)
            ).scalars()
        )


def unreadable_by_partner(db) -> int:
    """An indicator the France Travail account may not even read."""
    with db.session(write=False) as session:
        user = session.execute(select(User).where(User.role == "partenaire")).scalar_one()
        partner = load_principal(session, user)
        return session.execute(
            select(Indicator.id)
            .join(Commitment, Commitment.id == Indicator.commitment_id)
            .where(~scoping.commitment_condition(partner))
            .order_by(Indicator.id)
            .limit(1)
        ).scalar_one()


def measurement(db, measurement_id: int) -> Measurement:
    with db.session(write=False) as session:
        row = session.get(Measurement, measurement_id)
        session.expunge(row)
        return row


def autumn_copil(db) -> Meeting:
    with db.session(write=False) as session:
        meeting = session.execute(
            select(Meeting).where(Meeting.title == "Comité de pilotage 2026")
        ).scalar_one()
        session.expunge(meeting)
        return meeting


def local_indicator_of(db, role: str = "chef_de_projet") -> int:
    """An indicator owned by the CALL or a commune, in this project manager's write scope."""
    with db.session(write=False) as session:
        user = session.execute(select(User).where(User.role == role)).scalar_one()
        chef = load_principal(session, user)
        return session.execute(
            select(Indicator.id)
            .join(Commitment, Commitment.id == Indicator.commitment_id)
            .join(Partner, Partner.id == owner_partner_id())
            .where(
                Partner.kind.in_(("commune", "epci")),
                Commitment.id.in_(
                    select(Commitment.id).where(scoping.commitment_condition(chef, write=True))
                ),
            )
            .order_by(Indicator.id)
            .limit(1)
        ).scalar_one()


def audit_rows(db, entity: str, entity_id: int) -> list[AuditEvent]:
    """The audit rows of one object, oldest first (detached)."""
    with db.session(write=False) as session:
        rows = (
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
                .order_by(AuditEvent.id)
            )
            .scalars()
            .all()
        )
        for row in rows:
            session.expunge(row)
        return rows
