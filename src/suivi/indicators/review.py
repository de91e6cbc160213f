"""Figures the committee can rely on: a measurement's review, and each committee's data cut-off.

Review
------
A figure is entered ``submitted`` (« soumise »); a validator of the partner that owns it
validates it (``validated``, « validée ») or returns it with a reason (``returned``,
« renvoyée »). The author corrects a returned (or any) figure: the correction supersedes it,
as always, and is submitted again. With ``[validation] required = false`` every figure is
validated on entry. Only validated figures count (`suivi.indicators.evaluation.counted`).

Who validates (`_validatable`, the one rule, for a list and for one figure):
- a user whose partner scope row says ``can_validate`` for the partner owning the figure
  (the indicator's data owner's partner, else its commitment's lead partner);
- a project manager whose scope covers the indicator, for the figures of the CALL (``epci``)
  and the communes (``commune``);
- never the figure's author, never the committee (``copil``); and only figures they may read.

Data cut-off
------------
A meeting may fix ``data_cutoff`` and lock it: figures dated on or before it can no longer be
entered, corrected, validated, returned or imported (`check_cutoff`, called by every writer).
Only an admin locks and reopens (with a reason); both are audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlmodel import Session

from suivi import scoping
from suivi.audit.models import AuditEvent
from suivi.audit.service import record
from suivi.audit.service import snapshot
from suivi.auth.models import UserScope
from suivi.auth.principal import Principal
from suivi.commitments.models import Commitment
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.db import utcnow
from suivi.errors import Conflict
from suivi.errors import Forbidden
from suivi.errors import Invalid
from suivi.errors import NotFound
from suivi.formatting import format_date
from suivi.indicators.models import VALIDATED
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.validation import InputError
from suivi.validation import clean_text

SUBMITTED = "submitted"
RETURNED = "returned"
# The CALL and the communes: their figures are validated by the quartier's project manager.
LOCAL_PARTNER_KINDS = ("commune", "epci")
MAX_RETURN_REASON = 500


# -- entry -------------------------------------------------------------------------------------


def entry_state(*, required: bool, actor_id: int | None) -> dict:
    """The review columns of a figure just entered (by `actor_id`)."""
    if required:
        return {"status": SUBMITTED, "validated_by_id": None, "validated_at": None}
    return {"status": VALIDATED, "validated_by_id": actor_id, "validated_at": utcnow()}


# -- who validates -----------------------------------------------------------------------------


def owner_partner_id():
    """SQL expression (on `Indicator` joined to `Commitment`): the partner owning its figures."""
    data_owner = (
        select(PartnerContact.partner_id)
        .where(PartnerContact.id == Indicator.data_owner_contact_id)
        .correlate(Indicator)
        .scalar_subquery()
    )
    return func.coalesce(data_owner, Commitment.lead_partner_id)


def _validatable(principal: Principal, *, own: bool = False) -> ColumnElement[bool]:
    """WHERE condition on `Measurement` joined to `Indicator` and `Commitment`: the figures
    this principal may validate or return (whatever their state). `own`: their own entries
    too (an import they explicitly validate)."""
    if principal.role not in scoping.MEASUREMENT_ROLES:
        return false()
    owner = owner_partner_id()
    validator_of = select(UserScope.partner_id).where(
        UserScope.user_id == principal.user_id, UserScope.can_validate
    )
    allowed = owner.in_(validator_of)
    if principal.role == "chef_de_projet":
        local = select(Partner.id).where(Partner.kind.in_(LOCAL_PARTNER_KINDS))
        allowed = or_(allowed, and_(owner.in_(local), _commitment_in(principal, write=True)))
    author = Measurement.author_id
    not_own = true() if own else or_(author.is_(None), author != principal.user_id)
    return and_(_commitment_in(principal), allowed, not_own)


def _commitment_in(principal: Principal, *, write: bool = False) -> ColumnElement[bool]:
    # Through a subquery of ids, as `scoping.indicator_condition` does: the scoping
    # conditions' own `Indicator` subqueries must not correlate with this query's indicator.
    commitments = select(Commitment.id).where(scoping.commitment_condition(principal, write=write))
    return Indicator.commitment_id.in_(commitments)


def _reviewed(principal: Principal) -> Select:
    return (
        select(Measurement)
        .join(Indicator, Indicator.id == Measurement.indicator_id)
        .join(Commitment, Commitment.id == Indicator.commitment_id)
        .where(scoping.contract_condition(Indicator.contract_id, principal))
    )


def to_validate(principal: Principal, status: str = SUBMITTED) -> Select:
    """`SELECT measurement` of the current figures in `status` this principal may validate."""
    return _reviewed(principal).where(
        Measurement.superseded_by_id.is_(None),
        Measurement.status == status,
        _validatable(principal),
    )


def review_counts(session: Session, principal: Principal, contract_id: int) -> dict[str, int]:
    """For a home page: figures waiting for this user's validation, and their own figures
    returned for correction, in this contract."""
    in_contract = Indicator.contract_id == contract_id
    waiting = to_validate(principal).where(in_contract).with_only_columns(func.count())
    returned = (
        _reviewed(principal)
        .where(
            in_contract,
            Measurement.author_id == principal.user_id,
            Measurement.superseded_by_id.is_(None),
            Measurement.status == RETURNED,
        )
        .with_only_columns(func.count())
    )
    return {
        "to_validate": session.execute(waiting).scalar_one(),
        "returned": session.execute(returned).scalar_one(),
    }


def may_validate(
    session: Session, principal: Principal, measurement: Measurement, *, own: bool = False
) -> bool:
    query = _reviewed(principal).where(
        Measurement.id == measurement.id, _validatable(principal, own=own)
    )
    return session.execute(query.with_only_columns(Measurement.id)).first() is not None


def validators_label(session: Session, indicator: Indicator) -> str:
    """Who can validate this indicator's figures, for people (« en attente de validation par
    … »): the owning partner's validators, or the project managers for local figures."""
    owner = session.execute(
        select(Partner)
        .join(Commitment, Commitment.id == Indicator.commitment_id)
        .where(Indicator.id == indicator.id, Partner.id == owner_partner_id())
        .select_from(Indicator)
    ).scalar_one_or_none()
    if owner is None:
        return "un valideur du partenaire"
    if owner.kind in LOCAL_PARTNER_KINDS:
        return f"le chef de projet du quartier ou un valideur de {owner.name}"
    return f"un valideur de {owner.name}"


def pending_counts(session: Session, indicator_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per indicator: how many current figures are submitted and returned (cards' badges)."""
    ids = list(indicator_ids)
    counts: dict[int, dict[str, int]] = {}
    if not ids:
        return counts
    rows = session.execute(
        select(Measurement.indicator_id, Measurement.status, func.count())
        .where(
            Measurement.indicator_id.in_(ids),
            Measurement.superseded_by_id.is_(None),
            Measurement.status != VALIDATED,
        )
        .group_by(Measurement.indicator_id, Measurement.status)
    )
    for indicator_id, status, count in rows:
        counts.setdefault(indicator_id, {})[status] = count
    return counts


# -- validate, return --------------------------------------------------------------------------


def _check_reviewable(session: Session, principal: Principal, measurement: Measurement) -> None:
    if principal.role == "copil":
        raise Forbidden("Le comité de pilotage consulte les chiffres : il ne les valide pas.")
    # Lock the row (PostgreSQL; SQLite serialises writers) and read it again.
    session.refresh(measurement, with_for_update=True)
    if measurement.author_id is not None and measurement.author_id == principal.user_id:
        raise Forbidden("Personne ne valide sa propre saisie : un autre valideur doit le faire.")
    if not may_validate(session, principal, measurement):
        indicator = session.get(Indicator, measurement.indicator_id)
        raise Forbidden(
            "Vous ne pouvez pas valider cette mesure : elle relève de "
            f"{validators_label(session, indicator)}."
        )
    if measurement.superseded_by_id is not None:
        raise Conflict("Cette mesure a été corrigée : examinez la plus récente.", "id")
    if measurement.status == VALIDATED:
        raise Conflict("Cette mesure est déjà validée.", "status")
    if measurement.status == RETURNED:
        raise Conflict("Cette mesure a été renvoyée : elle attend la correction de son auteur.")
    indicator = session.get(Indicator, measurement.indicator_id)
    check_cutoff(session, indicator.contract_id, measurement.measured_on, "validée ni renvoyée")


def _change(session: Session, principal: Principal, measurement: Measurement, note=None, **values):
    """Set the review columns and write the audit row (`note`: added to its `after`)."""
    before = snapshot(measurement)
    for key, value in values.items():
        setattr(measurement, key, value)
    session.add(measurement)
    session.flush()
    record(
        session,
        action="update",
        entity="measurement",
        entity_id=measurement.id,
        before=before,
        after={**snapshot(measurement), **(note or {})},
        actor_id=principal.user_id,
        contract_id=session.get(Indicator, measurement.indicator_id).contract_id,
    )
    return measurement


def _validated_by(principal: Principal) -> dict:
    return {
        "status": VALIDATED,
        "validated_by_id": principal.user_id,
        "validated_at": utcnow(),
        "return_reason": "",
    }


def _clean_reason(reason: str, missing: str) -> str:
    """The motive of a return or a reopening: required (`missing` says so), at most
    `MAX_RETURN_REASON` characters."""
    try:
        reason = clean_text(reason, MAX_RETURN_REASON, "Le motif").strip()
    except InputError as exc:
        raise Invalid("reason", str(exc)) from None
    if not reason:
        raise Invalid("reason", missing)
    return reason


def validate_measurement(
    session: Session, principal: Principal, measurement: Measurement
) -> Measurement:
    _check_reviewable(session, principal, measurement)
    return _change(session, principal, measurement, **_validated_by(principal))


def return_measurement(
    session: Session, principal: Principal, measurement: Measurement, *, reason: str
) -> Measurement:
    reason = _clean_reason(reason, "Le renvoi d'une mesure doit dire pourquoi.")
    _check_reviewable(session, principal, measurement)
    return _change(session, principal, measurement, status=RETURNED, return_reason=reason)


def validate_imported(
    session: Session, principal: Principal | None, measurements: Iterable[Measurement]
) -> list[Measurement]:
    """An import « validé à l'import » (explicitly, by a validator of the owning partner):
    the figures this principal may validate are validated, each audited as validated on
    import (their own entries: the import is their explicit validation). Returns those it
    may not validate: the import refuses them (and so the whole file)."""
    refused = []
    for measurement in measurements:
        if principal is None or not may_validate(session, principal, measurement, own=True):
            refused.append(measurement)
            continue
        note = {"validated_on_import": True}
        _change(session, principal, measurement, note, **_validated_by(principal))
    return refused


# -- data cut-off ------------------------------------------------------------------------------


def locking_meeting(session: Session, contract_id: int, day: date) -> Meeting | None:
    """The locked meeting whose cut-off freezes figures dated `day`, if any (the latest)."""
    return session.execute(
        select(Meeting)
        .where(
            Meeting.contract_id == contract_id,
            Meeting.locked,
            Meeting.data_cutoff >= day,
        )
        .order_by(Meeting.data_cutoff.desc(), Meeting.id)
        .limit(1)
    ).scalar_one_or_none()


def latest_lock(session: Session, contract_id: int) -> Meeting | None:
    """The locked meeting with the latest cut-off (an import checks every row against it)."""
    return session.execute(
        select(Meeting)
        .where(Meeting.contract_id == contract_id, Meeting.locked)
        .order_by(Meeting.data_cutoff.desc(), Meeting.id)
        .limit(1)
    ).scalar_one_or_none()


def unvalidated_count(session: Session, contract_id: int, up_to: date) -> int:
    """Current figures of the contract dated on or before `up_to` and not validated."""
    return session.execute(
        select(func.count())
        .select_from(Measurement)
        .join(Indicator, Indicator.id == Measurement.indicator_id)
        .where(
            Indicator.contract_id == contract_id,
            Measurement.superseded_by_id.is_(None),
            Measurement.status != VALIDATED,
            Measurement.measured_on <= up_to,
        )
    ).scalar_one()


def reopenings(session: Session, meeting_id: int) -> list[tuple[datetime, str]]:
    """When and why an admin reopened this meeting's data (from the audit trail)."""
    rows = session.execute(
        select(AuditEvent.at, AuditEvent.after)
        .where(
            AuditEvent.entity == "meeting",
            AuditEvent.entity_id == str(meeting_id),
            AuditEvent.action == "update",
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    return [
        (at, after["unlock_reason"]) for at, after in rows if after and "unlock_reason" in after
    ]


def cutoff_refusal(meeting: Meeting, day: date, what: str) -> str:
    return (
        f"Les données de l'instance « {meeting.title} » du {format_date(meeting.held_on)} sont "
        f"arrêtées au {format_date(meeting.data_cutoff)} : une mesure datée du "
        f"{format_date(day)} ne peut plus être {what}. Seul un administrateur peut les rouvrir."
    )


def check_cutoff(session: Session, contract_id: int, day: date, what: str = "saisie") -> None:
    """Refuse (409, in French, naming the meeting and its cut-off) a change to a figure dated
    on or before a locked cut-off. Every writer calls it: entry, correction, review, import."""
    meeting = locking_meeting(session, contract_id, day)
    if meeting is not None:
        raise Conflict(cutoff_refusal(meeting, day, what), "measured_on")


def lock_meeting(
    session: Session, principal: Principal | None, meeting: Meeting, *, data_cutoff: date
) -> Meeting:
    """Fix the meeting's cut-off and lock it. `principal` None: the command line (the
    server's operator), audited as such."""
    _check_admin(principal, meeting)
    if data_cutoff > meeting.held_on:
        raise Invalid(
            "data_cutoff",
            f"La date d'arrêt des données ({format_date(data_cutoff)}) doit précéder l'instance "
            f"({format_date(meeting.held_on)}).",
        )
    before = snapshot(meeting)
    meeting.data_cutoff = data_cutoff
    meeting.locked = True
    session.add(meeting)
    session.flush()
    _audit_meeting(session, principal, meeting, before)
    return meeting


def unlock_meeting(
    session: Session, principal: Principal | None, meeting: Meeting, *, reason: str
) -> Meeting:
    _check_admin(principal, meeting)
    reason = _clean_reason(reason, "La réouverture des données doit être motivée.")
    if not meeting.locked:
        raise Conflict("Les données de cette instance ne sont pas verrouillées.")
    before = snapshot(meeting)
    meeting.locked = False
    session.add(meeting)
    session.flush()
    _audit_meeting(session, principal, meeting, before, unlock_reason=reason)
    return meeting


def _audit_meeting(
    session: Session, principal: Principal | None, meeting: Meeting, before: dict, **noted
) -> None:
    """The audit row of a lock or an unlock (`noted`: what the row adds to the meeting's
    snapshot, such as the reason of an unlock); `principal` None: the command line."""
    record(
        session,
        action="update",
        entity="meeting",
        entity_id=meeting.id,
        before=before,
        after={**snapshot(meeting), **noted},
        actor_id=principal.user_id if principal else None,
        actor_label="" if principal else "cli",
        contract_id=meeting.contract_id,
    )


def _check_admin(principal: Principal | None, meeting: Meeting) -> None:
    if principal is None:
        return  # the command line: the server's operator
    if not scoping.in_contracts(principal, meeting.contract_id):
        raise NotFound("Instance introuvable.")
    if not scoping.can_write_reference(principal, meeting.contract_id):
        raise Forbidden("Seul un administrateur verrouille ou rouvre les données d'une instance.")
