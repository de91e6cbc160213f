"""Review API: validate or return a figure, list the figures to validate, lock a meeting's data.

`POST /api/measurements/{id}/validate`, `POST /api/measurements/{id}/return` {"reason"},
`GET /api/measurements?status=submitted` (what the principal may validate),
`POST /api/meetings/{id}/lock` {"data_cutoff"}, `POST /api/meetings/{id}/unlock` {"reason"}.
The rules are in `suivi.indicators.review`."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from suivi.api.common import Caller
from suivi.api.common import CallerDep
from suivi.api.common import Day
from suivi.api.common import Page
from suivi.api.common import PagingDep
from suivi.api.common import PathId
from suivi.api.common import StrictModel
from suivi.api.common import Text
from suivi.api.common import api_router
from suivi.api.common import models
from suivi.api.indicators import MeasurementOut
from suivi.api.reference import MeetingOut
from suivi.auth.principal import Principal
from suivi.codes import MeasurementStatus
from suivi.contract.models import Meeting
from suivi.errors import NotFound
from suivi.indicators import access
from suivi.indicators import review
from suivi.indicators.models import Measurement

router = api_router("validation")
Status = MeasurementStatus


class ReturnIn(StrictModel):
    reason: Text(review.MAX_RETURN_REASON, 1)


class LockIn(StrictModel):
    data_cutoff: Day


class UnlockIn(StrictModel):
    reason: Text(review.MAX_RETURN_REASON, 1)


def _measurement(session: Session, principal: Principal, measurement_id: int) -> Measurement:
    """404 unless the principal may read the figure's indicator."""
    measurement = session.get(Measurement, measurement_id)
    if measurement is None:
        raise NotFound("Mesure introuvable.")
    try:
        access.get_readable(session, principal, measurement.indicator_id)
    except NotFound:
        raise NotFound("Mesure introuvable.") from None
    return measurement


def _meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id, with_for_update=True)
    if meeting is None:
        raise NotFound("Instance introuvable.")
    return meeting


def _review_measurement(
    call: Caller, measurement_id: int, step: Callable[..., object], body: StrictModel | None = None
) -> MeasurementOut:
    """The figure after `step(session, principal, measurement, **fields of body)` (a function
    of `review`)."""
    measurement = _measurement(call.session, call.principal, measurement_id)
    step(call.session, call.principal, measurement, **(body.model_dump() if body else {}))
    return MeasurementOut.model_validate(measurement, from_attributes=True)


def _review_meeting(
    call: Caller, meeting_id: int, step: Callable[..., object], body: StrictModel
) -> MeetingOut:
    """The meeting after `step(session, principal, meeting, **fields of body)` (a function of
    `review`)."""
    meeting = _meeting(call.session, meeting_id)
    step(call.session, call.principal, meeting, **body.model_dump())
    return MeetingOut.model_validate(meeting, from_attributes=True)


@router.get(
    "/measurements", summary="Mesures à valider (celles que je peux valider, dans cet état)"
)
def list_to_validate(
    call: CallerDep,
    paging: PagingDep,
    status: Status = MeasurementStatus.SUBMITTED,
) -> Page[MeasurementOut]:
    query = review.to_validate(call.principal, status).order_by(
        Measurement.entered_at, Measurement.id
    )
    return paging.of(call.session, query, models(MeasurementOut))


@router.post("/measurements/{measurement_id}/validate", summary="Valider une mesure")
def validate_measurement(call: CallerDep, measurement_id: PathId) -> MeasurementOut:
    return _review_measurement(call, measurement_id, review.validate_measurement)


@router.post(
    "/measurements/{measurement_id}/return",
    summary="Renvoyer une mesure à son auteur, avec un motif",
)
def return_measurement(call: CallerDep, measurement_id: PathId, body: ReturnIn) -> MeasurementOut:
    return _review_measurement(call, measurement_id, review.return_measurement, body)


@router.post(
    "/meetings/{meeting_id}/lock", summary="Arrêter et verrouiller les données d'une instance"
)
def lock_meeting(call: CallerDep, meeting_id: PathId, body: LockIn) -> MeetingOut:
    return _review_meeting(call, meeting_id, review.lock_meeting, body)


@router.post(
    "/meetings/{meeting_id}/unlock",
    summary="Rouvrir les données d'une instance (administrateur, avec un motif)",
)
def unlock_meeting(call: CallerDep, meeting_id: PathId, body: UnlockIn) -> MeetingOut:
    return _review_meeting(call, meeting_id, review.unlock_meeting, body)
