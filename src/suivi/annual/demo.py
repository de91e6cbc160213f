"""Demo conseils citoyens, their contacts and one account, and the communes' consultation
addresses and DSU flags: enough to run the 2026 annual report cycle on the demo."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from suivi.annual.models import ConseilCitoyen
from suivi.annual.models import ConseilCitoyenContact
from suivi.annual.models import ConseilCitoyenMember
from suivi.annual.models import ConseilCitoyenQuartier
from suivi.auth.models import User
from suivi.auth.models import UserContract
from suivi.auth.models import UserScope
from suivi.contract.models import Commune
from suivi.contract.models import Contract
from suivi.contract.models import Quartier
from suivi.contract.models import QuartierCommune

CONSEIL_CITOYEN_USER = ("citoyen@example.org", "Chantal Conseil citoyen", "conseil_citoyen")
DEMO_CONSEILS = (
    # code, name, how many of the contract's quartiers (in code order), contacts
    (
        "CC-1",
        "Conseil citoyen des cités minières",
        2,
        (("Nadia Citoyenne", "nadia.citoyenne@example.org", "Coprésidente"),),
    ),
    (
        "CC-2",
        "Conseil citoyen du centre",
        1,
        (("Hugo Habitant", "hugo.habitant@example.org", "Secrétaire"),),
    ),
)
# The demo's communes receiving the DSU: the first ones holding a quartier (by name).
DSU_COMMUNES = 3


def add_demo_conseils(
    session: Session, contract: Contract, quartiers: list[Quartier], password_hash: str
) -> None:
    communes = list(
        session.execute(
            select(Commune)
            .where(
                Commune.id.in_(
                    select(QuartierCommune.commune_id).where(
                        QuartierCommune.quartier_id.in_([q.id for q in quartiers])
                    )
                )
            )
            .order_by(Commune.name)
        ).scalars()
    )
    for rank, commune in enumerate(communes):
        commune.council_email = f"conseil-municipal.{commune.insee}@example.org"
        commune.receives_dsu = rank < DSU_COMMUNES
    start = 0
    first = None
    for code, name, count, contacts in DEMO_CONSEILS:
        conseil = ConseilCitoyen(contract_id=contract.id, code=code, name=name)
        session.add(conseil)
        session.flush()
        for quartier in quartiers[start : start + count]:
            session.add(
                ConseilCitoyenQuartier(conseil_citoyen_id=conseil.id, quartier_id=quartier.id)
            )
        for contact_name, email, role in contacts:
            session.add(
                ConseilCitoyenContact(
                    conseil_citoyen_id=conseil.id, name=contact_name, email=email, role=role
                )
            )
        first = first or (conseil, quartiers[start : start + count])
        start += count
    email, full_name, role = CONSEIL_CITOYEN_USER
    user = User(email=email, full_name=full_name, role=role, password_hash=password_hash)
    session.add(user)
    session.flush()
    session.add(UserContract(user_id=user.id, contract_id=contract.id))
    conseil, its_quartiers = first
    session.add(ConseilCitoyenMember(user_id=user.id, conseil_citoyen_id=conseil.id))
    for quartier in its_quartiers:
        session.add(UserScope(user_id=user.id, quartier_id=quartier.id))
    session.flush()
