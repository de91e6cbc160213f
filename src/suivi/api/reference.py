"""API of the contract and its reference data: contracts, communes, quartiers (with their
GeoJSON contour), partners (with contacts), priorities, meetings.

Everyone reads them (a partner account only its own partner); only the contract's admins
change them (`suivi.contract.access`: 404 outside the user's contracts, 403 for other
roles). Changes go through `suivi.contract.service` (validated, audited). Single objects carry
an `ETag`; a change may send it back in `If-Match` to be refused (409) if the object changed
in between. Partner contacts are managed by `suivi.notifications`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated
from typing import Any

from fastapi import Depends
from fastapi import Header
from fastapi import Query
from fastapi import Response
from pydantic import AfterValidator
from pydantic import BaseModel
from pydantic import Field
from sqlalchemy import select
from sqlmodel import SQLModel

from suivi import scoping
from suivi.api.common import MAX_ID
from suivi.api.common import Caller
from suivi.api.common import CallerDep
from suivi.api.common import ContractQuery
from suivi.api.common import CurrentContract
from suivi.api.common import Day
from suivi.api.common import Id
from suivi.api.common import Page
from suivi.api.common import PagingDep
from suivi.api.common import PathId
from suivi.api.common import SortQuery
from suivi.api.common import StrictModel
from suivi.api.common import Text
from suivi.api.common import api_router
from suivi.api.common import audit_actor
from suivi.api.common import children
from suivi.api.common import from_row
from suivi.api.common import models
from suivi.api.common import patch_model
from suivi.api.common import read_as
from suivi.api.common import resolve_contract
from suivi.api.common import sort_clause
from suivi.auth.deps import CurrentPrincipal
from suivi.auth.principal import Principal
from suivi.codes import CROSS_CUTTING_TAGS
from suivi.codes import CrossCuttingTag
from suivi.codes import Domain
from suivi.codes import MeetingKind
from suivi.codes import PartnerKind
from suivi.contract import access
from suivi.contract import service
from suivi.contract.models import Commune
from suivi.contract.models import Contract
from suivi.contract.models import ContractQuartier
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.contract.models import QuartierCommune
from suivi.contract.models import contract_quartier_ids
from suivi.deps import SessionDep
from suivi.errors import Invalid
from suivi.errors import NotFound
from suivi.notifications.contacts import get_readable_partner

router = api_router("référentiel")
IfMatch = Annotated[
    str | None,
    Header(max_length=200, description="ETag lu (refus 409 si l'objet a changé entre-temps)."),
]
Tag = CrossCuttingTag
Position = Annotated[int, Field(ge=0, le=100_000)]
Tags = Annotated[list[Tag], Field(max_length=len(CROSS_CUTTING_TAGS))]


def _validator(check: Callable[[str | None], None]) -> Callable[[str | None], str | None]:
    """The service's check as a field validator (its French message, for the field)."""

    def validate(value: str | None) -> str | None:
        try:
            check(value)
        except Invalid as exc:
            raise ValueError(exc.detail) from None
        return value

    return validate


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _one_line(value: str) -> str:
    # Names end up in spreadsheets, PDFs and email subjects: no control characters there.
    if _CONTROL.search(value):
        raise ValueError("caractère de contrôle interdit (texte sur une ligne attendu)")
    return value


def _paragraphs(value: str) -> str:
    if _CONTROL_EXCEPT_LINES.search(value):
        raise ValueError("caractère de contrôle interdit")
    return value


def Line(max_length: int, min_length: int = 0):  # noqa: N802 - a type factory
    return Annotated[Text(max_length, min_length), AfterValidator(_one_line)]


def Paragraphs(max_length: int):  # noqa: N802 - a type factory
    return Annotated[Text(max_length), AfterValidator(_paragraphs)]


Siren = Annotated[str | None, Field(max_length=9), AfterValidator(_validator(service.check_siren))]
Siret = Annotated[str | None, Field(max_length=14), AfterValidator(_validator(service.check_siret))]


class ContractOut(BaseModel):
    id: int
    code: str
    name: str
    territory: str
    signed_on: date
    term_start: date
    term_end: date
    midterm_review_on: date | None
    is_demo: bool


class CommuneOut(BaseModel):
    id: int
    insee: str
    name: str
    epci: str


class QuartierOut(BaseModel):
    id: int
    code: str
    name: str
    contract_id: int | None
    in_contract: bool
    cited_in_press_release: bool
    commune_ids: list[int]


class ContactOut(BaseModel):
    id: int
    name: str
    email: str
    role: str
    frequency: str


class PartnerOut(BaseModel):
    id: int
    contract_id: int
    code: str
    name: str
    kind: str
    is_signatory: bool
    siren: str | None
    siret: str | None = None
    commune_id: int | None
    contacts: list[ContactOut]


class PriorityOut(BaseModel):
    id: int
    contract_id: int
    parent_id: int | None
    code: str
    title: str
    domain: str
    tags: list[str]
    position: int


class MeetingOut(BaseModel):
    id: int
    contract_id: int
    kind: str
    held_on: date
    title: str
    location: str
    status: str = "prevue"  # prevue, tenue, releve_diffuse (suivi.governance)
    # Date d'arrêt des données; once `locked`, figures dated on or before it are frozen.
    data_cutoff: date | None = None
    locked: bool = False


@dataclass(frozen=True, slots=True)
class RowCall(Caller):
    """A request on one reference row: who asks, in which unit of work, and the response
    that carries the row's `ETag` (sent back in `If-Match` with a change)."""

    response: Response

    def tagged(self, row: Any, link: ContractQuartier | None = None) -> Any:
        """The row, its `ETag` set on the response (a quartier's: with its listing, `link`)."""
        etag = service.etag(row) if link is None else service.quartier_etag(row, link)
        self.response.headers["ETag"] = etag
        return row

    def create(self, contract_id: int | None, create: Callable[..., Any], body: StrictModel):
        """The row `create` (a function of `service`) makes of `body` in the contract asked
        for (its administrators only)."""
        contract = resolve_contract(self.session, self.principal, contract_id)
        access.require_admin(self.principal, contract.id, "Contrat")
        row = create(
            self.session, contract, fields=body.model_dump(), **audit_actor(self.principal)
        )
        return self.tagged(row)

    def update(
        self,
        model: type[SQLModel],
        row_id: int,
        label: str,
        update: Callable[..., Any],
        body: StrictModel,
        if_match: str | None,
    ):
        """The row after `update` (a function of `service`) applied the PATCH `body`."""
        row = access.get_administered(self.session, self.principal, model, row_id, label)
        contract = self.session.get(Contract, row.contract_id)
        changes = _changes(self.principal, body, if_match)
        return self.tagged(update(self.session, contract, row, **changes))


async def _row_call(call: CallerDep, response: Response) -> RowCall:
    return RowCall(call.session, call.principal, response)


RowCallDep = Annotated[RowCall, Depends(_row_call)]


@router.get("/contracts", summary="Mes contrats")
def list_contracts(session: SessionDep, principal: CurrentPrincipal) -> list[ContractOut]:
    rows = session.execute(
        select(Contract)
        .where(scoping.contract_condition(Contract.id, principal))
        .order_by(Contract.id)
    ).scalars()
    return [ContractOut.model_validate(row, from_attributes=True) for row in rows]


@router.get("/contracts/{contract_id}", summary="Un contrat")
def get_contract(call: RowCallDep, contract_id: PathId) -> ContractOut:
    contract = resolve_contract(call.session, call.principal, contract_id)
    return ContractOut.model_validate(call.tagged(contract), from_attributes=True)


@router.get("/communes", summary="Communes du contrat")
def list_communes(
    session: SessionDep, contract: CurrentContract, paging: PagingDep, sort: SortQuery = None
) -> Page[CommuneOut]:
    in_contract = select(QuartierCommune.commune_id).where(
        QuartierCommune.quartier_id.in_(contract_quartier_ids(contract.id))
    )
    columns = {"id": Commune.id, "name": Commune.name, "insee": Commune.insee}
    query = (
        select(Commune)
        .where(Commune.id.in_(in_contract))
        .order_by(*sort_clause(sort, columns, "name"))
    )
    return paging.of(session, query, models(CommuneOut))


def _quartier_out(session, contract_id: int, rows: list[Quartier]) -> list[QuartierOut]:
    """The quartiers as this contract lists them (its in-contract flag)."""
    flagged = set(session.scalars(contract_quartier_ids(contract_id, in_contract=True)))
    links = select(QuartierCommune.quartier_id, QuartierCommune.commune_id)
    communes = children(session, links.order_by(QuartierCommune.commune_id), [r.id for r in rows])
    return [
        from_row(
            QuartierOut,
            r,
            contract_id=contract_id,
            in_contract=r.id in flagged,
            commune_ids=communes[r.id],
        )
        for r in rows
    ]


@router.get("/quartiers", summary="Quartiers (QPV)")
def list_quartiers(
    session: SessionDep,
    contract: CurrentContract,
    paging: PagingDep,
    in_contract: bool | None = None,
    sort: SortQuery = None,
) -> Page[QuartierOut]:
    columns = {"id": Quartier.id, "name": Quartier.name, "code": Quartier.code}
    query = select(Quartier).where(Quartier.id.in_(contract_quartier_ids(contract.id, in_contract)))
    query = query.order_by(*sort_clause(sort, columns, "code"))
    return paging.of(session, query, lambda rows: _quartier_out(session, contract.id, rows))


def _listing(session, principal, quartier_id: int, contract_id: int | None) -> ContractQuartier:
    """The quartier as listed by the contract asked for; without one, by the user's default
    contract or else another of theirs (a QPV may be listed by several contracts)."""
    if contract_id is not None:
        candidates = [contract_id]
    else:
        candidates = [principal.default_contract_id, *sorted(principal.contract_ids)]
    for candidate in candidates:
        if scoping.in_contracts(principal, candidate):
            link = session.get(ContractQuartier, (candidate, quartier_id))
            if link is not None:
                return link
    raise NotFound("Quartier introuvable.")


def _quartier(session, principal, quartier_id: int, contract_id: int | None = None) -> Quartier:
    return session.get(Quartier, _listing(session, principal, quartier_id, contract_id).quartier_id)


@router.get("/quartiers/{quartier_id}", summary="Un quartier")
def get_quartier(
    call: RowCallDep, quartier_id: PathId, contract_id: ContractQuery = None
) -> QuartierOut:
    link = _listing(call.session, call.principal, quartier_id, contract_id)
    quartier = call.tagged(call.session.get(Quartier, quartier_id), link)
    return _quartier_out(call.session, link.contract_id, [quartier])[0]


@router.get("/quartiers/{quartier_id}/contour", summary="Contour du quartier (GeoJSON Feature)")
def get_quartier_contour(
    session: SessionDep, principal: CurrentPrincipal, quartier_id: PathId
) -> dict[str, Any]:
    quartier = _quartier(session, principal, quartier_id)
    if not quartier.contour:
        raise NotFound("Ce quartier n'a pas de contour.")
    return {
        "type": "Feature",
        "properties": {"code": quartier.code, "name": quartier.name},
        "geometry": quartier.contour.get("geometry", quartier.contour)
        if quartier.contour.get("type") == "Feature"
        else quartier.contour,
    }


def _partners_out(session, rows: list[Partner]) -> list[PartnerOut]:
    by_id = select(PartnerContact.partner_id, PartnerContact).order_by(PartnerContact.id)
    contacts = children(session, by_id, [r.id for r in rows], read_as(ContactOut))
    return [from_row(PartnerOut, r, contacts=contacts[r.id]) for r in rows]


@router.get("/partners", summary="Partenaires et contacts")
def list_partners(
    session: SessionDep,
    principal: CurrentPrincipal,
    contract: CurrentContract,
    paging: PagingDep,
    kind: Annotated[str | None, Query(max_length=20, pattern=r"^[a-z_]+$")] = None,
    sort: SortQuery = None,
) -> Page[PartnerOut]:
    columns = {"id": Partner.id, "name": Partner.name, "code": Partner.code, "kind": Partner.kind}
    query = select(Partner).where(
        Partner.contract_id == contract.id, scoping.partner_condition(principal)
    )
    if kind:
        query = query.where(Partner.kind == kind)
    query = query.order_by(*sort_clause(sort, columns, "name"))
    return paging.of(session, query, lambda rows: _partners_out(session, rows))


@router.get("/partners/{partner_id}", summary="Un partenaire")
def get_partner(call: RowCallDep, partner_id: PathId) -> PartnerOut:
    partner = get_readable_partner(call.session, call.principal, partner_id)
    return _partners_out(call.session, [call.tagged(partner)])[0]


@router.get("/priorities", summary="Orientations et objectifs")
def list_priorities(
    session: SessionDep,
    contract: CurrentContract,
    paging: PagingDep,
    parent_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    sort: SortQuery = None,
) -> Page[PriorityOut]:
    columns = {"id": Priority.id, "code": Priority.code, "position": Priority.position}
    query = select(Priority).where(Priority.contract_id == contract.id)
    if parent_id is not None:
        query = query.where(Priority.parent_id == parent_id)
    query = query.order_by(*sort_clause(sort, columns, "position"))
    return paging.of(session, query, models(PriorityOut))


@router.get("/meetings", summary="Instances (COPIL, COTECH)")
def list_meetings(
    session: SessionDep,
    contract: CurrentContract,
    paging: PagingDep,
    kind: Annotated[str | None, Query(pattern=r"^(copil|cotech|revue_mi_parcours)$")] = None,
    sort: SortQuery = None,
) -> Page[MeetingOut]:
    columns = {"id": Meeting.id, "held_on": Meeting.held_on}
    query = select(Meeting).where(Meeting.contract_id == contract.id)
    if kind:
        query = query.where(Meeting.kind == kind)
    query = query.order_by(*sort_clause(sort, columns, "held_on"))
    return paging.of(session, query, models(MeetingOut))


# -- changes (admins of the contract) ----------------------------------------------------------


class ContractPatch(StrictModel):
    name: Line(200, 1) | None = None
    term_start: Day | None = None
    term_end: Day | None = None
    midterm_review_on: Day | None = None


class PartnerIn(StrictModel):
    code: Line(40, 1)
    name: Line(200, 1)
    kind: PartnerKind
    is_signatory: bool = False
    siren: Siren = None
    siret: Siret = None
    commune_id: Id | None = None


PartnerPatch = patch_model(PartnerIn, "PartnerPatch")


class QuartierPatch(StrictModel):
    name: Line(200, 1) | None = None
    in_contract: bool | None = None


class PriorityIn(StrictModel):
    code: Line(20, 1)
    title: Line(300, 1)
    description: Paragraphs(10_000) = ""
    domain: Domain
    tags: Tags = []
    parent_id: Id | None = None
    position: Position = 0


PriorityPatch = patch_model(PriorityIn, "PriorityPatch")


class MeetingIn(StrictModel):
    kind: MeetingKind
    held_on: Day
    title: Line(200, 1)
    location: Line(200) = ""


MeetingPatch = patch_model(MeetingIn, "MeetingPatch")


def _changes(principal: Principal, body: StrictModel, if_match: str | None) -> dict[str, Any]:
    """A service's update arguments: the fields sent (a PATCH), the version read, who."""
    return {
        "fields": body.model_dump(exclude_unset=True),
        "expected_etag": if_match,
        **audit_actor(principal),
    }


@router.patch(
    "/contracts/{contract_id}", summary="Modifier le contrat (nom, durée, revue à mi-parcours)"
)
def update_contract(
    call: RowCallDep, contract_id: PathId, body: ContractPatch, if_match: IfMatch = None
) -> ContractOut:
    contract = service.locked(call.session, Contract, contract_id)
    access.require_admin(call.principal, None if contract is None else contract.id, "Contrat")
    changes = _changes(call.principal, body, if_match)
    contract = service.update_contract(call.session, contract, **changes)
    return ContractOut.model_validate(call.tagged(contract), from_attributes=True)


@router.post("/partners", status_code=201, summary="Créer un partenaire")
def create_partner(
    call: RowCallDep, body: PartnerIn, contract_id: ContractQuery = None
) -> PartnerOut:
    partner = call.create(contract_id, service.create_partner, body)
    return _partners_out(call.session, [partner])[0]


@router.patch("/partners/{partner_id}", summary="Modifier un partenaire")
def update_partner(
    call: RowCallDep, partner_id: PathId, body: PartnerPatch, if_match: IfMatch = None
) -> PartnerOut:
    update = service.update_partner
    partner = call.update(Partner, partner_id, "Partenaire", update, body, if_match)
    return _partners_out(call.session, [partner])[0]


@router.patch(
    "/quartiers/{quartier_id}", summary="Modifier un quartier (nom, appartenance au contrat)"
)
def update_quartier(
    call: RowCallDep,
    quartier_id: PathId,
    body: QuartierPatch,
    if_match: IfMatch = None,
    contract_id: ContractQuery = None,
) -> QuartierOut:
    session, principal = call.session, call.principal
    link = _listing(session, principal, quartier_id, contract_id)
    access.require_admin(principal, link.contract_id, "Quartier")
    quartier = service.locked(session, Quartier, quartier_id)
    contract = session.get(Contract, link.contract_id)
    quartier = service.update_quartier(
        session, contract, quartier, **_changes(principal, body, if_match)
    )
    return _quartier_out(session, link.contract_id, [call.tagged(quartier, link)])[0]


@router.get("/priorities/{priority_id}", summary="Une priorité")
def get_priority(call: RowCallDep, priority_id: PathId) -> PriorityOut:
    priority = access.get_readable(call.session, call.principal, Priority, priority_id, "Priorité")
    return PriorityOut.model_validate(call.tagged(priority), from_attributes=True)


@router.post("/priorities", status_code=201, summary="Créer une orientation ou un objectif")
def create_priority(
    call: RowCallDep, body: PriorityIn, contract_id: ContractQuery = None
) -> PriorityOut:
    priority = call.create(contract_id, service.create_priority, body)
    return PriorityOut.model_validate(priority, from_attributes=True)


@router.patch("/priorities/{priority_id}", summary="Modifier une priorité")
def update_priority(
    call: RowCallDep, priority_id: PathId, body: PriorityPatch, if_match: IfMatch = None
) -> PriorityOut:
    update = service.update_priority
    priority = call.update(Priority, priority_id, "Priorité", update, body, if_match)
    return PriorityOut.model_validate(priority, from_attributes=True)


@router.get("/meetings/{meeting_id}", summary="Une instance")
def get_meeting(call: RowCallDep, meeting_id: PathId) -> MeetingOut:
    meeting = access.get_readable(call.session, call.principal, Meeting, meeting_id, "Instance")
    return MeetingOut.model_validate(call.tagged(meeting), from_attributes=True)


@router.post("/meetings", status_code=201, summary="Créer une instance")
def create_meeting(
    call: RowCallDep, body: MeetingIn, contract_id: ContractQuery = None
) -> MeetingOut:
    meeting = call.create(contract_id, service.create_meeting, body)
    return MeetingOut.model_validate(meeting, from_attributes=True)


@router.patch("/meetings/{meeting_id}", summary="Modifier une instance")
def update_meeting(
    call: RowCallDep, meeting_id: PathId, body: MeetingPatch, if_match: IfMatch = None
) -> MeetingOut:
    update = service.update_meeting
    meeting = call.update(Meeting, meeting_id, "Instance", update, body, if_match)
    return MeetingOut.model_validate(meeting, from_attributes=True)


@router.delete(
    "/meetings/{meeting_id}",
    status_code=204,
    response_class=Response,
    summary="Supprimer une instance (tracé dans le journal)",
)
def delete_meeting(call: CallerDep, meeting_id: PathId, if_match: IfMatch = None):
    session, principal = call.session, call.principal
    meeting = access.get_administered(session, principal, Meeting, meeting_id, "Instance")
    contract = session.get(Contract, meeting.contract_id)
    service.delete_meeting(
        session, contract, meeting, expected_etag=if_match, **audit_actor(principal)
    )
    return Response(status_code=204)
