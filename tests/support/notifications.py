"""Notification fixtures' data: a ready outgoing email, the demo's Monday, and reminder
recipients (one contributor per leading partner, a project manager scoped to one partner)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from suivi.auth.models import User
from suivi.auth.models import UserContract
from suivi.auth.models import UserScope
from suivi.commitments.models import Commitment
from suivi.contract.models import Contract
from suivi.contract.models import Partner
from suivi.notifications.email import OutgoingEmail
from tests.support.databases import DEMO_AS_OF

MONDAY = DEMO_AS_OF + timedelta(days=1)  # 2026-11-16, week 47


def outgoing(key: str = "reminder:user:1:2026-W48", to: str = "camille@example.org", **extra):
    return OutgoingEmail(
        dedup_key=key,
        kind="reminder",
        period="2026-W48",
        recipient=to,
        subject="Suivi du contrat de ville — essai",
        text="Bonjour,\nDonnées fictives de démonstration\n",
        html="<p>Bonjour,</p><p>Données fictives de démonstration</p>",
        **extra,
    )


def add_recipients(db) -> dict[str, int]:
    """One partner contributor per partner leading a commitment, and a project manager
    scoped to one partner. Returns {email: user id}."""
    with db.session() as session:
        contract_id = session.execute(select(Contract.id)).scalar_one()
        leading = Partner.id.in_(select(Commitment.lead_partner_id))
        leads = session.scalars(select(Partner).where(leading).order_by(Partner.id)).all()
        users = []
        for partner in leads:
            users.append(
                User(
                    email=f"contrib.{partner.code}@example.org",
                    full_name=f"Contributeur {partner.name}",
                    password_hash="x",
                    role="partenaire",
                    partner_id=partner.id,
                )
            )
        chef = User(
            email="chef.partenaire@example.org",
            full_name="Chef scopé",
            password_hash="x",
            role="chef_de_projet",
        )
        users.append(chef)
        session.add_all(users)
        session.flush()
        for user in users:
            session.add(UserContract(user_id=user.id, contract_id=contract_id))
        session.add(UserScope(user_id=chef.id, partner_id=leads[0].id))
        return {user.email: user.id for user in users}
