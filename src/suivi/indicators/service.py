"""Create and change indicators, targets and measurements. Audited, never committed here.

- An indicator's spec (baseline, targets, direction, tolerance…) is checked with
  `suivi.progress.validate_spec` before anything is written: a target dated before the
  baseline, targets that do not go the indicator's way… are refused (422).
- A target's value changes only through a revision with a reason (`TargetRevision` keeps
  the old and new values, who and why).
- A measurement is never deleted nor edited: a correction is a new measurement, and the
  old one points to it (`superseded_by_id`) with the reason. At most one measurement is
  current per indicator and date (a partial unique index); concurrent corrections of one
  measurement serialise on its row lock and all but the first get 409.
- Every value goes through `suivi.validation` (numbers within ±1e12, texts without control
  characters, http(s) links only) whoever calls, and a measurement cannot be dated after the
  real today (`today`, from `suivi.clock`, never a page's `as_of`).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from suivi.audit.service import json_safe, record, snapshot
from suivi.commitments.models import Commitment
from suivi.commitments.service import check_still_writable
from suivi.contract.models import Contract, ContractQuartier, Partner, PartnerContact
from suivi.db import utcnow
from suivi.errors import STALE_VERSION, Conflict, Invalid
from suivi.indicators.evaluation import spec_of
from suivi.indicators.models import (
    TARGET_REVISION_KINDS,
    Indicator,
    Measurement,
    Target,
    TargetRevision,
)
from suivi.indicators.review import check_cutoff, entry_state
from suivi.progress import validate_spec
from suivi.validation import InputError, clean_number, clean_text, clean_url

MAX_COMMENT = 5_000
MAX_REASON = 500


def _number(value: float, field: str, what: str = "La valeur") -> float:
    try:
        return clean_number(value, what)
    except InputError as exc:
        raise Invalid(field, str(exc)) from None


def _text(value: str, max_length: int, field: str, what: str) -> str:
    try:
        return clean_text(value, max_length, what)
    except InputError as exc:
        raise Invalid(field, str(exc)) from None


def _url(value: str, field: str = "evidence_url") -> str:
    try:
        return clean_url(value)
    except InputError as exc:
        raise Invalid(field, str(exc)) from None


def _check_targets_values(targets: list[tuple[date, float]], field: str) -> None:
    for index, (_, value) in enumerate(targets):
        _number(value, f"{field}.{index}.value", "La valeur de la cible")


def _targets_of(session: Session, indicator_id: int) -> list[tuple[date, float]]:
    return [
        (d, v)
        for d, v in session.execute(
            select(Target.target_date, Target.value).where(Target.indicator_id == indicator_id)
        )
    ]


def _validate(indicator: Indicator, targets: list[tuple[date, float]], field: str) -> None:
    try:
        validate_spec(spec_of(indicator, targets))
    except ValueError as exc:
        raise Invalid(field, f"Indicateur incohérent : {exc}.") from None


# The reference sheet's fields (fiche indicateur): API, import and export share this list.
SHEET_FIELDS = (
    "definition",
    "formula",
    "is_rate",
    "numerator",
    "denominator",
    "producer",
    "publication_lag_days",
    "breakdown",
    "aggregation",
    "aggregation_weight",
    "comparability",
    "forecast",
    "margin",
    "margin_justification",
    "data_owner_contact_id",
)


def prepare_sheet(fields: dict, current: Indicator | None = None) -> dict:
    """The sheet fields to write: a statistic declared non comparable gets no forecast
    (unless the same change asks for one, which `check_sheet` refuses)."""
    comparability = fields.get("comparability", current.comparability if current else None)
    if comparability == "statistique_non_comparable" and "forecast" not in fields:
        return {**fields, "forecast": False}
    return fields


def check_sheet(session: Session, contract_id: int, indicator: Indicator) -> None:
    """Refuse an inconsistent reference sheet (422, in French): the rules hold whatever
    writes it (API, import)."""
    margin = indicator.margin
    if margin is None or not margin >= 0 or margin == float("inf"):
        raise Invalid(
            "margin", "La marge (précision de l'indicateur) doit être un nombre positif ou nul."
        )
    if indicator.aggregation == "weighted_mean" and not indicator.aggregation_weight.strip():
        raise Invalid(
            "aggregation_weight", "Une moyenne pondérée entre quartiers doit dire sa pondération."
        )
    if indicator.aggregation != "weighted_mean" and indicator.aggregation_weight.strip():
        raise Invalid(
            "aggregation_weight",
            "Une pondération ne s'emploie qu'avec la règle « moyenne pondérée » : "
            "une somme ou l'absence d'agrégation n'en a pas.",
        )
    if indicator.is_rate and not indicator.denominator.strip():
        raise Invalid("denominator", "Un taux doit indiquer son dénominateur.")
    if indicator.is_rate and indicator.aggregation == "sum":
        raise Invalid(
            "aggregation",
            "Un taux ne s'additionne pas entre quartiers : choisissez une moyenne pondérée "
            "ou aucune agrégation.",
        )
    if indicator.comparability == "statistique_non_comparable" and indicator.forecast:
        raise Invalid(
            "forecast",
            "Une statistique non comparable d'une année sur l'autre n'a pas de projection : "
            "la projection doit rester désactivée.",
        )
    if indicator.publication_lag_days is not None and indicator.publication_lag_days < 0:
        raise Invalid("publication_lag_days", "Le délai de publication ne peut être négatif.")
    if indicator.data_owner_contact_id is not None:
        owner = session.execute(
            select(PartnerContact.id)
            .join(Partner, Partner.id == PartnerContact.partner_id)
            .where(
                PartnerContact.id == indicator.data_owner_contact_id,
                Partner.contract_id == contract_id,
            )
        ).first()
        if owner is None:
            raise Invalid(
                "data_owner_contact_id",
                "Le responsable de la donnée doit être un contact d'un partenaire du contrat.",
            )


def _check_code(session: Session, contract_id: int, code: str, exclude_id: int | None) -> None:
    query = select(Indicator.id).where(Indicator.contract_id == contract_id, Indicator.code == code)
    if exclude_id is not None:
        query = query.where(Indicator.id != exclude_id)
    if session.execute(query).first() is not None:
        raise Conflict(f"Le code d'indicateur « {code} » existe déjà dans ce contrat.", "code")


def _check_quartier(session: Session, contract: Contract, quartier_id: int | None) -> None:
    if quartier_id is None:
        return
    if session.get(ContractQuartier, (contract.id, quartier_id)) is None:
        raise Invalid("quartier_id", "Quartier inconnu dans ce contrat.")


def _check_target_dates(contract: Contract, targets: list[tuple[date, float]]) -> None:
    for index, (day, _) in enumerate(targets):
        if day > contract.term_end:
            raise Invalid(
                f"targets.{index}.target_date",
                f"La cible du {day.isoformat()} dépasse la fin du contrat "
                f"({contract.term_end.isoformat()}).",
            )


def create_indicator(
    session: Session,
    contract: Contract,
    *,
    fields: dict,
    targets: list[tuple[date, float]],
    actor_id: int | None,
    actor_label: str = "",
) -> Indicator:
    """`fields` include commitment_id (already checked by the caller for scope)."""
    _number(fields["baseline_value"], "baseline_value", "La valeur de référence")
    _check_targets_values(targets, "targets")
    _check_quartier(session, contract, fields.get("quartier_id"))
    if fields["baseline_date"] > contract.term_end:
        raise Invalid("baseline_date", "La date de référence dépasse la fin du contrat.")
    dates = [d for d, _ in targets]
    if len(set(dates)) != len(dates):
        raise Invalid("targets", "Deux cibles ont la même date.")
    _check_target_dates(contract, targets)
    indicator = Indicator(contract_id=contract.id, **prepare_sheet(fields))
    check_sheet(session, contract.id, indicator)
    _validate(indicator, sorted(targets), "targets")
    _check_code(session, contract.id, fields["code"], None)
    session.add(indicator)
    session.flush()
    for day, value in sorted(targets):
        session.add(Target(indicator_id=indicator.id, target_date=day, value=value))
    session.flush()
    after = snapshot(indicator)
    after["targets"] = [{"target_date": d.isoformat(), "value": v} for d, v in sorted(targets)]
    record(
        session,
        action="create",
        entity="indicator",
        entity_id=indicator.id,
        after=after,
        actor_id=actor_id,
        actor_label=actor_label,
        contract_id=contract.id,
    )
    return indicator


def update_indicator(
    session: Session,
    contract: Contract,
    indicator: Indicator,
    *,
    version: int,
    fields: dict,
    actor_id: int | None,
    actor_label: str = "",
) -> Indicator:
    if version != indicator.version:
        raise Conflict(STALE_VERSION, "version")
    if "baseline_value" in fields:
        _number(fields["baseline_value"], "baseline_value", "La valeur de référence")
    if "quartier_id" in fields:
        _check_quartier(session, contract, fields["quartier_id"])
    if "baseline_date" in fields and fields["baseline_date"] > contract.term_end:
        raise Invalid("baseline_date", "La date de référence dépasse la fin du contrat.")
    if "code" in fields:
        _check_code(session, contract.id, fields["code"], indicator.id)
    before = snapshot(indicator)
    fields = prepare_sheet(fields, indicator)
    candidate = Indicator(**{**indicator.model_dump(), **fields})
    check_sheet(session, contract.id, candidate)
    _validate(candidate, sorted(_targets_of(session, indicator.id)), next(iter(fields), "body"))
    for key, value in fields.items():
        setattr(indicator, key, value)
    indicator.version = version + 1
    indicator.updated_at = utcnow()
    session.add(indicator)
    session.flush()
    if "quartier_id" in fields:
        # Its quartier may be what put the commitment in the actor's scope.
        check_still_writable(session, session.get(Commitment, indicator.commitment_id), actor_id)
    record(
        session,
        action="update",
        entity="indicator",
        entity_id=indicator.id,
        before=before,
        after=snapshot(indicator),
        actor_id=actor_id,
        actor_label=actor_label,
        contract_id=contract.id,
    )
    return indicator


def add_target(
    session: Session,
    contract: Contract,
    indicator: Indicator,
    *,
    target_date: date,
    value: float,
    actor_id: int | None,
) -> Target:
    value = _number(value, "value", "La valeur de la cible")
    targets = _targets_of(session, indicator.id)
    if any(d == target_date for d, _ in targets):
        raise Conflict("Une cible existe déjà à cette date : révisez-la.", "target_date")
    _check_target_dates(contract, [(target_date, value)])
    _validate(indicator, sorted([*targets, (target_date, value)]), "target_date")
    target = Target(indicator_id=indicator.id, target_date=target_date, value=value)
    session.add(target)
    session.flush()
    record(
        session,
        action="create",
        entity="target",
        entity_id=target.id,
        after=snapshot(target),
        actor_id=actor_id,
        contract_id=contract.id,
    )
    return target


def revise_target(
    session: Session,
    contract: Contract,
    indicator: Indicator,
    target: Target,
    *,
    value: float,
    kind: str,
    reason: str,
    actor_id: int | None,
) -> TargetRevision:
    """Change a target's value; the revision (old, new, who, why) is kept."""
    if kind not in TARGET_REVISION_KINDS:
        raise Invalid("kind", "Type de révision inconnu.")
    value = _number(value, "value", "La valeur de la cible")
    reason = _text(reason, 2_000, "reason", "Le motif")
    if not reason.strip():
        raise Invalid("reason", "Une révision de cible doit être motivée.")
    targets = [
        (d, value if d == target.target_date else v) for d, v in _targets_of(session, indicator.id)
    ]
    _validate(indicator, sorted(targets), "value")
    before = snapshot(target)
    revision = TargetRevision(
        target_id=target.id,
        old_value=target.value,
        new_value=value,
        kind=kind,
        reason=reason.strip(),
        revised_by_id=actor_id,
    )
    target.value = value
    session.add(target)
    session.add(revision)
    session.flush()
    after = snapshot(target)
    after["revision"] = snapshot(revision)
    record(
        session,
        action="update",
        entity="target",
        entity_id=target.id,
        before=before,
        after=after,
        actor_id=actor_id,
        contract_id=contract.id,
    )
    return revision


class _Term(Protocol):
    """What a measurement is checked against in its contract (a `Contract`, or only these
    columns)."""

    id: int
    term_start: date
    term_end: date


class _Baseline(Protocol):
    """Likewise for its indicator."""

    id: int
    baseline_date: date


def check_not_future(day: date, today: date) -> None:
    """A measurement is a figure already observed: never dated after the real today (every
    writer passes `clock.today(...)`, never a display `as_of`)."""
    if day > today:
        raise Invalid(
            "measured_on",
            f"La date {day.isoformat()} est postérieure à aujourd'hui ({today.isoformat()}) : "
            "on ne saisit que des mesures déjà constatées.",
        )


def _check_measured_on(contract: _Term, indicator: _Baseline, day: date, today: date) -> None:
    check_not_future(day, today)
    if not contract.term_start <= day <= contract.term_end:
        raise Invalid(
            "measured_on",
            f"La date {day.isoformat()} est hors de la durée du contrat "
            f"({contract.term_start.isoformat()} – {contract.term_end.isoformat()}).",
        )
    if day < indicator.baseline_date:
        raise Invalid("measured_on", "La mesure précède la date de référence de l'indicateur.")


# Logging a measurement is the API's hot write: a plain INSERT, built once, costs about half
# of building a `Measurement` object and flushing it through the unit of work.
_INSERT_MEASUREMENT = insert(Measurement.__table__)
_ALREADY_MEASURED = (
    "Une valeur est déjà enregistrée au {day} pour cet indicateur : corrigez-la "
    "(POST …/measurements/{{id}}/correction) plutôt que d'en saisir une seconde."
)


def create_measurement(
    session: Session,
    contract: _Term,
    indicator: _Baseline,
    *,
    measured_on: date,
    value: float,
    comment: str = "",
    evidence_url: str = "",
    actor_id: int | None,
    today: date,
    validation_required: bool = True,
) -> dict[str, Any]:
    """Insert a measurement; return its columns (all of them, as `Measurement` has them).
    Deliberately not a `Measurement` object: one that already has an id but is not in the
    session would be inserted again if it were ever added to it. It is submitted for
    validation (validated at once when `validation_required` is false: `[validation]`)."""
    value = _number(value, "value")
    comment = _text(comment, MAX_COMMENT, "comment", "Le commentaire")
    evidence_url = _url(evidence_url)
    _check_measured_on(contract, indicator, measured_on, today)
    check_cutoff(session, contract.id, measured_on)
    row: dict[str, Any] = dict(
        indicator_id=indicator.id,
        measured_on=measured_on,
        value=value,
        comment=comment,
        evidence_url=evidence_url,
        author_id=actor_id,
        entered_at=utcnow(),
        superseded_by_id=None,
        correction_reason="",
        return_reason="",
        **entry_state(required=validation_required, actor_id=actor_id),
    )
    session.flush()  # pending changes first, as the unit of work would order them
    current = session.execute(
        select(Measurement.id).where(
            Measurement.indicator_id == indicator.id,
            Measurement.measured_on == measured_on,
            Measurement.superseded_by_id.is_(None),
        )
    ).first()
    if current is not None:
        raise Conflict(_ALREADY_MEASURED.format(day=measured_on.isoformat()), "measured_on")
    try:
        inserted = session.connection().execute(_INSERT_MEASUREMENT, row)
    except IntegrityError as exc:
        # A concurrent writer recorded this date first (the unique index of current values);
        # the request's transaction is rolled back by its boundary.
        if "ix_measurement_current" in str(exc.orig) or "measured_on" in str(exc.orig):
            raise Conflict(
                _ALREADY_MEASURED.format(day=measured_on.isoformat()), "measured_on"
            ) from None
        raise
    row = {"id": inserted.inserted_primary_key[0], **row}
    record(
        session,
        action="create",
        entity="measurement",
        entity_id=row["id"],
        after=json_safe(row),
        actor_id=actor_id,
        contract_id=contract.id,
    )
    return row


def correct_measurement(
    session: Session,
    contract: Contract,
    indicator: Indicator,
    old: Measurement,
    *,
    measured_on: date | None,
    value: float,
    reason: str,
    comment: str | None = None,
    evidence_url: str | None = None,
    actor_id: int | None,
    today: date,
    validation_required: bool = True,
) -> Measurement:
    """A new measurement supersedes `old` (kept, with the reason), submitted for validation
    like any entry. Only a current measurement can be corrected (409 otherwise)."""
    value = _number(value, "value")
    reason = _text(reason, MAX_REASON, "reason", "Le motif").strip()
    if comment is not None:
        comment = _text(comment, MAX_COMMENT, "comment", "Le commentaire")
    if evidence_url is not None:
        evidence_url = _url(evidence_url)
    # Lock the row (PostgreSQL; SQLite writers are serialised by BEGIN IMMEDIATE) and read it
    # again: a concurrent correction committed meanwhile makes this one a 409.
    session.refresh(old, with_for_update=True)
    if old.superseded_by_id is not None:
        raise Conflict("Cette mesure a déjà été corrigée : corrigez la plus récente.", "id")
    if not reason:
        raise Invalid("reason", "Une correction doit être motivée.")
    day = measured_on or old.measured_on
    _check_measured_on(contract, indicator, day, today)
    for frozen in sorted({old.measured_on, day}):
        check_cutoff(session, contract.id, frozen, "corrigée")
    before = snapshot(old)
    # At most one current measurement per date (a unique index): the new one is written as
    # superseded by the old one, then the two swap, so no statement sees two current rows.
    new = Measurement(
        indicator_id=indicator.id,
        measured_on=day,
        value=value,
        comment=old.comment if comment is None else comment,
        evidence_url=old.evidence_url if evidence_url is None else evidence_url,
        author_id=actor_id,
        superseded_by_id=old.id,
        **entry_state(required=validation_required, actor_id=actor_id),
    )
    session.add(new)
    session.flush()
    old.superseded_by_id = new.id
    old.correction_reason = reason
    session.add(old)
    session.flush()
    new.superseded_by_id = None
    session.add(new)
    session.flush()
    record(
        session,
        action="update",
        entity="measurement",
        entity_id=old.id,
        before=before,
        after=snapshot(old),
        actor_id=actor_id,
        contract_id=contract.id,
    )
    record(
        session,
        action="create",
        entity="measurement",
        entity_id=new.id,
        after=snapshot(new),
        actor_id=actor_id,
        contract_id=contract.id,
    )
    return new
