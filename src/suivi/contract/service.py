"""Change the contract and its reference data: the contract itself (name, term, mid-term
review), partners, quartiers (name, in-contract flag), priorities and meetings.

Who may call these is decided by the caller (`suivi.scoping.can_write_reference`: admins of
the contract). Every change is audited in the caller's transaction, never committed here.
Input is checked against the contract first and refused with `Invalid` (422, French message,
field) or `Conflict` (409: duplicate code, stale `If-Match`) before anything is written.

Optimistic check: reference rows have no version column, so their version is an `etag` of
their audited snapshot. A client that sends the etag it read (`If-Match`) gets a 409 when the
row changed in between; the row is read `FOR UPDATE` (PostgreSQL) or under the SQLite write
lock, so two writers holding the same etag cannot both win.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from typing import Required
from typing import TypedDict
from typing import Unpack

from sqlalchemy import func
from sqlalchemy import select
from sqlmodel import Session
from sqlmodel import SQLModel

from suivi.audit.service import Actor
from suivi.audit.service import record_change
from suivi.audit.service import snapshot
from suivi.codes import CROSS_CUTTING_TAGS
from suivi.codes import DOMAINS
from suivi.codes import MEETING_KINDS
from suivi.codes import PARTNER_KINDS
from suivi.commitments.models import Commitment
from suivi.contract.models import Commune
from suivi.contract.models import Contract
from suivi.contract.models import ContractQuartier
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.errors import STALE_VERSION
from suivi.errors import Conflict
from suivi.errors import Invalid
from suivi.reports.models import ReportFile
from suivi.validation import luhn_valid
from suivi.validation import siret_valid

# La Poste's SIREN is the one historical exception to the Luhn key.
_LA_POSTE_SIREN = "356000000"
_SIREN = re.compile(r"^[0-9]{9}$")
# Columns an audit snapshot leaves out (bulky or not ours to show).
_QUARTIER_EXCLUDE = ("contour",)


def _digest(data: dict | None) -> str:
    text = json.dumps(data, sort_keys=True)
    return '"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:20] + '"'


def _check_digest(current: str, expected: str | None) -> None:
    if expected is None:
        return
    candidates = {value.strip().removeprefix("W/") for value in expected.split(",")}
    if "*" not in candidates and current not in candidates:
        raise Conflict(STALE_VERSION, "If-Match")


def etag(row: SQLModel, exclude: tuple[str, ...] = ()) -> str:
    """A short fingerprint of the row's columns, for `ETag` / `If-Match`."""
    return _digest(snapshot(row, exclude=exclude))


def check_etag(row: SQLModel, expected: str | None, exclude: tuple[str, ...] = ()) -> None:
    """409 if the client read another version of the row (no `If-Match`: no check)."""
    _check_digest(etag(row, exclude), expected)


def locked(session: Session, model, row_id: int):
    """The row, locked until the end of the transaction (PostgreSQL `FOR UPDATE`; a SQLite
    writing session already holds the database lock)."""
    return session.get(model, row_id, with_for_update=True, populate_existing=True)


class Edit(TypedDict, total=False):
    """An update's arguments, by keyword (what the API's `_changes` builds): the `fields`
    sent, the etag the client read (`If-Match`; none: no check) and who changes them."""

    fields: Required[dict]
    expected_etag: str | None
    actor_id: Required[int | None]
    actor_label: str


def _create(session: Session, contract: Contract, model, entity, fields, actor_id, actor_label):
    """Insert a new row of the contract's reference data, audited."""
    row = model(contract_id=contract.id, **fields)
    session.add(row)
    session.flush()
    who = Actor(actor_id=actor_id, actor_label=actor_label, contract_id=contract.id)
    record_change(session, "create", entity, row, **who)
    return row


def _update(session: Session, contract: Contract, row, entity: str, check, edit: Edit):
    """The skeleton of an update: the etag the client read, then `check(fields)`, then the
    fields set on the row, audited."""
    check_etag(row, edit.get("expected_etag"))
    fields = edit["fields"]
    check(fields)
    before = snapshot(row)
    for key, value in fields.items():
        setattr(row, key, value)
    session.add(row)
    session.flush()
    record_change(session, "update", entity, row, before, **_who(edit, contract))
    return row


def _who(edit: Edit, contract: Contract) -> Actor:
    """Who makes the update, in which contract (for its audit row)."""
    actor_label = edit.get("actor_label", "")
    return Actor(actor_id=edit["actor_id"], actor_label=actor_label, contract_id=contract.id)


def _check_choice(field: str, value, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise Invalid(field, f"{what} inconnu (possibles : {', '.join(allowed)}).")


def _check_not_blank(fields: dict, *names: str) -> None:
    for name in names:
        if name in fields and (fields[name] is None or not str(fields[name]).strip()):
            raise Invalid(name, "Ce champ ne peut pas être vide.")


# -- contract ----------------------------------------------------------------------------------


def update_contract(session: Session, contract: Contract, **edit: Unpack[Edit]) -> Contract:
    """Name, term dates and mid-term review. The term must still hold every commitment."""
    _check_not_blank(edit["fields"], "name", "term_start", "term_end")

    def check(fields: dict) -> None:
        _check_term(session, contract, fields)

    return _update(session, contract, contract, "contract", check, edit)


def _check_term(session: Session, contract: Contract, fields: dict) -> None:
    start = fields.get("term_start", contract.term_start)
    end = fields.get("term_end", contract.term_end)
    review = fields.get("midterm_review_on", contract.midterm_review_on)
    if start >= end:
        raise Invalid("term_end", "La fin du contrat doit suivre son début.")
    if review is not None and not start < review < end:
        raise Invalid(
            "midterm_review_on", "La revue à mi-parcours doit tomber pendant la durée du contrat."
        )
    outside = session.execute(
        select(func.count())
        .select_from(Commitment)
        .where(
            Commitment.contract_id == contract.id,
            (Commitment.start_date < start) | (Commitment.end_date > end),
        )
    ).scalar_one()
    if outside:
        field = "term_start" if "term_start" in fields else "term_end"
        raise Invalid(
            field,
            f"{outside} engagement(s) sortiraient de la durée du contrat "
            f"({start.isoformat()} – {end.isoformat()}) : modifiez-les d'abord.",
        )


# -- partners ----------------------------------------------------------------------------------


def check_siren(value: str | None) -> None:
    """9 digits with a valid Luhn key (the INSEE rule), or nothing."""
    if value is None:
        return
    if not _SIREN.match(value):
        raise Invalid("siren", "Le SIREN doit compter exactement 9 chiffres.")
    if value == _LA_POSTE_SIREN:
        return
    if not luhn_valid(value):
        raise Invalid("siren", "Ce SIREN n'est pas valide (clé de contrôle incorrecte).")


def check_siret(value: str | None) -> None:
    """14 digits with a valid Luhn key (La Poste's offices: digits summing to a multiple of
    5), or nothing."""
    if value is None:
        return
    if not (len(value) == 14 and value.isdigit()):
        raise Invalid("siret", "Le SIRET doit compter exactement 14 chiffres.")
    if not siret_valid(value):
        raise Invalid("siret", "Ce SIRET n'est pas valide (clé de contrôle incorrecte).")


def _check_partner_code(session, contract_id: int, code: str, exclude_id: int | None) -> None:
    query = select(Partner.id).where(Partner.contract_id == contract_id, Partner.code == code)
    if exclude_id is not None:
        query = query.where(Partner.id != exclude_id)
    if session.execute(query).first() is not None:
        raise Conflict(f"Le code de partenaire « {code} » existe déjà dans ce contrat.", "code")


def _check_partner_fields(session: Session, contract: Contract, fields: dict, exclude_id) -> None:
    _check_not_blank(fields, "code", "name", "kind", "is_signatory")
    if "kind" in fields:
        _check_choice("kind", fields["kind"], PARTNER_KINDS, "Type de partenaire")
    if "siren" in fields:
        check_siren(fields["siren"])
    if "siret" in fields:
        check_siret(fields["siret"])
    if fields.get("commune_id") is not None and session.get(Commune, fields["commune_id"]) is None:
        raise Invalid("commune_id", "Commune inconnue.")
    if "code" in fields:
        _check_partner_code(session, contract.id, fields["code"], exclude_id)


def create_partner(
    session: Session, contract: Contract, *, fields: dict, actor_id: int | None, actor_label=""
) -> Partner:
    _check_partner_fields(session, contract, fields, None)
    return _create(session, contract, Partner, "partner", fields, actor_id, actor_label)


def update_partner(
    session: Session, contract: Contract, partner: Partner, **edit: Unpack[Edit]
) -> Partner:
    def check(fields: dict) -> None:
        _check_partner_fields(session, contract, fields, partner.id)

    return _update(session, contract, partner, "partner", check, edit)


# -- quartiers ---------------------------------------------------------------------------------


def quartier_snapshot(quartier: Quartier, link: ContractQuartier) -> dict:
    """A quartier as one contract sees it (audit, ETag): the shared QPV without its contour,
    and this contract's in-contract flag."""
    data = snapshot(quartier, exclude=_QUARTIER_EXCLUDE)
    return {**data, "contract_id": link.contract_id, "in_contract": link.in_contract}


def quartier_etag(quartier: Quartier, link: ContractQuartier) -> str:
    return _digest(quartier_snapshot(quartier, link))


def update_quartier(
    session: Session, contract: Contract, quartier: Quartier, **edit: Unpack[Edit]
) -> Quartier:
    """Name and the in-contract flag (the contract's exact list is not public, so the flag
    stays editable, per contract). The official code and the contour are reference data, not
    edited here. The quartier must be listed by the contract."""
    fields = edit["fields"]
    _check_not_blank(fields, "name", "in_contract")
    link = session.get(ContractQuartier, (contract.id, quartier.id), with_for_update=True)
    if link is None:
        raise Invalid("quartier_id", "Quartier inconnu dans ce contrat.")
    _check_digest(quartier_etag(quartier, link), edit.get("expected_etag"))
    before = quartier_snapshot(quartier, link)
    for key, value in fields.items():
        setattr(link if key == "in_contract" else quartier, key, value)
    session.add_all([quartier, link])
    session.flush()
    after = quartier_snapshot(quartier, link)
    record_change(session, "update", "quartier", quartier, before, after, **_who(edit, contract))
    return quartier


# -- priorities --------------------------------------------------------------------------------


def _check_priority_fields(
    session: Session, contract: Contract, fields: dict, priority: Priority | None
) -> None:
    _check_not_blank(fields, "code", "title", "domain", "tags", "position")
    if "domain" in fields:
        _check_choice("domain", fields["domain"], DOMAINS, "Domaine")
    if "tags" in fields:
        tags = fields["tags"]
        if len(set(tags)) != len(tags):
            raise Invalid("tags", "Une thématique transversale est citée deux fois.")
        for tag in tags:
            _check_choice("tags", tag, CROSS_CUTTING_TAGS, f"Thématique « {tag} »")
    if fields.get("parent_id") is not None:
        _check_parent(session, contract, fields["parent_id"], priority)
    if "code" in fields:
        query = select(Priority.id).where(
            Priority.contract_id == contract.id, Priority.code == fields["code"]
        )
        if priority is not None:
            query = query.where(Priority.id != priority.id)
        if session.execute(query).first() is not None:
            raise Conflict(
                f"Le code de priorité « {fields['code']} » existe déjà dans ce contrat.", "code"
            )


def _check_parent(
    session: Session, contract: Contract, parent_id: int, priority: Priority | None
) -> None:
    """The parent is a priority of the contract and not the priority itself or below it."""
    parents: dict[int, int | None] = dict(
        session.execute(
            select(Priority.id, Priority.parent_id).where(Priority.contract_id == contract.id)
        ).all()
    )
    if parent_id not in parents:
        raise Invalid("parent_id", "Priorité parente inconnue dans ce contrat.")
    if priority is None:
        return
    seen: set[int] = set()
    current: int | None = parent_id
    while current is not None and current not in seen:
        if current == priority.id:
            raise Invalid("parent_id", "Une priorité ne peut pas être rangée sous elle-même.")
        seen.add(current)
        current = parents.get(current)


def create_priority(
    session: Session, contract: Contract, *, fields: dict, actor_id: int | None, actor_label=""
) -> Priority:
    _check_priority_fields(session, contract, fields, None)
    return _create(session, contract, Priority, "priority", fields, actor_id, actor_label)


def update_priority(
    session: Session, contract: Contract, priority: Priority, **edit: Unpack[Edit]
) -> Priority:
    def check(fields: dict) -> None:
        _check_priority_fields(session, contract, fields, priority)

    return _update(session, contract, priority, "priority", check, edit)


# -- meetings ----------------------------------------------------------------------------------


def _check_meeting_fields(contract: Contract, fields: dict) -> None:
    _check_not_blank(fields, "kind", "held_on", "title")
    if "kind" in fields:
        _check_choice("kind", fields["kind"], MEETING_KINDS, "Type d'instance")
    held_on: date | None = fields.get("held_on")
    if held_on is not None and not contract.term_start <= held_on <= contract.term_end:
        raise Invalid(
            "held_on",
            f"La date {held_on.isoformat()} est hors de la durée du contrat "
            f"({contract.term_start.isoformat()} – {contract.term_end.isoformat()}).",
        )


def create_meeting(
    session: Session, contract: Contract, *, fields: dict, actor_id: int | None, actor_label=""
) -> Meeting:
    _check_meeting_fields(contract, fields)
    return _create(session, contract, Meeting, "meeting", fields, actor_id, actor_label)


def update_meeting(
    session: Session, contract: Contract, meeting: Meeting, **edit: Unpack[Edit]
) -> Meeting:
    def check(fields: dict) -> None:
        _check_meeting_fields(contract, fields)

    return _update(session, contract, meeting, "meeting", check, edit)


def delete_meeting(
    session: Session,
    contract: Contract,
    meeting: Meeting,
    *,
    expected_etag: str | None = None,
    actor_id: int | None,
    actor_label: str = "",
) -> None:
    """A meeting may be deleted (a date entered by mistake); the audit row keeps it all."""
    check_etag(meeting, expected_etag)
    archived = session.execute(
        select(func.count()).select_from(ReportFile).where(ReportFile.meeting_id == meeting.id)
    ).scalar_one()
    if archived:
        # Archived reports are never rewritten nor orphaned: the meeting they cite stays.
        raise Conflict(
            f"{archived} rapport(s) archivé(s) sont rattachés à cette instance : "
            "elle ne peut pas être supprimée, modifiez-la plutôt.",
            "id",
        )
    who = Actor(actor_id=actor_id, actor_label=actor_label, contract_id=contract.id)
    record_change(session, "delete", "meeting", meeting, snapshot(meeting), **who)
    session.delete(meeting)
    session.flush()
