"""A monthly email to each conseil citoyen's contacts: the commitments touching its
quartiers, their status and progress (the same figures as the public page, nothing
personal), through the shared email layer (one delivery per contact and month)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine
from sqlalchemy import select

from suivi.annual.models import ConseilCitoyen
from suivi.annual.models import ConseilCitoyenContact
from suivi.annual.models import ConseilCitoyenQuartier
from suivi.config import Settings
from suivi.contract.models import Contract
from suivi.contract.models import Quartier
from suivi.db import session_scope
from suivi.notifications.email import OutgoingEmail
from suivi.notifications.email import render_email
from suivi.notifications.sending import Planned
from suivi.notifications.sending import Sender
from suivi.public.service import quartier_detail

KIND = "conseil_summary"
TEMPLATE = "conseil_summary"


def summary_dedup_key(contact_id: int, period: str) -> str:
    return f"{KIND}:contact:{contact_id}:{period}"


def conseil_messages(session, settings: Settings, as_of: date) -> list[OutgoingEmail]:
    period = f"{as_of.year:04d}-{as_of.month:02d}"
    messages = []
    for conseil in session.execute(select(ConseilCitoyen).order_by(ConseilCitoyen.id)).scalars():
        contract = session.get(Contract, conseil.contract_id)
        codes = session.execute(
            select(Quartier.code)
            .join(ConseilCitoyenQuartier, ConseilCitoyenQuartier.quartier_id == Quartier.id)
            .where(ConseilCitoyenQuartier.conseil_citoyen_id == conseil.id)
            .order_by(Quartier.code)
        ).scalars()
        quartiers = [quartier_detail(session, contract, code, as_of) for code in codes]
        subject = f"Le point du mois sur vos quartiers — {conseil.name}"
        context = {
            "subject": subject,
            "contract_name": contract.name,
            "is_demo": contract.is_demo,
            "conseil_name": conseil.name,
            "as_of": as_of,
            "quartiers": [q for q in quartiers if q is not None],
            "public_url": f"{settings.app.base_url.rstrip('/')}/public/quartiers/",
        }
        text, html = render_email(settings, TEMPLATE, context)
        contacts = session.execute(
            select(ConseilCitoyenContact)
            .where(ConseilCitoyenContact.conseil_citoyen_id == conseil.id)
            .order_by(ConseilCitoyenContact.id)
        ).scalars()
        messages.extend(
            OutgoingEmail(
                dedup_key=summary_dedup_key(contact.id, period),
                kind=KIND,
                period=period,
                recipient=contact.email,
                subject=subject,
                text=text,
                html=html,
            )
            for contact in contacts
        )
    return messages


def _planned(engine: Engine, settings: Settings, as_of: date) -> Planned:
    with session_scope(engine) as session:
        messages = conseil_messages(session, settings, as_of)
    return Planned(messages, {"contacts": len(messages)})


# The month's summaries to the conseils citoyens.
send_conseil_summaries = Sender(_planned)
