"""The committee cycle over HTTP: a meeting's agenda, participants and status, its decisions,
and the follow-up of every decision (`/api/meetings/{id}/…`, `/api/decisions`).

The meetings themselves (list, create, edit) are reference data in `suivi.api.reference`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel
from pydantic import Field
from sqlmodel import Session

from suivi.api.common import Caller
from suivi.api.common import CallerDep
from suivi.api.common import ContractQuery
from suivi.api.common import DatedCaller
from suivi.api.common import DatedCallerDep
from suivi.api.common import Day
from suivi.api.common import FilterId
from suivi.api.common import Id
from suivi.api.common import Number
from suivi.api.common import Page
from suivi.api.common import PagingDep
from suivi.api.common import PathId
from suivi.api.common import StrictModel
from suivi.api.common import Text
from suivi.api.common import api_router
from suivi.api.common import resolve_contract
from suivi.codes import DecisionKind
from suivi.codes import DecisionStatus
from suivi.deps import SettingsDep
from suivi.errors import NotFound
from suivi.governance import service
from suivi.governance.models import Decision
from suivi.governance.models import DecisionUpdate
from suivi.indicators.models import Target

router = api_router("comités et décisions")

Ids = Annotated[list[Id], Field(max_length=200)]


class AgendaItemOut(BaseModel):
    id: int
    position: int
    title: str
    detail: str
    source: str
    reference: str


class ParticipantOut(BaseModel):
    id: int
    code: str
    name: str


class CycleOut(BaseModel):
    meeting_id: int
    status: str
    participants: list[ParticipantOut]
    agenda: list[AgendaItemOut]


class AgendaItemIn(StrictModel):
    title: Text(300, 1)
    detail: Text(2_000) = ""


class ParticipantsIn(StrictModel):
    partner_ids: Ids


class DecisionOut(BaseModel):
    id: int
    contract_id: int
    meeting_id: int
    number: int
    text: str
    kind: str
    status: str
    owner_partner_id: int | None
    owner_contact_id: int | None
    due_on: date | None
    overdue: bool
    avenant_reference: str
    commitment_ids: list[int]
    indicator_ids: list[int]
    quartier_ids: list[int]
    created_at: datetime
    updated_at: datetime


class DecisionUpdateOut(BaseModel):
    id: int
    on: date
    comment: str
    old_status: str | None
    new_status: str | None
    old_text: str | None
    author_label: str


class DecisionDetailOut(DecisionOut):
    history: list[DecisionUpdateOut]


class DecisionIn(StrictModel):
    text: Text(4_000, 1)
    kind: DecisionKind = DecisionKind.ACTION
    number: Annotated[int, Field(ge=1, le=10_000)] | None = None
    owner_partner_id: Id | None = None
    owner_contact_id: Id | None = None
    due_on: Day | None = None
    avenant_reference: Text(200) = ""
    commitment_ids: Ids = []
    indicator_ids: Ids = []
    quartier_ids: Ids = []


class DecisionPatch(StrictModel):
    text: Text(4_000, 1) | None = None
    kind: DecisionKind | None = None
    status: DecisionStatus | None = None
    owner_partner_id: Id | None = None
    owner_contact_id: Id | None = None
    due_on: Day | None = None
    avenant_reference: Text(200) | None = None
    commitment_ids: Ids | None = None
    indicator_ids: Ids | None = None
    quartier_ids: Ids | None = None


class DecisionUpdateIn(StrictModel):
    comment: Text(4_000) = ""
    status: DecisionStatus | None = None
    # An amendment of the text (once the relevé is sent, the only way to change it).
    text: Text(4_000, 1) | None = None


class CommitmentEffectIn(StrictModel):
    start_date: Day | None = None
    end_date: Day | None = None


class TargetEffectIn(StrictModel):
    target_id: Id
    value: Number
    reason: Text(2_000) = ""
    avenant_reference: Text(200) = ""


class EffectOut(BaseModel):
    decision: DecisionDetailOut
    commitment_ids: list[int] = []
    target_revision_id: int | None = None


_LINK_FIELDS = {
    "commitment": "commitment_ids",
    "indicator": "indicator_ids",
    "quartier": "quartier_ids",
}


def _links_in(body: StrictModel, partial: bool) -> dict[str, list[int]] | None:
    values = {kind: getattr(body, name) for kind, name in _LINK_FIELDS.items()}
    if partial:
        sent = body.model_fields_set
        if not any(name in sent for name in _LINK_FIELDS.values()):
            return None
    return {kind: list(ids or []) for kind, ids in values.items()}


def decision_out(session: Session, decisions: list[Decision], as_of: date) -> list[DecisionOut]:
    links = service.links_of(session, [d.id for d in decisions])
    return [
        DecisionOut(
            **d.model_dump(exclude={"created_by_id"}),
            overdue=service.is_overdue(d, as_of),
            commitment_ids=links[d.id]["commitment"],
            indicator_ids=links[d.id]["indicator"],
            quartier_ids=links[d.id]["quartier"],
        )
        for d in decisions
    ]


def _detail(session: Session, decision: Decision, as_of: date) -> DecisionDetailOut:
    base = decision_out(session, [decision], as_of)[0]
    return DecisionDetailOut(
        **base.model_dump(),
        history=[_update_out(u) for u in service.history(session, decision)],
    )


def _update_out(update: DecisionUpdate) -> DecisionUpdateOut:
    return DecisionUpdateOut.model_validate(update, from_attributes=True)


def _cycle(session: Session, meeting) -> CycleOut:
    return CycleOut(
        meeting_id=meeting.id,
        status=meeting.status,
        participants=[
            ParticipantOut(id=p.id, code=p.code, name=p.name)
            for p in service.participants(session, meeting)
        ],
        agenda=[
            AgendaItemOut.model_validate(i, from_attributes=True)
            for i in service.agenda(session, meeting)
        ],
    )


def _change_meeting(
    call: Caller, meeting_id: int, change: Callable[..., object], *args, **kwargs
) -> CycleOut:
    """The cycle of a meeting the principal manages, after
    `change(session, principal, meeting, *args, **kwargs)` (a function of `service`)."""
    meeting = service.managed_meeting(call.session, call.principal, meeting_id)
    change(call.session, call.principal, meeting, *args, **kwargs)
    return _cycle(call.session, meeting)


def _change_decision(
    call: DatedCaller, decision_id: int, change: Callable[..., object], **kwargs
) -> DecisionDetailOut:
    """A readable decision after `change(session, principal, decision, **kwargs, as_of=day)`
    (a function of `service`), with its history."""
    decision = service.readable_decision(call.session, call.principal, decision_id)
    day = call.day()
    change(call.session, call.principal, decision, **kwargs, as_of=day)
    return _detail(call.session, decision, day)


# -- meetings ------------------------------------------------------------------------------------


@router.get(
    "/meetings/{meeting_id}/cycle", summary="Statut, participants et ordre du jour d'une instance"
)
def get_cycle(call: CallerDep, meeting_id: PathId) -> CycleOut:
    return _cycle(call.session, service.readable_meeting(call.session, call.principal, meeting_id))


@router.post(
    "/meetings/{meeting_id}/held",
    summary="Déclarer l'instance tenue (les décisions peuvent alors être saisies)",
)
def hold_meeting(call: DatedCallerDep, meeting_id: PathId) -> CycleOut:
    meeting = service.managed_meeting(call.session, call.principal, meeting_id)
    service.hold_meeting(call.session, call.principal, meeting, as_of=call.day())
    return _cycle(call.session, meeting)


@router.put("/meetings/{meeting_id}/participants", summary="Partenaires représentés")
def set_participants(call: CallerDep, meeting_id: PathId, body: ParticipantsIn) -> CycleOut:
    return _change_meeting(call, meeting_id, service.set_participants, body.partner_ids)


@router.post(
    "/meetings/{meeting_id}/agenda",
    status_code=201,
    summary="Ajouter un point libre à l'ordre du jour",
)
def add_agenda_item(call: CallerDep, meeting_id: PathId, body: AgendaItemIn) -> CycleOut:
    return _change_meeting(call, meeting_id, service.add_agenda_item, **body.model_dump())


@router.post(
    "/meetings/{meeting_id}/agenda/from-report",
    summary="Reprendre à l'ordre du jour les « Points appelant une décision » du rapport COPIL",
)
def agenda_from_report(call: CallerDep, settings: SettingsDep, meeting_id: PathId) -> CycleOut:
    return _change_meeting(call, meeting_id, service.agenda_from_report, tz=settings.tz)


@router.get("/meetings/{meeting_id}/decisions", summary="Décisions d'une instance")
def list_meeting_decisions(call: DatedCallerDep, meeting_id: PathId) -> list[DecisionOut]:
    session, principal = call.session, call.principal
    meeting = service.readable_meeting(session, principal, meeting_id)
    day = call.day()
    query = (
        service.decisions_query(
            principal, meeting.contract_id, service.DecisionFilter(meeting_id=meeting.id), day
        )
        .order_by(None)
        .order_by(Decision.number)
    )
    return decision_out(session, list(session.execute(query).scalars()), day)


@router.post(
    "/meetings/{meeting_id}/decisions",
    status_code=201,
    summary="Enregistrer une décision (instance tenue)",
)
def create_decision(
    call: DatedCallerDep, meeting_id: PathId, body: DecisionIn
) -> DecisionDetailOut:
    meeting = service.managed_meeting(call.session, call.principal, meeting_id)
    fields = body.model_dump(exclude=set(_LINK_FIELDS.values()))
    if fields["number"] is None:
        del fields["number"]
    decision = service.create_decision(
        call.session, call.principal, meeting, fields=fields, links=_links_in(body, partial=False)
    )
    return _detail(call.session, decision, call.day())


# -- decisions -----------------------------------------------------------------------------------


@router.get("/decisions", summary="Décisions (filtrables)")
def list_decisions(
    call: DatedCallerDep,
    paging: PagingDep,
    contract_id: ContractQuery = None,
    status: Annotated[DecisionStatus | None, Query()] = None,
    owner_partner_id: FilterId = None,
    meeting_id: FilterId = None,
    overdue: bool = False,
) -> Page[DecisionOut]:
    contract = resolve_contract(call.session, call.principal, contract_id)
    day = call.day()
    filters = service.DecisionFilter(
        status=status, owner_partner_id=owner_partner_id, overdue=overdue, meeting_id=meeting_id
    )
    query = service.decisions_query(call.principal, contract.id, filters, day)
    return paging.of(call.session, query, partial(decision_out, call.session, as_of=day))


@router.get("/decisions/{decision_id}", summary="Une décision")
def get_decision(call: DatedCallerDep, decision_id: PathId) -> DecisionDetailOut:
    decision = service.readable_decision(call.session, call.principal, decision_id)
    return _detail(call.session, decision, call.day())


@router.patch("/decisions/{decision_id}", summary="Modifier une décision")
def update_decision(
    call: DatedCallerDep, decision_id: PathId, body: DecisionPatch
) -> DecisionDetailOut:
    fields = body.model_dump(exclude_unset=True, exclude=set(_LINK_FIELDS.values()))
    links = _links_in(body, True)
    return _change_decision(call, decision_id, service.update_decision, fields=fields, links=links)


@router.post(
    "/decisions/{decision_id}/updates",
    status_code=201,
    summary="Suivi d'une décision : commentaire daté, statut, amendement du texte",
)
def add_update(
    call: DatedCallerDep, decision_id: PathId, body: DecisionUpdateIn
) -> DecisionDetailOut:
    return _change_decision(call, decision_id, service.add_update, **body.model_dump())


@router.post(
    "/decisions/{decision_id}/commitments",
    summary="Appliquer une reprogrammation ou un abandon aux engagements liés",
)
def apply_to_commitments(
    call: DatedCallerDep, decision_id: PathId, body: CommitmentEffectIn
) -> EffectOut:
    decision = service.readable_decision(call.session, call.principal, decision_id)
    day = call.day()
    changed = service.apply_to_commitments(
        call.session, call.principal, decision, **body.model_dump(), as_of=day
    )
    return EffectOut(
        decision=_detail(call.session, decision, day), commitment_ids=[c.id for c in changed]
    )


@router.post(
    "/decisions/{decision_id}/target-revisions",
    summary="Réviser une cible en application d'une décision de révision de cible",
)
def revise_target(call: DatedCallerDep, decision_id: PathId, body: TargetEffectIn) -> EffectOut:
    decision = service.readable_decision(call.session, call.principal, decision_id)
    day = call.day()
    target = call.session.get(Target, body.target_id)
    if target is None:
        raise NotFound("Cible introuvable.")
    revision = service.revise_target_by_decision(
        call.session,
        call.principal,
        decision,
        target,
        **body.model_dump(exclude={"target_id"}),
        as_of=day,
    )
    return EffectOut(decision=_detail(call.session, decision, day), target_revision_id=revision.id)
