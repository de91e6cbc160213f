"""Partner contacts: the people who receive a partner's email summary.

A contact is personal data: each has a random unsubscribe token (the link in every summary
works without logging in), and every change — including an unsubscription through the link —
writes an audit row in the same transaction. Services never commit; the request or job does.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from email_validator import EmailNotValidError
from email_validator import validate_email
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlmodel import Session

from suivi import scoping
from suivi.audit.service import Actor
from suivi.audit.service import record_change
from suivi.audit.service import snapshot
from suivi.auth.principal import Principal
from suivi.codes import CONTACT_FREQUENCIES
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.db import utcnow
from suivi.errors import Conflict
from suivi.errors import Forbidden
from suivi.errors import Invalid
from suivi.errors import NotFound
from suivi.governance.models import Decision
from suivi.indicators.models import Indicator
from suivi.notifications.models import EmailDelivery

CONTACT_FIELDS = ("name", "email", "role", "frequency")
# Shown in the audit log when the person used the link in their email.
UNSUBSCRIBE_ACTOR = "lien de désabonnement"


def new_unsubscribe_token() -> str:
    return secrets.token_urlsafe(32)


def normalise_email(email: str) -> str:
    """One address (« a@x.org,b@y.org » is refused), checked by `email-validator` (syntax
    only: no DNS lookup), its domain in lower case. Every writer of contact emails (API,
    admin page) goes through here."""
    try:
        checked = validate_email(
            email.strip(), check_deliverability=False, allow_quoted_local=False
        )
    except EmailNotValidError:
        raise Invalid("email", "Adresse électronique invalide.") from None
    return checked.normalized


def contact_snapshot(contact: PartnerContact) -> dict:
    """A contact as its audit rows keep it: without the unsubscribe token (a credential)."""
    return snapshot(contact, exclude=("unsubscribe_token",))


def _audit(
    session: Session,
    action: str,
    contact: PartnerContact,
    before: dict | None,
    contract_id: int | None,
    actor_id: int | None,
    actor_label: str,
) -> PartnerContact:
    """`contact` written (flushed, so a new one has its id) and the audit row of its change
    (after a delete, which the caller has flushed: no snapshot)."""
    after = None
    if action != "delete":
        session.add(contact)
        session.flush()
        after = contact_snapshot(contact)
    who = Actor(actor_id=actor_id, actor_label=actor_label, contract_id=contract_id)
    record_change(session, action, "partner_contact", contact, before, after, **who)
    return contact


def _check(fields: dict) -> dict:
    clean = dict(fields)
    if "email" in clean:
        clean["email"] = normalise_email(clean["email"])
    if "name" in clean:
        clean["name"] = clean["name"].strip()
        if not clean["name"]:
            raise Invalid("name", "Le nom est obligatoire.")
    if "frequency" in clean and clean["frequency"] not in CONTACT_FREQUENCIES:
        raise Invalid("frequency", "Fréquence inconnue (weekly, monthly ou none).")
    return clean


def _email_taken(session: Session, partner_id: int, email: str, exclude_id: int | None) -> bool:
    # Mailboxes are case-insensitive in practice: « Claire@x » and « claire@x » are one.
    query = select(PartnerContact.id).where(
        PartnerContact.partner_id == partner_id,
        func.lower(PartnerContact.email) == email.lower(),
    )
    if exclude_id is not None:
        query = query.where(PartnerContact.id != exclude_id)
    return session.execute(query).first() is not None


def list_contacts(session: Session, partner_id: int) -> list[PartnerContact]:
    query = select(PartnerContact).where(PartnerContact.partner_id == partner_id)
    return list(session.scalars(query.order_by(PartnerContact.id)))


def create_contact(
    session: Session,
    partner: Partner,
    *,
    fields: dict,
    actor_id: int | None = None,
    actor_label: str = "",
) -> PartnerContact:
    clean = _check({"role": "", "frequency": "monthly", **fields})
    if _email_taken(session, partner.id, clean["email"], None):
        raise Conflict("Ce partenaire a déjà un contact avec cette adresse.", "email")
    now = utcnow()
    contact = PartnerContact(
        partner_id=partner.id,
        unsubscribe_token=new_unsubscribe_token(),
        created_at=now,
        updated_at=now,
        **{key: clean[key] for key in CONTACT_FIELDS},
    )
    return _audit(session, "create", contact, None, partner.contract_id, actor_id, actor_label)


def update_contact(
    session: Session,
    partner: Partner,
    contact: PartnerContact,
    *,
    fields: dict,
    resubscribe: bool = False,
    actor_id: int | None = None,
    actor_label: str = "",
) -> PartnerContact:
    """Change some of name, email, role, frequency. An unsubscribed contact stays
    unsubscribed unless `resubscribe` (the person asked for it again)."""
    clean = _check({key: value for key, value in fields.items() if key in CONTACT_FIELDS})
    if "email" in clean and _email_taken(session, partner.id, clean["email"], contact.id):
        raise Conflict("Ce partenaire a déjà un contact avec cette adresse.", "email")
    before = contact_snapshot(contact)
    if "email" in clean and clean["email"].lower() != contact.email.lower():
        # The old address's links must stop working: they may be in someone else's hands.
        contact.unsubscribe_token = new_unsubscribe_token()
    for key, value in clean.items():
        setattr(contact, key, value)
    if resubscribe:
        contact.unsubscribed_at = None
    contact.updated_at = utcnow()
    return _audit(session, "update", contact, before, partner.contract_id, actor_id, actor_label)


def delete_contact(
    session: Session,
    partner: Partner,
    contact: PartnerContact,
    *,
    actor_id: int | None = None,
    actor_label: str = "",
) -> None:
    """Remove a contact. Its past deliveries stay (they keep their deduplication key and
    recipient address) but no longer point to it."""
    before = contact_snapshot(contact)
    session.execute(
        update(EmailDelivery)
        .where(EmailDelivery.contact_id == contact.id)
        .values(contact_id=None)
        .execution_options(synchronize_session=False)
    )
    # Indicators whose data owner it was lose their owner, not their sheet.
    session.execute(
        update(Indicator)
        .where(Indicator.data_owner_contact_id == contact.id)
        .values(data_owner_contact_id=None)
        .execution_options(synchronize_session=False)
    )
    # Committee decisions it followed keep their owner partner, without a contact.
    session.execute(
        update(Decision)
        .where(Decision.owner_contact_id == contact.id)
        .values(owner_contact_id=None)
        .execution_options(synchronize_session=False)
    )
    session.delete(contact)
    session.flush()
    _audit(session, "delete", contact, before, partner.contract_id, actor_id, actor_label)


def find_by_token(session: Session, token: str) -> PartnerContact | None:
    if not token or len(token) > 64:
        return None
    return session.execute(
        select(PartnerContact).where(PartnerContact.unsubscribe_token == token)
    ).scalar_one_or_none()


def unsubscribe(
    session: Session, token: str, *, now: datetime | None = None
) -> PartnerContact | None:
    """Stop the summaries of the contact holding `token` (the link in their emails).
    Idempotent: a second click changes nothing. None for an unknown token."""
    contact = find_by_token(session, token)
    if contact is None or contact.unsubscribed_at is not None:
        return contact
    partner = session.get(Partner, contact.partner_id)
    # An "update" whose actor label says it came from the link.
    contract_id = partner.contract_id if partner else None
    _stop_summaries(session, contact, contract_id, now or utcnow(), actor_label=UNSUBSCRIBE_ACTOR)
    return contact


def _stop_summaries(
    session: Session,
    contact: PartnerContact,
    contract_id: int | None,
    at: datetime,
    *,
    actor_id: int | None = None,
    actor_label: str,
) -> None:
    """Unsubscribe `contact` as of `at`, audited (the link's path and the admin's)."""
    before = contact_snapshot(contact)
    contact.unsubscribed_at = at
    contact.updated_at = at
    _audit(session, "update", contact, before, contract_id, actor_id, actor_label)


# -- fetch and authorise: one place for the API, the pages and the jobs (issue 16) ---------


def get_readable_partner(
    session: Session, principal: Principal, partner_id: int, *, contract_id: int | None = None
) -> Partner:
    """The partner, if the principal may read it (and it belongs to `contract_id`); 404."""
    partner = session.get(Partner, partner_id)
    if (
        partner is None
        or (contract_id is not None and partner.contract_id != contract_id)
        or not scoping.can_read_partner(principal, partner)
    ):
        raise NotFound("Partenaire introuvable.")
    return partner


def get_managed_partner(
    session: Session, principal: Principal, partner_id: int, *, contract_id: int | None = None
) -> Partner:
    """The partner, if the principal may manage its contacts (an administrator of its
    contract): 404 if they may not read it, 403 if only read."""
    partner = get_readable_partner(session, principal, partner_id, contract_id=contract_id)
    if not scoping.can_write_reference(principal, partner.contract_id):
        raise Forbidden("Seul un administrateur peut gérer les contacts des partenaires.")
    return partner


def get_contact(session: Session, partner: Partner, contact_id: int) -> PartnerContact:
    """A contact of this partner (else 404)."""
    contact = session.get(PartnerContact, contact_id)
    if contact is None or contact.partner_id != partner.id:
        raise NotFound("Contact introuvable.")
    return contact


def get_managed_contact(
    session: Session, principal: Principal, contact_id: int, *, contract_id: int | None = None
) -> tuple[PartnerContact, Partner]:
    """A contact and its partner, if the principal may manage that partner's contacts."""
    contact = session.get(PartnerContact, contact_id)
    if contact is None:
        raise NotFound("Contact introuvable.")
    partner = get_managed_partner(session, principal, contact.partner_id, contract_id=contract_id)
    return contact, partner


ADMIN_UNSUBSCRIBE = "désabonnement par un administrateur"


def unsubscribe_by_admin(
    session: Session, principal: Principal, partner: Partner, contact: PartnerContact
) -> None:
    """Stop a contact's summaries at their request, audited with the admin's name.
    (`unsubscribe` is the email link's path: it takes the token and records the link as
    the actor; `update_contact` can only resubscribe.)"""
    if contact.unsubscribed_at is not None:
        return
    _stop_summaries(
        session,
        contact,
        partner.contract_id,
        utcnow(),
        actor_id=principal.user_id,
        actor_label=f"{principal.label} ({ADMIN_UNSUBSCRIBE})",
    )
