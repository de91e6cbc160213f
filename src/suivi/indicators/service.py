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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from typing import Protocol
from typing import Required
from typing import TypedDict
from typing import Unpack

from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from suivi.audit.service import Actor
from suivi.audit.service import Change
from suivi.audit.service import record_change
from suivi.audit.service import record_many
from suivi.audit.service import snapshot
from suivi.codes import TARGET_REVISION_KINDS
from suivi.commitments.models import Commitment
from suivi.commitments.service import check_still_writable
from suivi.commitments.service import check_version
from suivi.commitments.service import write_version
from suivi.contract.models import Contract
from suivi.contract.models import ContractQuartier
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.db import utcnow
from suivi.errors import Conflict
from suivi.errors import Invalid
from suivi.governance.models import Decision
from suivi.indicators.evaluation import spec_of
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.indicators.models import TargetRevision
from suivi.indicators.review import check_cutoff
from suivi.indicators.review import entry_state
from suivi.progress import validate_spec
from suivi.validation import InputError
from suivi.validation import clean_number
from suivi.validation import clean_text
from suivi.validation import clean_url

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
    who = Actor(actor_id=actor_id, actor_label=actor_label, contract_id=contract.id)
    record_change(session, "create", "indicator", indicator, after=after, **who)
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
    check_version(indicator, version)
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
    write_version(session, indicator, fields, version)
    if "quartier_id" in fields:
        # Its quartier may be what put the commitment in the actor's scope.
        check_still_writable(session, session.get(Commitment, indicator.commitment_id), actor_id)
    who = Actor(actor_id=actor_id, actor_label=actor_label, contract_id=contract.id)
    record_change(session, "update", "indicator", indicator, before, **who)
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
    record_change(session, "create", "target", target, actor_id=actor_id, contract_id=contract.id)
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
    decision_id: int | None = None,
    avenant_reference: str = "",
    require_decision: bool = False,
) -> TargetRevision:
    """Change a target's value; the revision (old, new, who, why) is kept. With
    `require_decision` (`[governance] revision_requires_decision`), an `avenant` or
    `revue_mi_parcours` revision must name the committee decision (`revision_cible`) it
    carries out."""
    if kind not in TARGET_REVISION_KINDS:
        raise Invalid("kind", "Type de révision inconnu.")
    _check_revision_decision(session, contract, decision_id, kind, require_decision)
    avenant_reference = _text(avenant_reference, 200, "avenant_reference", "La référence d'avenant")
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
        decision_id=decision_id,
        avenant_reference=avenant_reference.strip(),
    )
    target.value = value
    session.add(target)
    session.add(revision)
    session.flush()
    after = snapshot(target)
    after["revision"] = snapshot(revision)
    who = Actor(actor_id=actor_id, contract_id=contract.id)
    record_change(session, "update", "target", target, before, after, **who)
    return revision


# Revisions the committee decides (`[governance] revision_requires_decision`); a `correction`
# (typing error) or `autre` change is made without one.
COMMITTEE_REVISION_KINDS = ("avenant", "revue_mi_parcours")


def _check_revision_decision(
    session: Session, contract: Contract, decision_id: int | None, kind: str, required: bool
) -> None:
    if decision_id is None:
        if required and kind in COMMITTEE_REVISION_KINDS:
            raise Invalid(
                "decision_id",
                "Une révision de cible par avenant ou revue à mi-parcours doit s'appuyer sur "
                "une décision de comité de type « révision de cible » : indiquez-la.",
            )
        return
    decision = session.get(Decision, decision_id)
    if decision is None or decision.contract_id != contract.id:
        raise Invalid("decision_id", "Décision introuvable dans ce contrat.")
    if decision.kind != "revision_cible":
        raise Invalid(
            "decision_id",
            f"La décision n° {decision.number} n'est pas une révision de cible : "
            "elle ne peut pas modifier une cible.",
        )


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


def _fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def check_not_future(day: date, today: date) -> None:
    """A measurement is a figure already observed: never dated after the real today (every
    writer passes `clock.today(...)`, never a display `as_of`)."""
    if day > today:
        raise Invalid(
            "measured_on",
            f"La date du {_fr(day)} est postérieure à aujourd'hui ({_fr(today)}) : "
            "on ne saisit que des mesures déjà constatées.",
        )


def check_measured_on(contract: _Term, baseline_date: date, day: date, today: date) -> None:
    """Not in the future, within the contract's term, not before the indicator's baseline."""
    check_not_future(day, today)
    if not contract.term_start <= day <= contract.term_end:
        raise Invalid(
            "measured_on",
            f"La date du {_fr(day)} est hors de la durée du contrat "
            f"(du {_fr(contract.term_start)} au {_fr(contract.term_end)}).",
        )
    if day < baseline_date:
        raise Invalid("measured_on", "La mesure précède la date de référence de l'indicateur.")


class _Reading(TypedDict, total=False):
    """A new measurement as `check_measurement` takes it (no comment, no link: "")."""

    measured_on: Required[date]
    value: Required[float]
    comment: str
    evidence_url: str


def check_measurement(
    contract: _Term, baseline_date: date, *, today: date, **reading: Unpack[_Reading]
) -> dict[str, Any]:
    """The rules of a new measurement, whoever writes it (API, form, import): its cleaned
    `value`, `comment` and `evidence_url`, or `Invalid` (field and French message)."""
    cleaned = {
        "value": _number(reading["value"], "value"),
        "comment": _text(reading.get("comment", ""), MAX_COMMENT, "comment", "Le commentaire"),
        "evidence_url": _url(reading.get("evidence_url", "")),
    }
    check_measured_on(contract, baseline_date, reading["measured_on"], today)
    return cleaned


def _term(contract: _Term) -> tuple[int, date, date]:
    return (contract.id, contract.term_start, contract.term_end)


def _reading(
    baseline_date: date, measured_on: date, *, value: float, comment: str, evidence_url: str
) -> tuple[date, date, float, str, str]:
    """What the rules of a new measurement look at (`CheckedMeasurements`)."""
    return (baseline_date, measured_on, value, comment, evidence_url)


class CheckedMeasurements:
    """New readings that `check_measurement` accepted, in one contract, on one `today`: what
    a caller that checks every row before writing any (the import) hands to
    `create_measurements`, which then does not check them a second time.

    Only `check` adds to it, after `check_measurement` accepted the reading: a reading is
    known by what the rules look at (the indicator's baseline date, the date, the cleaned
    value, comment and link). `create_measurements` checks any other reading, or one whose
    contract term, baseline or today is not what it was checked with. Kept as plain tuples
    in a set: no object per row for the garbage collector to walk."""

    __slots__ = ("_accepted", "term", "today")

    def __init__(self, contract: _Term, today: date) -> None:
        self.term = _term(contract)
        self.today = today
        self._accepted: set[tuple[date, date, float, str, str]] = set()

    def check(
        self, contract: _Term, baseline_date: date, **reading: Unpack[_Reading]
    ) -> dict[str, Any]:
        """`check_measurement` (same refusals), remembering what it accepted."""
        cleaned = check_measurement(contract, baseline_date, today=self.today, **reading)
        if _term(contract) == self.term:
            self._accepted.add(_reading(baseline_date, reading["measured_on"], **cleaned))
        return cleaned

    def holds(self, term: tuple[int, date, date], today: date, item: NewMeasurement) -> bool:
        """Whether `item`, as it stands, was accepted under this term and today."""
        reading = _reading(item.indicator.baseline_date, **item.reading())
        return term == self.term and today == self.today and reading in self._accepted


@dataclass(frozen=True, slots=True)
class NewMeasurement:
    """One reading to create (`create_measurements`)."""

    indicator: _Baseline
    measured_on: date
    value: float
    comment: str = ""
    evidence_url: str = ""

    def reading(self) -> _Reading:
        """What `check_measurement` checks."""
        return _Reading(
            measured_on=self.measured_on,
            value=self.value,
            comment=self.comment,
            evidence_url=self.evidence_url,
        )


@dataclass(frozen=True, slots=True)
class MeasurementCorrection:
    """One correction (`correct_measurements`): `None` keeps the old reading's value."""

    indicator: _Baseline
    old: Measurement
    value: float
    reason: str
    measured_on: date | None = None
    comment: str | None = None
    evidence_url: str | None = None


# A plain INSERT, without building `Measurement` objects and flushing them through the unit of
# work (that costs several times the insert itself). RETURNING the keys with the ids lets
# SQLAlchemy send the rows as multi-row INSERTs ("insertmanyvalues", 1,000 rows a statement):
# one statement per row inside the import's SAVEPOINT made SQLite copy the touched pages to
# its statement journal for every row (3x slower). The rows come back in any order: they are
# matched by their (indicator, date) key, unique among current readings.
_INSERT_MEASUREMENTS = insert(Measurement.__table__).returning(
    Measurement.__table__.c.id,
    Measurement.__table__.c.indicator_id,
    Measurement.__table__.c.measured_on,
)
_ALREADY_MEASURED = (
    "Une valeur est déjà enregistrée au {day} pour cet indicateur : corrigez-la "
    "(POST …/measurements/{{id}}/correction) plutôt que d'en saisir une seconde."
)
# Bound parameters per IN (...) list: far below SQLite's and PostgreSQL's limits.
_IN_CHUNK = 400
# Readings inserted and audited together (`create_measurements`).
_WRITE_CHUNK = 250


def _already_measured(day: date) -> Conflict:
    return Conflict(_ALREADY_MEASURED.format(day=day.isoformat()), "measured_on")


def _current(session: Session, keys: list[tuple[int, date]]) -> dict[tuple[int, date], int]:
    """The ids of the current measurements at these (indicator, date) keys. One query per
    chunk of indicators, on their date range (a single key: exactly that one), then matched
    here: cheaper than a row-value IN list of thousands of keys."""
    wanted = set(keys)
    by_indicator: dict[int, list[date]] = {}
    for indicator_id, day in wanted:
        by_indicator.setdefault(indicator_id, []).append(day)
    indicator_ids = sorted(by_indicator)
    found: dict[tuple[int, date], int] = {}
    for start in range(0, len(indicator_ids), _IN_CHUNK):
        chunk = indicator_ids[start : start + _IN_CHUNK]
        days = [day for indicator_id in chunk for day in by_indicator[indicator_id]]
        for id_, indicator_id, day in session.execute(
            select(Measurement.id, Measurement.indicator_id, Measurement.measured_on).where(
                Measurement.indicator_id.in_(chunk),
                Measurement.measured_on.between(min(days), max(days)),
                Measurement.superseded_by_id.is_(None),
            )
        ):
            if (indicator_id, day) in wanted:
                found[(indicator_id, day)] = id_
    return found


def _refuse_current(session: Session, keys: list[tuple[int, date]]) -> None:
    """409 if an (indicator, date) already has a current measurement, or comes twice."""
    seen: set[tuple[int, date]] = set()
    for key in keys:
        if key in seen:
            raise _already_measured(key[1])
        seen.add(key)
    current = _current(session, keys)
    if current:
        raise _already_measured(min(current)[1])


def _iso_days(row: dict[str, Any], entered: str) -> dict[str, str]:
    """The row's dates as JSON holds them (`json_safe`'s ISO strings)."""
    days = {"measured_on": row["measured_on"].isoformat(), "entered_at": entered}
    if row.get("validated_at") is not None:  # validated on entry (`[validation] required` off)
        days["validated_at"] = row["validated_at"].isoformat()
    return days


class Entry(TypedDict, total=False):
    """Who enters readings, on which real day, and whether they wait for validation (by
    default): what `create_measurements` and `correct_measurements` take by keyword."""

    actor_id: Required[int | None]
    actor_label: str
    today: Required[date]
    validation_required: bool


def create_measurement(
    session: Session,
    contract: _Term,
    indicator: _Baseline,
    *,
    measured_on: date,
    value: float,
    comment: str = "",
    evidence_url: str = "",
    **entry: Unpack[Entry],
) -> dict[str, Any]:
    """`create_measurements` of one."""
    item = NewMeasurement(indicator, measured_on, value, comment, evidence_url)
    return create_measurements(session, contract, [item], **entry)[0]


def create_measurements(
    session: Session,
    contract: _Term,
    items: Sequence[NewMeasurement],
    *,
    actor_id: int | None,
    actor_label: str = "",
    today: date,
    validation_required: bool = True,
    checked: CheckedMeasurements | None = None,
) -> list[dict[str, Any]]:
    """Insert new measurements (each checked by `check_measurement`, none already current
    at its date: 409, none on or before a locked cut-off: 409) and audit each; return their
    columns (all of them, as `Measurement` has them). Deliberately not `Measurement` objects:
    one that already has an id but is not in the session would be inserted again if it were
    ever added to it. They are submitted for validation (validated at once when
    `validation_required` is false: `[validation]`). `checked`: what the caller already
    checked (`CheckedMeasurements`); those readings are not checked a second time."""
    if not items:
        return []
    # The earliest date is the first a locked cut-off would freeze: one query for all.
    check_cutoff(session, contract.id, min(item.measured_on for item in items))
    entered_at = utcnow()
    state = entry_state(required=validation_required, actor_id=actor_id)
    term = _term(contract)
    rows: list[dict[str, Any]] = []
    for item in items:
        if checked is not None and checked.holds(term, today, item):
            cleaned = {
                "value": item.value,
                "comment": item.comment,
                "evidence_url": item.evidence_url,
            }
        else:
            baseline_date = item.indicator.baseline_date
            cleaned = check_measurement(contract, baseline_date, today=today, **item.reading())
        rows.append(
            {
                "indicator_id": item.indicator.id,
                "measured_on": item.measured_on,
                **cleaned,
                "author_id": actor_id,
                "entered_at": entered_at,
                "superseded_by_id": None,
                "correction_reason": "",
                "return_reason": "",
                **state,
            }
        )
    session.flush()  # pending changes first, as the unit of work would order them
    keys = [(row["indicator_id"], row["measured_on"]) for row in rows]
    _refuse_current(session, keys)
    connection = session.connection()
    entered = entered_at.isoformat()
    audited_at = utcnow()
    created: list[dict[str, Any]] = []
    # Written and audited a chunk at a time: the per-row objects of a chunk (statement
    # parameters, audit rows) are freed before the next, instead of 10,000 of each living
    # long enough for the garbage collector to walk the whole heap again and again.
    for start in range(0, len(rows), _WRITE_CHUNK):
        chunk = rows[start : start + _WRITE_CHUNK]
        try:
            inserted = connection.execute(_INSERT_MEASUREMENTS, chunk).all()
        except IntegrityError as exc:
            # A concurrent writer recorded one of these dates first (the unique index of
            # current values); the transaction is rolled back by its boundary.
            if "ix_measurement_current" in str(exc.orig) or "measured_on" in str(exc.orig):
                raise _already_measured(chunk[0]["measured_on"]) from None
            raise
        ids = {(indicator_id, day): id_ for id_, indicator_id, day in inserted}
        done = [{"id": ids[row["indicator_id"], row["measured_on"]], **row} for row in chunk]
        record_many(
            session,
            [
                # `json_safe(row)`, without a JSON round trip per row.
                Change("create", "measurement", row["id"], None, {**row, **_iso_days(row, entered)})
                for row in done
            ],
            actor_id=actor_id,
            actor_label=actor_label,
            contract_id=contract.id,
            at=audited_at,
        )
        created.extend(done)
    return created


def correct_measurement(
    session: Session,
    contract: _Term,
    indicator: _Baseline,
    old: Measurement,
    *,
    measured_on: date | None,
    value: float,
    reason: str,
    comment: str | None = None,
    evidence_url: str | None = None,
    **entry: Unpack[Entry],
) -> Measurement:
    """`correct_measurements` of one."""
    correction = MeasurementCorrection(
        indicator, old, value, reason, measured_on, comment, evidence_url
    )
    return correct_measurements(session, contract, [correction], **entry)[0]


def correct_measurements(
    session: Session,
    contract: _Term,
    corrections: Sequence[MeasurementCorrection],
    *,
    actor_id: int | None,
    actor_label: str = "",
    today: date,
    validation_required: bool = True,
) -> list[Measurement]:
    """Each correction is a new measurement that supersedes its old one; the old one is
    kept, with the reason (which the pages show as « Corrigée : … »); the new one is
    submitted for validation like any entry. Only a current measurement can be corrected
    (409 otherwise), never on or before a locked cut-off (409). Two audit events per
    correction: the old reading's update, the new reading's creation."""
    cleaned = []
    for item in corrections:
        reason = _text(item.reason, MAX_REASON, "reason", "Le motif").strip()
        cleaned.append(
            (
                _number(item.value, "value"),
                reason,
                None
                if item.comment is None
                else _text(item.comment, MAX_COMMENT, "comment", "Le commentaire"),
                None if item.evidence_url is None else _url(item.evidence_url),
            )
        )
    # Lock the rows (PostgreSQL; SQLite writers are serialised by BEGIN IMMEDIATE) and read
    # them again: a concurrent correction committed meanwhile makes this one a 409.
    ids = [item.old.id for item in corrections]
    for start in range(0, len(ids), _IN_CHUNK):
        session.scalars(
            select(Measurement)
            .where(Measurement.id.in_(ids[start : start + _IN_CHUNK]))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
    news: list[Measurement] = []
    befores = []
    for item, (value, reason, comment, evidence_url) in zip(corrections, cleaned, strict=True):
        old = item.old
        if old.superseded_by_id is not None:
            raise Conflict("Cette mesure a déjà été corrigée : corrigez la plus récente.", "id")
        if not reason:
            raise Invalid("reason", "Une correction doit être motivée.")
        day = item.measured_on or old.measured_on
        check_measured_on(contract, item.indicator.baseline_date, day, today)
        check_cutoff(session, contract.id, min(old.measured_on, day), "corrigée")
        befores.append(snapshot(old))
        # At most one current measurement per date (a unique index): the new one is written
        # as superseded by the old one, then the two swap, so no statement sees two current
        # rows.
        news.append(
            Measurement(
                indicator_id=item.indicator.id,
                measured_on=day,
                value=value,
                comment=old.comment if comment is None else comment,
                evidence_url=old.evidence_url if evidence_url is None else evidence_url,
                author_id=actor_id,
                superseded_by_id=old.id,
                **entry_state(required=validation_required, actor_id=actor_id),
            )
        )
    session.add_all(news)
    session.flush()
    for item, new, (_, reason, _, _) in zip(corrections, news, cleaned, strict=True):
        item.old.superseded_by_id = new.id
        item.old.correction_reason = reason
        session.add(item.old)
    session.flush()
    for new in news:
        new.superseded_by_id = None
    session.flush()
    changes: list[Change] = []
    for item, new, before in zip(corrections, news, befores, strict=True):
        changes.append(Change("update", "measurement", item.old.id, before, snapshot(item.old)))
        changes.append(Change("create", "measurement", new.id, None, snapshot(new)))
    record_many(
        session, changes, actor_id=actor_id, actor_label=actor_label, contract_id=contract.id
    )
    return news
