"""Indicators API: indicators, targets (revisions with a reason), measurements (create,
correct), evaluations (`GET /api/indicators/{id}/evaluation?as_of=`) and roll-ups."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Literal, NamedTuple

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from suivi import clock, scoping
from suivi.api.commitments import writable_commitment
from suivi.api.common import (
    MAX_ID,
    AsOfQuery,
    ContractQuery,
    Day,
    FilterId,
    Id,
    Number,
    Page,
    PageQuery,
    PathId,
    SizeQuery,
    StrictModel,
    Text,
    Url,
    paginate,
    resolve_as_of,
    resolve_contract,
    sort_clause,
)
from suivi.api.errors import ERROR_RESPONSES
from suivi.auth.deps import CurrentPrincipal
from suivi.auth.principal import Principal
from suivi.commitments.models import Commitment, CommitmentPartner
from suivi.contract.models import Contract
from suivi.deps import SessionDep, SettingsDep
from suivi.errors import Forbidden, Invalid, NotFound
from suivi.indicators import service
from suivi.indicators.evaluation import contract_rollups, evaluate_indicators
from suivi.indicators.models import (
    AGGREGATIONS,
    BREAKDOWNS,
    COMPARABILITIES,
    TARGET_REVISION_KINDS,
    Indicator,
    Measurement,
    Target,
    TargetRevision,
)
from suivi.progress import DIRECTIONS, FREQUENCIES, FRESHNESSES, PERFORMANCES, Evaluation, Rollup

router = APIRouter(prefix="/api", tags=["indicateurs"], responses=ERROR_RESPONSES)
Direction = Literal[DIRECTIONS]  # type: ignore[valid-type]
Frequency = Literal[FREQUENCIES]  # type: ignore[valid-type]
RevisionKind = Literal[TARGET_REVISION_KINDS]  # type: ignore[valid-type]
Tolerance = Annotated[float, Field(gt=0, lt=1)]
GraceDays = Annotated[int, Field(ge=0, le=366)]
Aggregation = Literal[AGGREGATIONS]  # type: ignore[valid-type]
Breakdown = Literal[BREAKDOWNS]  # type: ignore[valid-type]
Comparability = Literal[COMPARABILITIES]  # type: ignore[valid-type]
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
    breakdown: Breakdown = "none"
    aggregation: Aggregation = "none"
    aggregation_weight: Text(200) = ""
    comparability: Comparability = "comparable"
    forecast: bool | None = None  # None: on, unless the statistic is not comparable
    margin: Number = 0.0
    margin_justification: Text(2_000) = ""
    data_owner_contact_id: Id | None = None


class SheetPatch(StrictModel):
    definition: Text(5_000) | None = None
    formula: Text(2_000) | None = None
    is_rate: bool | None = None
    numerator: Text(300) | None = None
    denominator: Text(300) | None = None
    producer: Text(200) | None = None
    publication_lag_days: LagDays | None = None
    breakdown: Breakdown | None = None
    aggregation: Aggregation | None = None
    aggregation_weight: Text(200) | None = None
    comparability: Comparability | None = None
    forecast: bool | None = None
    margin: Number | None = None
    margin_justification: Text(2_000) | None = None
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
    frequency: Frequency = "quarterly"
    tolerance: Tolerance = 0.10
    grace_days: GraceDays = 30
    baseline_value: Number
    baseline_date: Day
    targets: Annotated[list[TargetIn], Field(max_length=50)] = []


class IndicatorPatch(SheetPatch):
    version: Annotated[int, Field(ge=1, le=MAX_ID)]
    quartier_id: Id | None = None
    code: Text(40, 1) | None = None
    name: Text(300, 1) | None = None
    unit: Text(40, 1) | None = None
    source: Text(200) | None = None
    direction: Direction | None = None
    cumulative: bool | None = None
    frequency: Frequency | None = None
    tolerance: Tolerance | None = None
    grace_days: GraceDays | None = None
    baseline_value: Number | None = None
    baseline_date: Day | None = None


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


class EvaluationOut(BaseModel):
    indicator_id: int
    as_of: date
    actual: float | None
    measured_on: date | None
    expected: float | None
    progress: float | None
    performance: str
    freshness: str
    next_due: date | None
    overdue_since: date | None
    forecast: float | None
    forecast_status: str | None


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
    kind: RevisionKind = "autre"
    reason: Text(2_000, 1)


class TargetRevisionOut(BaseModel):
    id: int
    target_id: int
    old_value: float
    new_value: float
    kind: str
    reason: str
    revised_by_id: int | None
    revised_at: datetime


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
    return RollupOut(
        count=value.count,
        by_performance=dict(value.by_performance),
        by_freshness=dict(value.by_freshness),
        mean_progress=value.mean_progress,
        forecast_miss=value.forecast_miss,
    )


def _evaluation_out(indicator_id: int, as_of: date, ev: Evaluation) -> EvaluationOut:
    return EvaluationOut(
        indicator_id=indicator_id,
        as_of=as_of,
        actual=ev.actual,
        measured_on=ev.measured_on,
        expected=ev.expected,
        progress=ev.progress,
        performance=str(ev.performance),
        freshness=str(ev.freshness),
        next_due=ev.next_due,
        overdue_since=ev.overdue_since,
        forecast=ev.forecast,
        forecast_status=None if ev.forecast_status is None else str(ev.forecast_status),
    )


def _indicators_out(session: Session, rows: list[Indicator]) -> list[IndicatorOut]:
    targets: dict[int, list[TargetOut]] = {row.id: [] for row in rows}
    if rows:
        for target in session.execute(
            select(Target)
            .where(Target.indicator_id.in_(list(targets)))
            .order_by(Target.target_date)
        ).scalars():
            targets[target.indicator_id].append(
                TargetOut.model_validate(target, from_attributes=True)
            )
    return [
        IndicatorOut(
            **row.model_dump(exclude={"created_at", "updated_at"}), targets=targets[row.id]
        )
        for row in rows
    ]


def readable_indicator(session: Session, principal: Principal, indicator_id: int) -> Indicator:
    indicator = session.get(Indicator, indicator_id)
    if indicator is None or not scoping.can_read_indicator(session, principal, indicator):
        raise NotFound("Indicateur introuvable.")
    return indicator


def _indicator_for_write(session: Session, principal: Principal, indicator_id: int) -> Indicator:
    """404 unless the principal may at least read it (a write does not reveal existence)."""
    indicator = session.get(Indicator, indicator_id)
    if indicator is None or not scoping.in_contracts(principal, indicator.contract_id):
        raise NotFound("Indicateur introuvable.")
    if not scoping.can_read_indicator(session, principal, indicator):
        raise NotFound("Indicateur introuvable.")
    return indicator


def writable_indicator(session: Session, principal: Principal, indicator_id: int) -> Indicator:
    indicator = _indicator_for_write(session, principal, indicator_id)
    if not scoping.can_write_indicator(session, principal, indicator):
        raise Forbidden("Cet indicateur est hors de votre périmètre de modification.")
    return indicator


def measurable_indicator(session: Session, principal: Principal, indicator_id: int) -> Indicator:
    indicator = _indicator_for_write(session, principal, indicator_id)
    if not scoping.can_log_measurement(session, principal, indicator):
        raise Forbidden("Vous ne pouvez pas saisir de mesure pour cet indicateur.")
    return indicator


# An alias, so that it is never correlated with the `Indicator` of the scoping subqueries;
# built once (building an alias per request costs more than the query).
_MEASURED = aliased(Indicator, name="measured_indicator")


class _MeasuredIndicator(NamedTuple):
    """The columns of an indicator that logging a measurement needs."""

    id: int
    baseline_date: date


class _ContractTerm(NamedTuple):
    """The columns of its contract that logging a measurement needs."""

    id: int
    term_start: date
    term_end: date


@lru_cache(maxsize=256)
def _measurable_query(principal: Principal) -> Select:
    """The query of `measurable_indicator_and_contract`, built once per principal: building
    it and its SQL cache key costs more than running it. The principal is loaded afresh on
    every request and is the whole key, so a changed role or scope gets a new query."""
    indicator = _MEASURED
    allowed = (
        select(Commitment.id)
        .where(
            Commitment.id == indicator.commitment_id,
            scoping.measurement_commitment_condition(principal),
        )
        .exists()
    )
    # Only the columns the service needs, not two ORM entities (28 columns to load).
    return (
        select(
            indicator.id,
            indicator.baseline_date,
            Contract.id,
            Contract.term_start,
            Contract.term_end,
            allowed,
        )
        .join(Contract, Contract.id == indicator.contract_id)
        .where(indicator.id == bindparam("indicator_id"))
    )


def measurable_indicator_and_contract(
    session: Session, principal: Principal, indicator_id: int
) -> tuple[_MeasuredIndicator, _ContractTerm]:
    """`measurable_indicator` and its contract in one query (logging a measurement is the
    hot path): 404 if unknown or in another contract, 403 if out of the measurement scope.
    Plain columns, run on the session's connection: no ORM object is needed (no autoflush
    either, and none is due: nothing is written before this check)."""
    found = (
        session.connection()
        .execute(_measurable_query(principal), {"indicator_id": indicator_id})
        .first()
    )
    if found is None or not scoping.in_contracts(principal, found[2]):
        raise NotFound("Indicateur introuvable.")
    if not found[5]:
        _indicator_for_write(session, principal, indicator_id)  # 404 if not even readable
        raise Forbidden("Vous ne pouvez pas saisir de mesure pour cet indicateur.")
    return _MeasuredIndicator(found[0], found[1]), _ContractTerm(found[2], found[3], found[4])


SORT_COLUMNS = {
    "id": Indicator.id,
    "code": Indicator.code,
    "name": Indicator.name,
    "baseline_date": Indicator.baseline_date,
}


@router.get("/indicators", response_model=Page[IndicatorOut], summary="Indicateurs")
def list_indicators(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    contract_id: ContractQuery = None,
    commitment_id: FilterId = None,
    partner_id: FilterId = None,
    priority_id: FilterId = None,
    quartier_id: FilterId = None,
    performance: Annotated[Literal[PERFORMANCES] | None, Query()] = None,  # type: ignore[valid-type]
    freshness: Annotated[Literal[FRESHNESSES] | None, Query()] = None,  # type: ignore[valid-type]
    as_of: AsOfQuery = None,
    sort: Annotated[str | None, Query(max_length=40, pattern=r"^-?[a-z_]+$")] = None,
    page: PageQuery = 1,
    size: SizeQuery = 50,
):
    contract = resolve_contract(session, principal, contract_id)
    query = select(Indicator).where(
        Indicator.contract_id == contract.id, scoping.indicator_condition(principal)
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
    if performance is None and freshness is None:
        rows, total = paginate(session, query, page, size)
    else:
        day = resolve_as_of(as_of, settings)
        candidates = list(session.execute(query).scalars())
        evaluated = evaluate_indicators(
            session,
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

        matching = [row for row in candidates if keep(row)]
        total = len(matching)
        rows = matching[(page - 1) * size : page * size]
    return Page(items=_indicators_out(session, rows), total=total, page=page, size=size)


@router.get("/indicators/{indicator_id}", response_model=IndicatorOut, summary="Un indicateur")
def get_indicator(session: SessionDep, principal: CurrentPrincipal, indicator_id: PathId):
    return _indicators_out(session, [readable_indicator(session, principal, indicator_id)])[0]


@router.get(
    "/indicators/{indicator_id}/evaluation",
    response_model=EvaluationOut,
    summary="Évaluation d'un indicateur à une date",
)
def get_evaluation(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    indicator_id: PathId,
    as_of: AsOfQuery = None,
):
    indicator = readable_indicator(session, principal, indicator_id)
    day = resolve_as_of(as_of, settings)
    evaluated = evaluate_indicators(
        session,
        contract_id=indicator.contract_id,
        as_of=day,
        indicator_ids=[indicator.id],
        include_inactive=True,
    )
    item = evaluated.get(indicator.id)
    if item is None or item.evaluation is None:
        raise Invalid("indicator_id", "Cet indicateur est incohérent : évaluation impossible.")
    return _evaluation_out(indicator.id, day, item.evaluation)


@router.get("/rollups", response_model=RollupsOut, summary="Synthèses par contrat, priorité…")
def get_rollups(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    contract_id: ContractQuery = None,
    as_of: AsOfQuery = None,
):
    """Counts by performance and freshness and mean progress over the indicators the user
    may read (a partner's roll-ups only cover its own commitments)."""
    contract = resolve_contract(session, principal, contract_id)
    day = resolve_as_of(as_of, settings)
    visible = list(
        session.execute(
            select(Indicator.id).where(
                Indicator.contract_id == contract.id, scoping.indicator_condition(principal)
            )
        ).scalars()
    )
    evaluated = evaluate_indicators(
        session, contract_id=contract.id, as_of=day, indicator_ids=visible
    )
    rollups = contract_rollups(session, contract_id=contract.id, as_of=day, evaluated=evaluated)
    return RollupsOut(
        contract_id=contract.id,
        as_of=day,
        contract=_rollup_out(rollups.contract),
        by_priority={k: _rollup_out(v) for k, v in rollups.by_priority.items()},
        by_quartier={k: _rollup_out(v) for k, v in rollups.by_quartier.items()},
        by_partner={k: _rollup_out(v) for k, v in rollups.by_partner.items()},
    )


@router.post(
    "/indicators", response_model=IndicatorOut, status_code=201, summary="Créer un indicateur"
)
def create_indicator(session: SessionDep, principal: CurrentPrincipal, body: IndicatorIn):
    commitment = writable_commitment(session, principal, body.commitment_id)
    contract = session.get(Contract, commitment.contract_id)
    indicator = service.create_indicator(
        session,
        contract,
        # forecast left out: on, unless the statistic is not comparable (the service decides).
        fields=body.model_dump(
            exclude={"targets"} | ({"forecast"} if body.forecast is None else set())
        ),
        targets=[(t.target_date, t.value) for t in body.targets],
        actor_id=principal.user_id,
    )
    return _indicators_out(session, [indicator])[0]


@router.patch(
    "/indicators/{indicator_id}",
    response_model=IndicatorOut,
    summary="Modifier un indicateur (donner la version lue)",
)
def update_indicator(
    session: SessionDep, principal: CurrentPrincipal, indicator_id: PathId, body: IndicatorPatch
):
    indicator = writable_indicator(session, principal, indicator_id)
    fields = body.model_dump(exclude={"version"}, exclude_unset=True)
    for key, value in fields.items():
        if value is None and key not in NULLABLE_PATCH_FIELDS:
            raise Invalid(key, "Ce champ ne peut pas être vide.")
    contract = session.get(Contract, indicator.contract_id)
    indicator = service.update_indicator(
        session,
        contract,
        indicator,
        version=body.version,
        fields=fields,
        actor_id=principal.user_id,
    )
    return _indicators_out(session, [indicator])[0]


@router.post(
    "/indicators/{indicator_id}/targets",
    response_model=TargetOut,
    status_code=201,
    summary="Ajouter une cible",
)
def add_target(
    session: SessionDep, principal: CurrentPrincipal, indicator_id: PathId, body: TargetIn
):
    indicator = writable_indicator(session, principal, indicator_id)
    contract = session.get(Contract, indicator.contract_id)
    target = service.add_target(
        session,
        contract,
        indicator,
        target_date=body.target_date,
        value=body.value,
        actor_id=principal.user_id,
    )
    return TargetOut.model_validate(target, from_attributes=True)


def _target_of(session: Session, indicator: Indicator, target_id: int) -> Target:
    target = session.get(Target, target_id)
    if target is None or target.indicator_id != indicator.id:
        raise NotFound("Cible introuvable.")
    return target


@router.put(
    "/indicators/{indicator_id}/targets/{target_id}",
    response_model=TargetRevisionOut,
    summary="Réviser une cible (motif obligatoire ; l'historique est gardé)",
)
def revise_target(
    session: SessionDep,
    principal: CurrentPrincipal,
    indicator_id: PathId,
    target_id: PathId,
    body: TargetRevisionIn,
):
    indicator = writable_indicator(session, principal, indicator_id)
    target = _target_of(session, indicator, target_id)
    contract = session.get(Contract, indicator.contract_id)
    revision = service.revise_target(
        session,
        contract,
        indicator,
        target,
        value=body.value,
        kind=body.kind,
        reason=body.reason,
        actor_id=principal.user_id,
    )
    return TargetRevisionOut.model_validate(revision, from_attributes=True)


@router.get(
    "/indicators/{indicator_id}/targets/{target_id}/revisions",
    response_model=list[TargetRevisionOut],
    summary="Historique des révisions d'une cible",
)
def list_target_revisions(
    session: SessionDep, principal: CurrentPrincipal, indicator_id: PathId, target_id: PathId
):
    indicator = readable_indicator(session, principal, indicator_id)
    target = _target_of(session, indicator, target_id)
    rows = session.execute(
        select(TargetRevision)
        .where(TargetRevision.target_id == target.id)
        .order_by(TargetRevision.revised_at, TargetRevision.id)
    ).scalars()
    return [TargetRevisionOut.model_validate(r, from_attributes=True) for r in rows]


@router.get(
    "/indicators/{indicator_id}/measurements",
    response_model=Page[MeasurementOut],
    summary="Mesures d'un indicateur",
)
def list_measurements(
    session: SessionDep,
    principal: CurrentPrincipal,
    indicator_id: PathId,
    include_superseded: bool = False,
    sort: Annotated[str | None, Query(max_length=40, pattern=r"^-?[a-z_]+$")] = None,
    page: PageQuery = 1,
    size: SizeQuery = 50,
):
    indicator = readable_indicator(session, principal, indicator_id)
    query = select(Measurement).where(Measurement.indicator_id == indicator.id)
    if not include_superseded:
        query = query.where(Measurement.superseded_by_id.is_(None))
    columns = {"id": Measurement.id, "measured_on": Measurement.measured_on}
    rows, total = paginate(
        session, query.order_by(*sort_clause(sort, columns, "-measured_on")), page, size
    )
    return Page(
        items=[MeasurementOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        page=page,
        size=size,
    )


@router.post(
    "/indicators/{indicator_id}/measurements",
    response_model=MeasurementOut,
    status_code=201,
    summary="Saisir une mesure",
)
def create_measurement(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    indicator_id: PathId,
    body: MeasurementIn,
):
    indicator, contract = measurable_indicator_and_contract(session, principal, indicator_id)
    measurement = service.create_measurement(
        session,
        contract,
        indicator,
        measured_on=body.measured_on,
        value=body.value,
        comment=body.comment,
        evidence_url=body.evidence_url,
        actor_id=principal.user_id,
        today=clock.today(settings.tz),
        validation_required=settings.validation.required,
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
    response_model=MeasurementOut,
    status_code=201,
    summary="Corriger une mesure (nouvelle mesure qui remplace l'ancienne, avec un motif)",
)
def correct_measurement(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    indicator_id: PathId,
    measurement_id: PathId,
    body: CorrectionIn,
):
    indicator = measurable_indicator(session, principal, indicator_id)
    old = session.get(Measurement, measurement_id)
    if old is None or old.indicator_id != indicator.id:
        raise NotFound("Mesure introuvable.")
    contract = session.get(Contract, indicator.contract_id)
    new = service.correct_measurement(
        session,
        contract,
        indicator,
        old,
        measured_on=body.measured_on,
        value=body.value,
        reason=body.reason,
        comment=body.comment,
        evidence_url=body.evidence_url,
        actor_id=principal.user_id,
        today=clock.today(settings.tz),
        validation_required=settings.validation.required,
    )
    return MeasurementOut.model_validate(new, from_attributes=True)
