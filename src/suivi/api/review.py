"""Review API: validate or return a figure, list the figures to validate, lock a meeting's data.

`POST /api/measurements/{id}/validate`, `POST /api/measurements/{id}/return` {"reason"},
`GET /api/measurements?status=submitted` (what the principal may validate),
`POST /api/meetings/{id}/lock` {"data_cutoff"}, `POST /api/meetings/{id}/unlock` {"reason"}.
The rules are in `suivi.indicators.review`."""

from __future__ import annotations

from sqlmodel import Session

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
from suivi.auth.deps import CurrentPrincipal
from suivi.auth.principal import Principal
from suivi.contract.models import Meeting
from suivi.deps import SessionDep
from suivi.errors import NotFound
from suivi.indicators import access
from suivi.indicators import review
from suivi.indicators.models import Measurement
from suivi.indicators.models import MeasurementStatus

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


@router.get(
    "/measurements", summary="Mesures à valider (celles que je peux valider, dans cet état)"
)
def list_to_validate(
    session: SessionDep,
    principal: CurrentPrincipal,
    paging: PagingDep,
    status: Status = MeasurementStatus.SUBMITTED,
) -> Page[MeasurementOut]:
    query = review.to_validate(principal, status).order_by(Measurement.entered_at, Measurement.id)
    return paging.of(session, query, models(MeasurementOut))


@router.post("/measurements/{measurement_id}/validate", summary="Valider une mesure")
def validate_measurement(
    session: SessionDep, principal: CurrentPrincipal, measurement_id: PathId
) -> MeasurementOut:
    measurement = _measurement(session, principal, measurement_id)
    review.validate_measurement(session, principal, measurement)
    return MeasurementOut.model_validate(measurement, from_attributes=True)


@router.post(
    "/measurements/{measurement_id}/return",
    summary="Renvoyer une mesure à son auteur, avec un motif",
)
def return_measurement(
    session: SessionDep, principal: CurrentPrincipal, measurement_id: PathId, body: ReturnIn
) -> MeasurementOut:
    measurement = _measurement(session, principal, measurement_id)
    review.return_measurement(session, principal, measurement, reason=body.reason)
    return MeasurementOut.model_validate(measurement, from_attributes=True)


@router.post(
    "/meetings/{meeting_id}/lock", summary="Arrêter et verrouiller les données d'une instance"
)
def lock_meeting(
    session: SessionDep, principal: CurrentPrincipal, meeting_id: PathId, body: LockIn
) -> MeetingOut:
    meeting = _meeting(session, meeting_id)
    review.lock_meeting(session, principal, meeting, data_cutoff=body.data_cutoff)
    return MeetingOut.model_validate(meeting, from_attributes=True)


@router.post(
    "/meetings/{meeting_id}/unlock",
    summary="Rouvrir les données d'une instance (administrateur, avec un motif)",
)
def unlock_meeting(
    session: SessionDep, principal: CurrentPrincipal, meeting_id: PathId, body: UnlockIn
) -> MeetingOut:
    meeting = _meeting(session, meeting_id)
    review.unlock_meeting(session, principal, meeting, reason=body.reason)
    return MeetingOut.model_validate(meeting, from_attributes=True)
