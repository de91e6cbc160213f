"""Contacts of a partner, summary previews, delivery problems (API), and the public
unsubscribe link (no login).

- `/api/partners/{id}/contacts[/{contact_id}]`: read by whoever may read the partner (a
  partner account: its own), changed by admins (`suivi.scoping.can_write_reference`).
- `/api/partners/{id}/contacts/{contact_id}/summary-preview`: admins; renders the summary
  the contact would receive, sends nothing.
- `/api/email-deliveries`: admins; failed (and pending) messages with the server's answer.
- `/desabonnement/{token}`: GET shows a confirmation page with a button (so that mail
  scanners following links unsubscribe no one), POST unsubscribes — which is also what mail
  clients do for the one-click `List-Unsubscribe-Post` header (RFC 8058).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from fastapi import Depends
from fastapi import Path
from fastapi import Query
from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import or_
from sqlalchemy import select

from suivi.api.common import Admin
from suivi.api.common import AsOfQuery
from suivi.api.common import Caller
from suivi.api.common import CallerDep
from suivi.api.common import Page
from suivi.api.common import PagingDep
from suivi.api.common import PathId
from suivi.api.common import StrictModel
from suivi.api.common import Text
from suivi.api.common import api_router
from suivi.api.common import audit_actor
from suivi.api.common import from_row
from suivi.api.common import models
from suivi.api.common import patch_model
from suivi.api.common import resolve_as_of
from suivi.auth.models import UserContract
from suivi.codes import DELIVERY_STATUSES
from suivi.codes import ContactFrequency
from suivi.codes import DeliveryStatus
from suivi.contract.models import Contract
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.deps import SessionDep
from suivi.deps import SettingsDep
from suivi.notifications import contacts as service
from suivi.notifications.email import DEMO_NOTICE
from suivi.notifications.email import email_environment
from suivi.notifications.models import EmailDelivery
from suivi.notifications.summaries import summary_email
from suivi.notifications.summaries import summary_for_contact

router = api_router("contacts et envois")
public = APIRouter(tags=["désabonnement"], include_in_schema=False)

Frequency = ContactFrequency


class ContactIn(StrictModel):
    name: Text(160, 1)
    email: Text(254, 3)
    role: Text(160) = ""
    frequency: Frequency = ContactFrequency.MONTHLY


# `resubscribe`: subscribe again a contact who used the unsubscribe link (they asked for it).
ContactPatch = patch_model(ContactIn, "ContactPatch", resubscribe=(bool, False))


class ContactDetailOut(BaseModel):
    id: int
    partner_id: int
    name: str
    email: str
    role: str
    frequency: str
    subscribed: bool
    unsubscribed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SummaryPreviewOut(BaseModel):
    contact_id: int
    recipient: str
    subject: str
    dedup_key: str
    period: str
    text: str
    html: str


class DeliveryOut(BaseModel):
    id: int
    kind: str
    period: str
    recipient: str
    contact_id: int | None
    user_id: int | None
    subject: str
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    claimed_at: datetime | None
    next_attempt_at: datetime | None
    sent_at: datetime | None


def _out(contact: PartnerContact) -> ContactDetailOut:
    subscribed = contact.unsubscribed_at is None and contact.frequency != "none"
    return from_row(ContactDetailOut, contact, subscribed=subscribed)


@dataclass(frozen=True, slots=True)
class PartnerCall(Caller):
    """A request about one partner's contacts (`/partners/{partner_id}/contacts…`). The
    partner is looked up when the route asks, after its body is validated (422 first)."""

    partner_id: int

    def readable(self) -> Partner:
        return service.get_readable_partner(self.session, self.principal, self.partner_id)

    def managed(self) -> Partner:
        return service.get_managed_partner(self.session, self.principal, self.partner_id)


async def _partner_call(call: CallerDep, partner_id: PathId) -> PartnerCall:
    return PartnerCall(call.session, call.principal, partner_id)


PartnerCallDep = Annotated[PartnerCall, Depends(_partner_call)]


@dataclass(frozen=True, slots=True)
class ContactCall(PartnerCall):
    """A request about one contact (`/partners/{partner_id}/contacts/{contact_id}…`)."""

    contact_id: int

    def readable_contact(self) -> PartnerContact:
        return service.get_contact(self.session, self.readable(), self.contact_id)

    def managed_contact(self) -> tuple[Partner, PartnerContact]:
        partner = self.managed()
        return partner, service.get_contact(self.session, partner, self.contact_id)


async def _contact_call(call: CallerDep, partner_id: PathId, contact_id: PathId) -> ContactCall:
    return ContactCall(call.session, call.principal, partner_id, contact_id)


ContactCallDep = Annotated[ContactCall, Depends(_contact_call)]


@router.get("/partners/{partner_id}/contacts", summary="Contacts d'un partenaire")
def list_contacts(partner: PartnerCallDep) -> list[ContactDetailOut]:
    contacts = service.list_contacts(partner.session, partner.readable().id)
    return [_out(contact) for contact in contacts]


@router.get("/partners/{partner_id}/contacts/{contact_id}", summary="Un contact")
def get_contact(contact: ContactCallDep) -> ContactDetailOut:
    return _out(contact.readable_contact())


@router.post(
    "/partners/{partner_id}/contacts",
    status_code=201,
    summary="Ajouter un contact (administrateurs)",
)
def create_contact(partner: PartnerCallDep, body: ContactIn) -> ContactDetailOut:
    fields = body.model_dump()
    contact = service.create_contact(
        partner.session, partner.managed(), fields=fields, **audit_actor(partner.principal)
    )
    return _out(contact)


@router.patch(
    "/partners/{partner_id}/contacts/{contact_id}", summary="Modifier un contact (administrateurs)"
)
def update_contact(call: ContactCallDep, body: ContactPatch) -> ContactDetailOut:
    partner, contact = call.managed_contact()
    fields = body.model_dump(exclude={"resubscribe"}, exclude_none=True)
    contact = service.update_contact(
        call.session,
        partner,
        contact,
        fields=fields,
        resubscribe=body.resubscribe,
        **audit_actor(call.principal),
    )
    return _out(contact)


@router.delete(
    "/partners/{partner_id}/contacts/{contact_id}",
    status_code=204,
    summary="Supprimer un contact (administrateurs)",
)
def delete_contact(call: ContactCallDep):
    partner, contact = call.managed_contact()
    service.delete_contact(call.session, partner, contact, **audit_actor(call.principal))


@router.get(
    "/partners/{partner_id}/contacts/{contact_id}/summary-preview",
    summary="Aperçu du point envoyé à ce contact (rien n'est envoyé)",
)
def preview_summary(
    admin: Admin,
    settings: SettingsDep,
    call: ContactCallDep,
    as_of: AsOfQuery = None,
) -> SummaryPreviewOut:
    _, contact = call.managed_contact()
    summary = summary_for_contact(
        call.session, settings, contact.id, as_of=resolve_as_of(as_of, settings)
    )
    # The message as it would be sent (its `contact_id` is this contact's).
    message = summary_email(settings, summary)
    return SummaryPreviewOut.model_validate(message, from_attributes=True)


@router.get(
    "/email-deliveries",
    summary="Envois d'emails (par défaut : les échecs, avec la réponse du serveur)",
)
def list_deliveries(
    session: SessionDep,
    principal: Admin,
    paging: PagingDep,
    status: Annotated[
        DeliveryStatus | None,
        Query(description="Statut (défaut : failed)."),
    ] = DeliveryStatus.FAILED,
    kind: Annotated[str | None, Query(max_length=20, pattern=r"^[a-z_]+$")] = None,
) -> Page[DeliveryOut]:
    assert status is None or status in DELIVERY_STATUSES
    # Messages of the admin's contracts: to their partners' contacts or their users.
    contracts = list(principal.contract_ids)
    mine = or_(
        EmailDelivery.contact_id.in_(
            select(PartnerContact.id)
            .join(Partner, Partner.id == PartnerContact.partner_id)
            .where(Partner.contract_id.in_(contracts))
        ),
        EmailDelivery.user_id.in_(
            select(UserContract.user_id).where(UserContract.contract_id.in_(contracts))
        ),
        EmailDelivery.contact_id.is_(None) & EmailDelivery.user_id.is_(None),
    )
    query = select(EmailDelivery).where(mine)
    if status:
        query = query.where(EmailDelivery.status == status)
    if kind:
        query = query.where(EmailDelivery.kind == kind)
    query = query.order_by(EmailDelivery.created_at.desc(), EmailDelivery.id.desc())
    return paging.of(session, query, models(DeliveryOut))


# -- the public unsubscribe link -------------------------------------------------------------

UNSUBSCRIBE_TEMPLATE = "partner_summary_unsubscribe.html.j2"


def _unsubscribe_page(
    settings, action: str, *, state: str, contact=None, partner=None, contract=None
):
    html = (
        email_environment(settings)
        .get_template(UNSUBSCRIBE_TEMPLATE)
        .render(
            subject="Désabonnement — Suivi du contrat de ville",
            contract_name=contract.name if contract else "Suivi du contrat de ville",
            is_demo=bool(contract and contract.is_demo),
            demo_notice=DEMO_NOTICE,
            state=state,
            contact=contact,
            partner=partner,
            action=action,
        )
    )
    return HTMLResponse(
        html,
        status_code=404 if state == "unknown" else 200,
        headers={
            "Cache-Control": "no-store",
            "X-Robots-Tag": "noindex",
            "Referrer-Policy": "no-referrer",
        },
    )


def _load(session, token: str):
    """(contact, partner, contract) of the token, or Nones."""
    contact = service.find_by_token(session, token)
    if contact is None:
        return None, None, None
    partner = session.get(Partner, contact.partner_id)
    return contact, partner, session.get(Contract, partner.contract_id)


TokenPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


@public.get("/desabonnement/{token}", response_class=HTMLResponse)
def unsubscribe_form(
    request: Request, session: SessionDep, settings: SettingsDep, token: TokenPath
):
    contact, partner, contract = _load(session, token)
    if contact is None:
        state = "unknown"
    elif contact.unsubscribed_at:
        state = "done"
    else:
        state = "confirm"
    return _unsubscribe_page(
        settings, request.url.path, state=state, contact=contact, partner=partner, contract=contract
    )


@public.post("/desabonnement/{token}", response_class=HTMLResponse)
def unsubscribe_confirm(
    request: Request, session: SessionDep, settings: SettingsDep, token: TokenPath
):
    # The body is either our form's button or a mail client's "List-Unsubscribe=One-Click":
    # both mean the same thing, the token in the path is the credential.
    contact, partner, contract = _load(session, token)
    if contact is not None:
        service.unsubscribe(session, token)
    state = "unknown" if contact is None else "done"
    return _unsubscribe_page(
        settings, request.url.path, state=state, contact=contact, partner=partner, contract=contract
    )


__all__ = ["public", "router"]
