"""Money API: the financial lines of a commitment, their payments, and the roll-up. Thin:
rules in `suivi.finance.rules`, writes in `suivi.finance.service`, sums in
`suivi.finance.rollups`, who may see or change what in `suivi.scoping`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated
from typing import get_type_hints

from fastapi import File
from fastapi import Query
from fastapi import UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic import Field
from pydantic import create_model
from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.api.common import MAX_ID
from suivi.api.common import Caller
from suivi.api.common import CallerDep
from suivi.api.common import ContractQuery
from suivi.api.common import DatedCallerDep
from suivi.api.common import Day
from suivi.api.common import FilterId
from suivi.api.common import Id
from suivi.api.common import PathId
from suivi.api.common import StrictModel
from suivi.api.common import Text
from suivi.api.common import api_router
from suivi.api.common import resolve_contract
from suivi.auth.principal import Principal
from suivi.codes import FundingType
from suivi.commitments.models import Commitment
from suivi.errors import Forbidden
from suivi.errors import NotFound
from suivi.finance import service
from suivi.finance.models import FundingAlert
from suivi.finance.models import FundingLine
from suivi.finance.register import MAX_BYTES
from suivi.finance.register import import_register
from suivi.finance.rollups import CPO_TARGET
from suivi.finance.rollups import OverdueLine
from suivi.finance.rollups import funding_rollup

router = api_router("financements")
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


# A line whose justification is late: the fields of the roll-up's `OverdueLine`, one to one.
OverdueOut = create_model(
    "OverdueOut",
    __module__=__name__,
    **{name: (kind, ...) for name, kind in get_type_hints(OverdueLine).items()},
)


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


def _change_line(call: Caller, line_id: int, change: Callable[..., object], **kwargs) -> LineOut:
    """A line the principal may change, after `change(session, line, **kwargs, actor_id=…)`
    (a function of `service`)."""
    line = writable_line(call.session, call.principal, line_id)
    change(call.session, line, **kwargs, actor_id=call.principal.user_id)
    return line_output(call.session, line)


@router.get(
    "/commitments/{commitment_id}/funding-lines", summary="Lignes de financement d'un engagement"
)
def list_lines(call: CallerDep, commitment_id: PathId) -> list[LineOut]:
    commitment = _readable_commitment(call.session, call.principal, commitment_id)
    lines = call.session.execute(
        select(FundingLine)
        .where(
            FundingLine.commitment_id == commitment.id,
            scoping.funding_line_condition(call.principal),
        )
        .order_by(FundingLine.year, FundingLine.partner_id, FundingLine.id)
    ).scalars()
    return [line_output(call.session, line) for line in lines]


@router.post(
    "/commitments/{commitment_id}/funding-lines",
    status_code=201,
    summary="Créer une ligne de financement",
)
def create_line(call: CallerDep, commitment_id: PathId, body: LineIn) -> LineOut:
    session, principal = call.session, call.principal
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
    "/funding-lines/{line_id}", summary="Modifier une ligne de financement (donner la version lue)"
)
def update_line(call: CallerDep, line_id: PathId, body: LinePatch) -> LineOut:
    fields = body.model_dump(exclude={"version"}, exclude_unset=True)
    return _change_line(call, line_id, service.update_line, version=body.version, fields=fields)


@router.post(
    "/funding-lines/{line_id}/payments", status_code=201, summary="Enregistrer un versement"
)
def add_payment(call: CallerDep, line_id: PathId, body: PaymentIn) -> LineOut:
    return _change_line(call, line_id, service.add_payment, **body.model_dump())


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
    summary="Prévu, voté, versé et justifié (par partenaire, quartier, orientation, type, année)",
)
def rollup(
    call: DatedCallerDep,
    year: YearQuery = None,
    partner_id: FilterId = None,
    quartier_id: FilterId = None,
    contract_id: ContractQuery = None,
) -> RollupOut:
    contract = resolve_contract(call.session, call.principal, contract_id)
    result = funding_rollup(
        call.session,
        call.principal,
        contract_id=contract.id,
        as_of=call.day(),
        year=year,
        partner_id=partner_id,
        quartier_id=quartier_id,
    )
    return rollup_output(result)


@router.post(
    "/funding-lines/register", summary="Importer un registre de subventions (CSV, tout ou rien)"
)
def import_subsidy_register(
    call: CallerDep,
    file: Annotated[UploadFile, File(description="Registre CSV (colonnes nommées).")],
    contract_id: ContractQuery = None,
):
    session, principal = call.session, call.principal
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
    "/funding-alerts", summary="Alertes des financements ouvertes (justification_en_retard)"
)
def list_funding_alerts(
    call: CallerDep, contract_id: ContractQuery = None
) -> list[FundingAlertOut]:
    contract = resolve_contract(call.session, call.principal, contract_id)
    rows = call.session.execute(
        select(FundingAlert)
        .join(FundingLine, FundingLine.id == FundingAlert.funding_line_id)
        .where(
            FundingAlert.contract_id == contract.id,
            FundingAlert.resolved_on.is_(None),
            scoping.funding_line_condition(call.principal),
        )
        .order_by(FundingAlert.opened_on, FundingAlert.id)
    ).scalars()
    return [
        FundingAlertOut(**row.model_dump(exclude={"contract_id", "created_at"})) for row in rows
    ]
