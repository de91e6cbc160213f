"""Indicators API: indicators, targets (revisions with a reason), measurements (create,
correct), evaluations (`GET /api/indicators/{id}/evaluation?as_of=`) and roll-ups."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from datetime import datetime
from functools import partial
from typing import Annotated
from typing import Any
from typing import get_type_hints

from fastapi import Query
from fastapi import Response
from pydantic import BaseModel
from pydantic import Field
from pydantic import create_model
from sqlalchemy import select
from sqlmodel import Session

from suivi import clock
from suivi import scoping
from suivi.api.common import MAX_ID
from suivi.api.common import AsOfQuery
from suivi.api.common import CallerDep
from suivi.api.common import CurrentContract
from suivi.api.common import DatedCallerDep
from suivi.api.common import Day
from suivi.api.common import FilterId
from suivi.api.common import Id
from suivi.api.common import Number
from suivi.api.common import Page
from suivi.api.common import PagingDep
from suivi.api.common import PathId
from suivi.api.common import SortQuery
from suivi.api.common import StrictModel
from suivi.api.common import Text
from suivi.api.common import Url
from suivi.api.common import Version
from suivi.api.common import api_router
from suivi.api.common import children
from suivi.api.common import from_row
from suivi.api.common import models
from suivi.api.common import patch_model
from suivi.api.common import read_as
from suivi.api.common import resolve_as_of
from suivi.api.common import sort_clause
from suivi.auth.principal import Principal
from suivi.codes import Aggregation
from suivi.codes import Breakdown
from suivi.codes import Comparability
from suivi.codes import TargetRevisionKind
from suivi.commitments import access as commitment_access
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentPartner
from suivi.config import Settings
from suivi.contract.models import Contract
from suivi.deps import SettingsDep
from suivi.errors import Invalid
from suivi.errors import NotFound
from suivi.indicators import access
from suivi.indicators import service
from suivi.indicators.evaluation import contract_rollups
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.indicators.models import TargetRevision
from suivi.progress import Direction
from suivi.progress import Evaluation
from suivi.progress import Frequency
from suivi.progress import Freshness
from suivi.progress import Performance
from suivi.progress import Rollup

router = api_router("indicateurs")
RevisionKind = TargetRevisionKind
Tolerance = Annotated[float, Field(gt=0, lt=1)]
GraceDays = Annotated[int, Field(ge=0, le=366)]
# Bounded like the database's integers; a negative lag is refused by the service in French.
LagDays = Annotated[int, Field(ge=-MAX_ID, le=MAX_ID)]


class SheetIn(StrictModel):
    """The reference sheet (fiche indicateur). Consistency (a rate has a denominator, a
    weight goes with a weighted mean, the margin is not negative…) is checked by the
    service, in French."""

    definition: Text(5_000) = ""
    formula: Text(2_000) = ""
    is_rate: bool = False
    numerator: Text(300) = ""
    denominator: Text(300) = ""
    producer: Text(200) = ""
    publication_lag_days: LagDays | None = None
    breakdown: Breakdown = Breakdown.NONE
    aggregation: Aggregation = Aggregation.NONE
    aggregation_weight: Text(200) = ""
    comparability: Comparability = Comparability.COMPARABLE
    forecast: bool | None = None  # None: on, unless the statistic is not comparable
    margin: Number = 0.0
    margin_justification: Text(2_000) = ""
    data_owner_contact_id: Id | None = None


# Fields a PATCH may set to null (clearing them).
NULLABLE_PATCH_FIELDS = ("quartier_id", "publication_lag_days", "data_owner_contact_id")


class SheetOut(BaseModel):
    definition: str
    formula: str
    is_rate: bool
    numerator: str
    denominator: str
    producer: str
    publication_lag_days: int | None
    breakdown: str
    aggregation: str
    aggregation_weight: str
    comparability: str
    forecast: bool
    margin: float
    margin_justification: str
    data_owner_contact_id: int | None


class TargetIn(StrictModel):
    target_date: Day
    value: Number


class IndicatorIn(SheetIn):
    commitment_id: Id
    quartier_id: Id | None = None
    code: Text(40, 1)
    name: Text(300, 1)
    unit: Text(40, 1)
    source: Text(200) = ""
    direction: Direction
    cumulative: bool = False
    frequency: Frequency = Frequency.QUARTERLY
    tolerance: Tolerance = 0.10
    grace_days: GraceDays = 30
    baseline_value: Number
    baseline_date: Day
    targets: Annotated[list[TargetIn], Field(max_length=50)] = []


# The commitment and the targets are not changed by a PATCH (targets: revisions).
IndicatorPatch = patch_model(
    IndicatorIn, "IndicatorPatch", leave_out=("commitment_id", "targets"), version=(Version, ...)
)


class TargetOut(BaseModel):
    id: int
    indicator_id: int
    target_date: date
    value: float


class IndicatorOut(SheetOut):
    id: int
    contract_id: int
    commitment_id: int
    quartier_id: int | None
    code: str
    name: str
    unit: str
    source: str
    direction: str
    cumulative: bool
    frequency: str
    tolerance: float
    grace_days: int
    baseline_value: float
    baseline_date: date
    version: int
    targets: list[TargetOut]


# The engine's `Evaluation` of one indicator at `as_of`, field for field.
EvaluationOut = create_model(
    "EvaluationOut",
    __module__=__name__,
    indicator_id=(int, ...),
    as_of=(date, ...),
    **{name: (kind, ...) for name, kind in get_type_hints(Evaluation).items()},
)


class MeasurementIn(StrictModel):
    measured_on: Day
    value: Number
    comment: Text(5_000) = ""
    evidence_url: Url = ""


class CorrectionIn(StrictModel):
    value: Number
    reason: Text(500, 1)
    measured_on: Day | None = None
    comment: Text(5_000) | None = None
    evidence_url: Url | None = None


class MeasurementOut(BaseModel):
    id: int
    indicator_id: int
    measured_on: date
    value: float
    comment: str
    evidence_url: str
    author_id: int | None
    entered_at: datetime
    superseded_by_id: int | None
    correction_reason: str
    # Review: submitted (soumise), validated (validée), returned (renvoyée, with the reason).
    status: str
    validated_by_id: int | None
    validated_at: datetime | None
    return_reason: str


class TargetRevisionIn(StrictModel):
    value: Number
    kind: RevisionKind = RevisionKind.AUTRE
    reason: Text(2_000, 1)
    # The committee decision carried out (`[governance] revision_requires_decision`).
    decision_id: Id | None = None
    avenant_reference: Text(200) = ""


class TargetRevisionOut(BaseModel):
    id: int
    target_id: int
    old_value: float
    new_value: float
    kind: str
    reason: str
    revised_by_id: int | None
    revised_at: datetime
    decision_id: int | None = None
    avenant_reference: str = ""


class RollupOut(BaseModel):
    count: int
    by_performance: dict[str, int]
    by_freshness: dict[str, int]
    mean_progress: float | None
    forecast_miss: int


class RollupsOut(BaseModel):
    contract_id: int
    as_of: date
    contract: RollupOut
    by_priority: dict[int, RollupOut]
    by_quartier: dict[int, RollupOut]
    by_partner: dict[int, RollupOut]


def _rollup_out(value: Rollup) -> RollupOut:
    return RollupOut.model_validate(value, from_attributes=True)


def _evaluation_out(indicator_id: int, as_of: date, ev: Evaluation) -> EvaluationOut:
    # The engine's enums become their values (`str` fields).
    return EvaluationOut(indicator_id=indicator_id, as_of=as_of, **asdict(ev))


def _indicators_out(session: Session, rows: list[Indicator]) -> list[IndicatorOut]:
    by_date = select(Target.indicator_id, Target).order_by(Target.target_date)
    targets = children(session, by_date, [row.id for row in rows], read_as(TargetOut))
    return [from_row(IndicatorOut, row, targets=targets[row.id]) for row in rows]


SORT_COLUMNS = {
    "id": Indicator.id,
    "code": Indicator.code,
    "name": Indicator.name,
    "baseline_date": Indicator.baseline_date,
}


@router.get("/indicators", summary="Indicateurs")
def list_indicators(
    call: CallerDep,
    settings: SettingsDep,
    contract: CurrentContract,
    paging: PagingDep,
    commitment_id: FilterId = None,
    partner_id: FilterId = None,
    priority_id: FilterId = None,
    quartier_id: FilterId = None,
    performance: Annotated[Performance | None, Query()] = None,
    freshness: Annotated[Freshness | None, Query()] = None,
    as_of: AsOfQuery = None,
    sort: SortQuery = None,
) -> Page[IndicatorOut]:
    query = select(Indicator).where(
        Indicator.contract_id == contract.id, scoping.indicator_condition(call.principal)
    )
    if commitment_id is not None:
        query = query.where(Indicator.commitment_id == commitment_id)
    if quartier_id is not None:
        query = query.where(Indicator.quartier_id == quartier_id)
    if priority_id is not None:
        query = query.where(
            Indicator.commitment_id.in_(
                select(Commitment.id).where(Commitment.priority_id == priority_id)
            )
        )
    if partner_id is not None:
        query = query.where(
            Indicator.commitment_id.in_(
                select(Commitment.id).where(Commitment.lead_partner_id == partner_id)
            )
            | Indicator.commitment_id.in_(
                select(CommitmentPartner.commitment_id).where(
                    CommitmentPartner.partner_id == partner_id
                )
            )
        )
    query = query.order_by(*sort_clause(sort, SORT_COLUMNS, "code"))
    items = partial(_indicators_out, call.session)
    if performance is None and freshness is None:
        return paging.of(call.session, query, items)
    day = resolve_as_of(as_of, settings)
    candidates = list(call.session.execute(query).scalars())
    evaluated = evaluate_indicators(
        call.session,
        contract_id=contract.id,
        as_of=day,
        indicator_ids=[row.id for row in candidates],
        include_inactive=True,
    )

    def keep(row: Indicator) -> bool:
        ev = evaluated[row.id].evaluation if row.id in evaluated else None
        if ev is None:
            return False
        return (performance is None or ev.performance == performance) and (
            freshness is None or ev.freshness == freshness
        )

    return paging.slice([row for row in candidates if keep(row)], items)


@router.get("/indicators/{indicator_id}", summary="Un indicateur")
def get_indicator(call: CallerDep, indicator_id: PathId) -> IndicatorOut:
    return _indicators_out(
        call.session, [access.get_readable(call.session, call.principal, indicator_id)]
    )[0]


@router.get(
    "/indicators/{indicator_id}/evaluation", summary="Évaluation d'un indicateur à une date"
)
def get_evaluation(call: DatedCallerDep, indicator_id: PathId) -> EvaluationOut:
    indicator = access.get_readable(call.session, call.principal, indicator_id)
    day = call.day()
    evaluated = evaluate_indicators(
        call.session,
        contract_id=indicator.contract_id,
        as_of=day,
        indicator_ids=[indicator.id],
        include_inactive=True,
    )
    item = evaluated.get(indicator.id)
    if item is None or item.evaluation is None:
        raise Invalid("indicator_id", "Cet indicateur est incohérent : évaluation impossible.")
    return _evaluation_out(indicator.id, day, item.evaluation)


@router.get("/rollups", summary="Synthèses par contrat, priorité…")
def get_rollups(call: DatedCallerDep, contract: CurrentContract) -> RollupsOut:
    """Counts by performance and freshness and mean progress over the indicators the user
    may read (a partner's roll-ups only cover its own commitments)."""
    day = call.day()
    visible = list(
        call.session.execute(
            select(Indicator.id).where(
                Indicator.contract_id == contract.id, scoping.indicator_condition(call.principal)
            )
        ).scalars()
    )
    evaluated = evaluate_indicators(
        call.session, contract_id=contract.id, as_of=day, indicator_ids=visible
    )
    rollups = contract_rollups(
        call.session, contract_id=contract.id, as_of=day, evaluated=evaluated
    )
    return RollupsOut(
        contract_id=contract.id,
        as_of=day,
        contract=_rollup_out(rollups.contract),
        by_priority={k: _rollup_out(v) for k, v in rollups.by_priority.items()},
        by_quartier={k: _rollup_out(v) for k, v in rollups.by_quartier.items()},
        by_partner={k: _rollup_out(v) for k, v in rollups.by_partner.items()},
    )


@router.post("/indicators", status_code=201, summary="Créer un indicateur")
def create_indicator(call: CallerDep, body: IndicatorIn) -> IndicatorOut:
    commitment = commitment_access.get_writable(call.session, call.principal, body.commitment_id)
    contract = call.session.get(Contract, commitment.contract_id)
    indicator = service.create_indicator(
        call.session,
        contract,
        # forecast left out: on, unless the statistic is not comparable (the service decides).
        fields=body.model_dump(
            exclude={"targets"} | ({"forecast"} if body.forecast is None else set())
        ),
        targets=[(t.target_date, t.value) for t in body.targets],
        actor_id=call.principal.user_id,
    )
    return _indicators_out(call.session, [indicator])[0]


@router.patch(
    "/indicators/{indicator_id}", summary="Modifier un indicateur (donner la version lue)"
)
def update_indicator(call: CallerDep, indicator_id: PathId, body: IndicatorPatch) -> IndicatorOut:
    indicator = access.get_writable(call.session, call.principal, indicator_id)
    fields = body.model_dump(exclude={"version"}, exclude_unset=True)
    for key, value in fields.items():
        if value is None and key not in NULLABLE_PATCH_FIELDS:
            raise Invalid(key, "Ce champ ne peut pas être vide.")
    contract = call.session.get(Contract, indicator.contract_id)
    indicator = service.update_indicator(
        call.session,
        contract,
        indicator,
        version=body.version,
        fields=fields,
        actor_id=call.principal.user_id,
    )
    return _indicators_out(call.session, [indicator])[0]


@router.post("/indicators/{indicator_id}/targets", status_code=201, summary="Ajouter une cible")
def add_target(call: CallerDep, indicator_id: PathId, body: TargetIn) -> TargetOut:
    indicator = access.get_writable(call.session, call.principal, indicator_id)
    contract = call.session.get(Contract, indicator.contract_id)
    target = service.add_target(
        call.session, contract, indicator, **body.model_dump(), actor_id=call.principal.user_id
    )
    return TargetOut.model_validate(target, from_attributes=True)


def _target_of(session: Session, indicator: Indicator, target_id: int) -> Target:
    target = session.get(Target, target_id)
    if target is None or target.indicator_id != indicator.id:
        raise NotFound("Cible introuvable.")
    return target


@router.put(
    "/indicators/{indicator_id}/targets/{target_id}",
    summary="Réviser une cible (motif obligatoire ; l'historique est gardé)",
)
def revise_target(
    call: CallerDep,
    settings: SettingsDep,
    indicator_id: PathId,
    target_id: PathId,
    body: TargetRevisionIn,
) -> TargetRevisionOut:
    indicator = access.get_writable(call.session, call.principal, indicator_id)
    target = _target_of(call.session, indicator, target_id)
    contract = call.session.get(Contract, indicator.contract_id)
    revision = service.revise_target(
        call.session,
        contract,
        indicator,
        target,
        **body.model_dump(),
        actor_id=call.principal.user_id,
        require_decision=settings.governance.revision_requires_decision,
    )
    return TargetRevisionOut.model_validate(revision, from_attributes=True)


@router.get(
    "/indicators/{indicator_id}/targets/{target_id}/revisions",
    summary="Historique des révisions d'une cible",
)
def list_target_revisions(
    call: CallerDep, indicator_id: PathId, target_id: PathId
) -> list[TargetRevisionOut]:
    indicator = access.get_readable(call.session, call.principal, indicator_id)
    target = _target_of(call.session, indicator, target_id)
    rows = call.session.execute(
        select(TargetRevision)
        .where(TargetRevision.target_id == target.id)
        .order_by(TargetRevision.revised_at, TargetRevision.id)
    ).scalars()
    return [TargetRevisionOut.model_validate(r, from_attributes=True) for r in rows]


def _entry(principal: Principal, settings: Settings) -> dict[str, Any]:
    """Who enters a figure, on what day, and whether it then awaits validation (#18)."""
    return {
        "actor_id": principal.user_id,
        "today": clock.today(settings.tz),
        "validation_required": settings.validation.required,
    }


@router.get("/indicators/{indicator_id}/measurements", summary="Mesures d'un indicateur")
def list_measurements(
    call: CallerDep,
    indicator_id: PathId,
    paging: PagingDep,
    include_superseded: bool = False,
    sort: SortQuery = None,
) -> Page[MeasurementOut]:
    indicator = access.get_readable(call.session, call.principal, indicator_id)
    query = select(Measurement).where(Measurement.indicator_id == indicator.id)
    if not include_superseded:
        query = query.where(Measurement.superseded_by_id.is_(None))
    columns = {"id": Measurement.id, "measured_on": Measurement.measured_on}
    query = query.order_by(*sort_clause(sort, columns, "-measured_on"))
    return paging.of(call.session, query, models(MeasurementOut))


@router.post(
    "/indicators/{indicator_id}/measurements", status_code=201, summary="Saisir une mesure"
)
def create_measurement(
    call: CallerDep,
    settings: SettingsDep,
    indicator_id: PathId,
    body: MeasurementIn,
) -> MeasurementOut:
    indicator, contract = access.get_measurable_with_contract(
        call.session, call.principal, indicator_id
    )
    measurement = service.create_measurement(
        call.session, contract, indicator, **body.model_dump(), **_entry(call.principal, settings)
    )
    # The hot path: serialized here, in the endpoint's worker thread. Returning the model
    # would make FastAPI validate it again against `response_model` in one more threadpool
    # hop; the JSON is the same (response_model still documents it).
    return Response(
        MeasurementOut.model_validate(measurement).model_dump_json(),
        status_code=201,
        media_type="application/json",
    )


@router.post(
    "/indicators/{indicator_id}/measurements/{measurement_id}/correction",
    status_code=201,
    summary="Corriger une mesure (nouvelle mesure qui remplace l'ancienne, avec un motif)",
)
def correct_measurement(
    call: CallerDep,
    settings: SettingsDep,
    indicator_id: PathId,
    measurement_id: PathId,
    body: CorrectionIn,
) -> MeasurementOut:
    indicator = access.get_measurable(call.session, call.principal, indicator_id)
    old = call.session.get(Measurement, measurement_id)
    if old is None or old.indicator_id != indicator.id:
        raise NotFound("Mesure introuvable.")
    contract = call.session.get(Contract, indicator.contract_id)
    new = service.correct_measurement(
        call.session,
        contract,
        indicator,
        old,
        **body.model_dump(),
        **_entry(call.principal, settings),
    )
    return MeasurementOut.model_validate(new, from_attributes=True)
