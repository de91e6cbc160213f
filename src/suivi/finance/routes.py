"""Money API: the financial lines of a commitment, their payments, and the roll-up. Thin:
rules in `suivi.finance.rules`, writes in `suivi.finance.service`, sums in
`suivi.finance.rollups`, who may see or change what in `suivi.scoping`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from fastapi import File
from fastapi import Query
from fastapi import UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic import Field
from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.api.common import MAX_ID
from suivi.api.common import AsOfQuery
from suivi.api.common import ContractQuery
from suivi.api.common import Day
from suivi.api.common import FilterId
from suivi.api.common import Id
from suivi.api.common import PathId
from suivi.api.common import StrictModel
from suivi.api.common import Text
from suivi.api.common import resolve_as_of
from suivi.api.common import resolve_contract
from suivi.api.errors import ERROR_RESPONSES
from suivi.auth.deps import CurrentPrincipal
from suivi.auth.principal import Principal
from suivi.codes import FundingType
from suivi.commitments.models import Commitment
from suivi.deps import SessionDep
from suivi.deps import SettingsDep
from suivi.deps import UnitOfWorkRoute
from suivi.errors import Forbidden
from suivi.errors import NotFound
from suivi.finance import service
from suivi.finance.models import FundingAlert
from suivi.finance.models import FundingLine
from suivi.finance.register import MAX_BYTES
from suivi.finance.register import import_register
from suivi.finance.rollups import CPO_TARGET
from suivi.finance.rollups import funding_rollup

router = APIRouter(
    prefix="/api", tags=["financements"], responses=ERROR_RESPONSES, route_class=UnitOfWorkRoute
)
Funding = FundingType
# Amounts arrive as JSON numbers or strings; `suivi.finance.rules` checks them (to the cent).
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"))]
Year = Annotated[int, Field(ge=2000, le=2100)]
YearQuery = Annotated[int | None, Query(ge=2000, le=2100, description="Année budgétaire.")]


class LineFields(StrictModel):
    funding_type: Funding | None = None
    amount_requested: Amount | None = None
    amount_voted: Amount | None = None
    vote_reference: Text(120) | None = None
    voted_on: Day | None = None
    overrun_reason: Text(2000) | None = None
    amount_justified: Amount | None = None
    justified_on: Day | None = None
    beneficiary_name: Text(200) | None = None
    beneficiary_siret: Text(20) | None = None
    beneficiary_rna: Text(12) | None = None
    dauphin_number: Text(40) | None = None
    cpo: bool | None = None
    cpo_first_year: Year | None = None
    cpo_last_year: Year | None = None


class LineIn(LineFields):
    partner_id: Id
    year: Year


class LinePatch(LineFields):
    version: Annotated[int, Field(ge=1, le=MAX_ID)]


class PaymentIn(StrictModel):
    paid_on: Day
    amount: Amount
    reference: Text(120) = ""


class PaymentOut(BaseModel):
    id: int
    paid_on: date
    amount: Decimal
    reference: str


class LineOut(BaseModel):
    id: int
    contract_id: int
    commitment_id: int
    partner_id: int
    year: int
    funding_type: str
    amount_requested: Decimal
    amount_voted: Decimal | None
    vote_reference: str
    voted_on: date | None
    overrun_reason: str
    amount_paid: Decimal
    amount_justified: Decimal | None
    justified_on: date | None
    beneficiary_name: str
    beneficiary_siret: str
    beneficiary_rna: str
    dauphin_number: str
    cpo: bool
    cpo_first_year: int | None
    cpo_last_year: int | None
    version: int
    payments: list[PaymentOut]


class TotalsOut(BaseModel):
    planned: Decimal
    requested: Decimal
    voted: Decimal
    paid: Decimal
    justified: Decimal


class GroupOut(TotalsOut):
    key: int | str | None


class OverdueOut(BaseModel):
    line_id: int
    commitment_id: int
    commitment_code: str
    partner_id: int
    year: int
    beneficiary_name: str
    amount_paid: Decimal
    due_on: date


class RollupOut(BaseModel):
    year: int | None
    as_of: date
    total: TotalsOut
    by_partner: list[GroupOut]
    by_quartier: list[GroupOut]
    by_priority: list[GroupOut]
    by_funding_type: list[GroupOut]
    by_year: list[GroupOut]
    association_voted: Decimal
    cpo_voted: Decimal
    cpo_share: float | None
    cpo_target: float
    overdue: list[OverdueOut]


def line_output(session: Session, line: FundingLine) -> LineOut:
    payments = service.payments_of(session, line.id)
    return LineOut(
        **line.model_dump(exclude={"created_at", "updated_at"}),
        amount_paid=sum((p.amount for p in payments), Decimal(0)),
        payments=[
            PaymentOut(**p.model_dump(exclude={"funding_line_id", "created_at"})) for p in payments
        ],
    )


def _readable_commitment(session: Session, principal: Principal, commitment_id: int):
    commitment = session.get(Commitment, commitment_id)
    if commitment is None or not scoping.can_read_commitment(session, principal, commitment):
        raise NotFound("Engagement introuvable.")
    return commitment


def writable_line(session: Session, principal: Principal, line_id: int) -> FundingLine:
    """404 if the principal cannot read the line, 403 if they may not change it."""
    line = session.get(FundingLine, line_id)
    if line is None or not scoping.can_read_funding_line(session, principal, line):
        raise NotFound("Ligne de financement introuvable.")
    if not scoping.can_write_funding_line(session, principal, line):
        raise Forbidden("Cette ligne de financement est hors de votre périmètre de modification.")
    return line


@router.get(
    "/commitments/{commitment_id}/funding-lines",
    response_model=list[LineOut],
    summary="Lignes de financement d'un engagement",
)
def list_lines(session: SessionDep, principal: CurrentPrincipal, commitment_id: PathId):
    commitment = _readable_commitment(session, principal, commitment_id)
    lines = session.execute(
        select(FundingLine)
        .where(
            FundingLine.commitment_id == commitment.id,
            scoping.funding_line_condition(principal),
        )
        .order_by(FundingLine.year, FundingLine.partner_id, FundingLine.id)
    ).scalars()
    return [line_output(session, line) for line in lines]


@router.post(
    "/commitments/{commitment_id}/funding-lines",
    response_model=LineOut,
    status_code=201,
    summary="Créer une ligne de financement",
)
def create_line(
    session: SessionDep, principal: CurrentPrincipal, commitment_id: PathId, body: LineIn
):
    commitment = _readable_commitment(session, principal, commitment_id)
    if not scoping.can_create_funding_line(session, principal, commitment, body.partner_id):
        raise Forbidden("Vous ne pouvez pas créer cette ligne de financement (rôle ou périmètre).")
    line = service.create_line(
        session,
        commitment,
        fields=body.model_dump(exclude_none=True),
        actor_id=principal.user_id,
    )
    return line_output(session, line)


@router.patch(
    "/funding-lines/{line_id}",
    response_model=LineOut,
    summary="Modifier une ligne de financement (donner la version lue)",
)
def update_line(session: SessionDep, principal: CurrentPrincipal, line_id: PathId, body: LinePatch):
    line = writable_line(session, principal, line_id)
    line = service.update_line(
        session,
        line,
        version=body.version,
        fields=body.model_dump(exclude={"version"}, exclude_unset=True),
        actor_id=principal.user_id,
    )
    return line_output(session, line)


@router.post(
    "/funding-lines/{line_id}/payments",
    response_model=LineOut,
    status_code=201,
    summary="Enregistrer un versement",
)
def add_payment(session: SessionDep, principal: CurrentPrincipal, line_id: PathId, body: PaymentIn):
    line = writable_line(session, principal, line_id)
    service.add_payment(
        session,
        line,
        paid_on=body.paid_on,
        amount=body.amount,
        reference=body.reference,
        actor_id=principal.user_id,
    )
    return line_output(session, line)


def _groups(groups: dict) -> list[GroupOut]:
    def order(key):
        return (key is None, str(key) if isinstance(key, str) else key or 0)

    return [GroupOut(key=key, **groups[key].as_dict()) for key in sorted(groups, key=order)]


def rollup_output(rollup) -> RollupOut:
    return RollupOut(
        year=rollup.year,
        as_of=rollup.as_of,
        total=TotalsOut(**rollup.total.as_dict()),
        by_partner=_groups(rollup.by_partner),
        by_quartier=_groups(rollup.by_quartier),
        by_priority=_groups(rollup.by_priority),
        by_funding_type=_groups(rollup.by_funding_type),
        by_year=_groups(rollup.by_year),
        association_voted=rollup.association_voted,
        cpo_voted=rollup.cpo_voted,
        cpo_share=None if rollup.cpo_share is None else float(rollup.cpo_share),
        cpo_target=float(CPO_TARGET),
        overdue=[OverdueOut(**vars(o)) for o in rollup.overdue],
    )


@router.get(
    "/rollups/funding",
    response_model=RollupOut,
    summary="Prévu, voté, versé et justifié (par partenaire, quartier, orientation, type, année)",
)
def rollup(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    year: YearQuery = None,
    partner_id: FilterId = None,
    quartier_id: FilterId = None,
    contract_id: ContractQuery = None,
    as_of: AsOfQuery = None,
):
    contract = resolve_contract(session, principal, contract_id)
    result = funding_rollup(
        session,
        principal,
        contract_id=contract.id,
        as_of=resolve_as_of(as_of, settings),
        year=year,
        partner_id=partner_id,
        quartier_id=quartier_id,
    )
    return rollup_output(result)


@router.post(
    "/funding-lines/register",
    summary="Importer un registre de subventions (CSV, tout ou rien)",
)
def import_subsidy_register(
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="Registre CSV (colonnes nommées).")],
    contract_id: ContractQuery = None,
):
    contract = resolve_contract(session, principal, contract_id)
    if principal.role == "copil":
        raise Forbidden("Votre rôle permet de consulter les financements, pas d'en importer.")
    content = file.file.read(MAX_BYTES + 1)
    report = import_register(
        session, principal, contract_id=contract.id, content=content, actor_id=principal.user_id
    )
    if not report.ok:
        session.rollback()
        return JSONResponse(
            {
                "detail": f"Import refusé : {len(report.problems)} ligne(s) en erreur, "
                "rien n'a été enregistré.",
                # The API's one error format: the field is the file's line.
                "errors": [{"field": f"ligne {n}", "message": m} for n, m in report.problems],
            },
            status_code=422,
        )
    return {"created": report.created, "rows": report.rows}


class FundingAlertOut(BaseModel):
    id: int
    funding_line_id: int
    kind: str
    opened_on: date
    resolved_on: date | None
    details: dict


@router.get(
    "/funding-alerts",
    response_model=list[FundingAlertOut],
    summary="Alertes des financements ouvertes (justification_en_retard)",
)
def list_funding_alerts(
    session: SessionDep, principal: CurrentPrincipal, contract_id: ContractQuery = None
):
    contract = resolve_contract(session, principal, contract_id)
    rows = session.execute(
        select(FundingAlert)
        .join(FundingLine, FundingLine.id == FundingAlert.funding_line_id)
        .where(
            FundingAlert.contract_id == contract.id,
            FundingAlert.resolved_on.is_(None),
            scoping.funding_line_condition(principal),
        )
        .order_by(FundingAlert.opened_on, FundingAlert.id)
    ).scalars()
    return [
        FundingAlertOut(**row.model_dump(exclude={"contract_id", "created_at"})) for row in rows
    ]
