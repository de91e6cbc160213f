"""The committee cycle: hold a meeting, set its participants and agenda, record decisions,
follow them up, and carry out their effects on commitments and targets.

Who may do what is asked of `suivi.scoping` (`can_manage_decisions`,
`can_follow_up_decision`, `decision_condition`). Every change is audited in the caller's
transaction, never committed here. Bad input is refused with `Invalid` (422, French message,
field), a change the state forbids with `Conflict` (409), before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select
from sqlmodel import Session
from sqlmodel import col

from suivi import scoping
from suivi.audit.service import Actor
from suivi.audit.service import Change
from suivi.audit.service import record_change
from suivi.audit.service import record_many
from suivi.audit.service import snapshot
from suivi.auth.principal import Principal
from suivi.codes import DECISION_KINDS
from suivi.codes import DECISION_STATUSES
from suivi.codes import LINK_KINDS
from suivi.commitments.models import Commitment
from suivi.commitments.service import update_commitment
from suivi.contract.models import Contract
from suivi.contract.models import ContractQuartier
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.db import utcnow
from suivi.errors import Conflict
from suivi.errors import Forbidden
from suivi.errors import Invalid
from suivi.errors import NotFound
from suivi.formatting import format_date
from suivi.formatting import format_number
from suivi.governance.models import OPEN_DECISION_STATUSES
from suivi.governance.models import AgendaItem
from suivi.governance.models import Decision
from suivi.governance.models import DecisionAlert
from suivi.governance.models import DecisionLink
from suivi.governance.models import DecisionUpdate
from suivi.governance.models import MeetingParticipant
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.indicators.models import TargetRevision
from suivi.indicators.service import revise_target
from suivi.validation import InputError
from suivi.validation import clean_text

MEETING_KIND_LABELS = {
    "copil": "comité de pilotage",
    "cotech": "comité technique",
    "revue_mi_parcours": "revue à mi-parcours",
}
DECISION_KIND_LABELS = {
    "action": "Action",
    "revision_cible": "Révision de cible",
    "reprogrammation": "Reprogrammation",
    "abandon": "Abandon",
    "information": "Information",
}
DECISION_STATUS_LABELS = {
    "ouverte": "Ouverte",
    "en_cours": "En cours",
    "realisee": "Réalisée",
    "abandonnee": "Abandonnée",
}
MEETING_STATUS_LABELS = {
    "prevue": "Prévue",
    "tenue": "Tenue",
    "releve_diffuse": "Relevé diffusé",
}


# -- small helpers -------------------------------------------------------------------------------


def _text(value: str | None, max_length: int, field: str, what: str, required=False) -> str:
    try:
        text = clean_text(value or "", max_length, what).strip()
    except InputError as exc:
        raise Invalid(field, str(exc)) from None
    if required and not text:
        raise Invalid(field, f"{what} ne peut pas être vide.")
    return text


def meeting_label(meeting: Meeting) -> str:
    """« comité de pilotage du 25 novembre 2025 »."""
    return (
        f"{MEETING_KIND_LABELS.get(meeting.kind, meeting.kind)} du {format_date(meeting.held_on)}"
    )


def decision_reference(decision: Decision, meeting: Meeting) -> str:
    """« décision n° 3 du comité de pilotage du 25 novembre 2025 » (what audit rows and
    follow-up entries say a change comes from)."""
    return f"décision n\u00a0{decision.number} du {meeting_label(meeting)}"


def is_overdue(decision: Decision, as_of: date) -> bool:
    return (
        decision.status in OPEN_DECISION_STATUSES
        and decision.due_on is not None
        and decision.due_on < as_of
    )


def stored_id(row: Meeting | Partner | Decision) -> int:
    """The primary key of a row read from the database or flushed (SQLModel types it
    `int | None` only because a new object has none yet)."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush it first")
    return row.id


def _audit(session, action, entity, entity_id, before, after, principal, contract_id, label=""):
    actor_label = label or principal.label
    who = Actor(actor_id=principal.user_id, actor_label=actor_label, contract_id=contract_id)
    record_many(session, [Change(action, entity, entity_id, before, after)], **who)


def _audit_decision(session, principal, action, decision, before, after=None) -> None:
    """The audit row of a change to `decision` (`after`: its `decision_snapshot` unless said)."""
    if after is None:
        after = decision_snapshot(session, decision)
    _audit(session, action, "decision", decision.id, before, after, principal, decision.contract_id)


def require_manager(principal: Principal, contract_id: int) -> None:
    if not scoping.can_manage_decisions(principal, contract_id):
        raise Forbidden(
            "Seuls le chef de projet et l'administrateur du contrat gèrent les instances "
            "et leurs décisions."
        )


# -- reading -------------------------------------------------------------------------------------


def readable_meeting(session: Session, principal: Principal, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or not scoping.in_contracts(principal, meeting.contract_id):
        raise NotFound("Instance introuvable.")
    return meeting


def managed_meeting(session: Session, principal: Principal, meeting_id: int) -> Meeting:
    meeting = readable_meeting(session, principal, meeting_id)
    require_manager(principal, meeting.contract_id)
    return meeting


def readable_decision(session: Session, principal: Principal, decision_id: int) -> Decision:
    decision = session.execute(
        select(Decision).where(Decision.id == decision_id, scoping.decision_condition(principal))
    ).scalar_one_or_none()
    if decision is None:
        raise NotFound("Décision introuvable.")
    return decision


def participants(session: Session, meeting: Meeting) -> list[Partner]:
    return list(
        session.scalars(
            select(Partner)
            .join(MeetingParticipant, MeetingParticipant.partner_id == Partner.id)
            .where(MeetingParticipant.meeting_id == meeting.id)
            .order_by(Partner.name)
        )
    )


def agenda(session: Session, meeting: Meeting) -> list[AgendaItem]:
    items = select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
    return list(session.scalars(items.order_by(AgendaItem.position, AgendaItem.id)))


def links_of(session: Session, decision_ids: list[int]) -> dict[int, dict[str, list[int]]]:
    """{decision id: {"commitment": [...], "indicator": [...], "quartier": [...]}}."""
    result: dict[int, dict[str, list[int]]] = {
        i: {kind: [] for kind in LINK_KINDS} for i in decision_ids
    }
    if not decision_ids:
        return result
    rows = session.execute(
        select(DecisionLink.decision_id, DecisionLink.target_kind, DecisionLink.target_id)
        .where(DecisionLink.decision_id.in_(decision_ids))
        .order_by(DecisionLink.target_kind, DecisionLink.target_id)
    )
    for decision_id, kind, target_id in rows:
        result[decision_id][kind].append(target_id)
    return result


def history(session: Session, decision: Decision) -> list[DecisionUpdate]:
    updates = select(DecisionUpdate).where(DecisionUpdate.decision_id == decision.id)
    return list(session.scalars(updates.order_by(DecisionUpdate.on, DecisionUpdate.id)))


def revisions_of(session: Session, decision: Decision) -> list[tuple]:
    """(revision, target, indicator) of every target revision that carries the decision."""
    return list(
        session.execute(
            select(TargetRevision, Target, Indicator)
            .join(Target, Target.id == TargetRevision.target_id)
            .join(Indicator, Indicator.id == Target.indicator_id)
            .where(TargetRevision.decision_id == decision.id)
            .order_by(TargetRevision.revised_at, TargetRevision.id)
        ).all()
    )


@dataclass(frozen=True)
class DecisionFilter:
    status: str | None = None
    owner_partner_id: int | None = None
    overdue: bool = False
    meeting_id: int | None = None


def decisions_query(principal: Principal, contract_id: int, filters: DecisionFilter, as_of: date):
    """The decisions the principal may read, filtered, overdue first then by due date."""
    query = select(Decision).where(
        Decision.contract_id == contract_id, scoping.decision_condition(principal)
    )
    if filters.status:
        query = query.where(Decision.status == filters.status)
    if filters.owner_partner_id:
        query = query.where(Decision.owner_partner_id == filters.owner_partner_id)
    if filters.meeting_id:
        query = query.where(Decision.meeting_id == filters.meeting_id)
    if filters.overdue:
        query = query.where(
            Decision.status.in_(OPEN_DECISION_STATUSES),
            col(Decision.due_on) < as_of,
        )
    return query.order_by(
        Decision.due_on.is_(None), Decision.due_on, Decision.meeting_id, Decision.number
    )


def overdue_decisions(session: Session, contract_id: int, as_of: date) -> list[Decision]:
    """Every open decision of the contract past its due date (jobs and reports)."""
    return list(
        session.scalars(
            select(Decision)
            .where(
                Decision.contract_id == contract_id,
                Decision.status.in_(OPEN_DECISION_STATUSES),
                col(Decision.due_on) < as_of,
            )
            .order_by(Decision.due_on, Decision.number)
        )
    )


# -- meetings ------------------------------------------------------------------------------------


def hold_meeting(
    session: Session, principal: Principal, meeting: Meeting, *, as_of: date
) -> Meeting:
    """prevue → tenue: decisions may be recorded from now on."""
    require_manager(principal, meeting.contract_id)
    if meeting.status != "prevue":
        raise Conflict(f"Cette instance est déjà {MEETING_STATUS_LABELS[meeting.status].lower()}.")
    if meeting.held_on > as_of:
        raise Invalid(
            "status",
            f"Le {meeting_label(meeting)} n'a pas encore eu lieu : il ne peut pas être "
            "déclaré tenu avant sa date.",
        )
    _set_meeting_status(session, principal, meeting, "tenue")
    return meeting


def mark_releve_sent(session: Session, principal: Principal | None, meeting: Meeting) -> None:
    """tenue → releve_diffuse (by issuing the relevé): decisions' texts are frozen."""
    if meeting.status == "releve_diffuse":
        return
    _set_meeting_status(session, principal, meeting, "releve_diffuse")


def _set_meeting_status(
    session: Session, principal: Principal | None, meeting: Meeting, status: str
) -> None:
    """Move the meeting to `status`, audited (`principal` None: the relevé's job)."""
    before = snapshot(meeting)
    meeting.status = status
    session.add(meeting)
    session.flush()
    who = Actor(
        actor_id=principal.user_id if principal else None,
        actor_label=principal.label if principal else "relevé de décisions",
        contract_id=meeting.contract_id,
    )
    record_change(session, "update", "meeting", meeting, before, **who)


def set_participants(
    session: Session, principal: Principal, meeting: Meeting, partner_ids: list[int]
) -> list[Partner]:
    require_manager(principal, meeting.contract_id)
    wanted = set(partner_ids)
    known = set(
        session.execute(
            select(Partner.id).where(
                Partner.contract_id == meeting.contract_id, Partner.id.in_(wanted)
            )
        ).scalars()
    )
    if wanted - known:
        raise Invalid("partner_ids", "Partenaire inconnu dans ce contrat.")
    before = sorted(stored_id(p) for p in participants(session, meeting))
    for row in session.execute(
        select(MeetingParticipant).where(MeetingParticipant.meeting_id == meeting.id)
    ).scalars():
        session.delete(row)
    session.flush()
    for partner_id in sorted(wanted):
        session.add(MeetingParticipant(meeting_id=meeting.id, partner_id=partner_id))
    session.flush()
    _audit(
        session,
        "update",
        "meeting_participants",
        meeting.id,
        {"partner_ids": before},
        {"partner_ids": sorted(wanted)},
        principal,
        meeting.contract_id,
    )
    return participants(session, meeting)


def add_agenda_item(
    session: Session,
    principal: Principal,
    meeting: Meeting,
    *,
    title: str,
    detail: str = "",
    source: str = "libre",
    reference: str = "",
) -> AgendaItem:
    require_manager(principal, meeting.contract_id)
    title = _text(title, 300, "title", "Le point", required=True)
    position = session.execute(
        select(func.coalesce(func.max(AgendaItem.position), 0)).where(
            AgendaItem.meeting_id == meeting.id
        )
    ).scalar_one()
    item = AgendaItem(
        meeting_id=meeting.id,
        position=position + 1,
        title=title,
        detail=_text(detail, 2_000, "detail", "Le détail"),
        source=source,
        reference=reference[:40],
    )
    session.add(item)
    session.flush()
    _audit(
        session,
        "create",
        "agenda_item",
        item.id,
        None,
        snapshot(item),
        principal,
        meeting.contract_id,
    )
    return item


def agenda_from_report(
    session: Session, principal: Principal, meeting: Meeting, *, tz: ZoneInfo
) -> list[AgendaItem]:
    """Add the COPIL report's « Points appelant une décision » (as of the meeting day) to
    the agenda, skipping those already on it."""
    from suivi.reports.context import build_report_context  # heavy: only when asked

    require_manager(principal, meeting.contract_id)
    context = build_report_context(
        session,
        contract_id=meeting.contract_id,
        kind="copil",
        as_of=meeting.held_on,
        tz=tz,
        charts_enabled=False,
    )
    present = {(item.reference, item.title) for item in agenda(session, meeting)}
    added = []
    for point in context.decisions:
        key = (point.reference[:40], point.title[:300])
        if key in present:
            continue
        present.add(key)
        added.append(
            add_agenda_item(
                session,
                principal,
                meeting,
                title=point.title[:300],
                detail=point.detail,
                source="rapport",
                reference=point.reference,
            )
        )
    return added


# -- decisions -----------------------------------------------------------------------------------


def _check_links(session: Session, contract_id: int, links: dict[str, list[int]]) -> None:
    models = {
        "commitment": (Commitment, Commitment.contract_id, "Engagement"),
        "indicator": (Indicator, Indicator.contract_id, "Indicateur"),
    }
    for kind, ids in links.items():
        if kind not in LINK_KINDS:
            raise Invalid("links", f"Type de lien inconnu : {kind}.")
        wanted = set(ids)
        if not wanted:
            continue
        if kind == "quartier":
            found = set(
                session.execute(
                    select(ContractQuartier.quartier_id).where(
                        ContractQuartier.contract_id == contract_id,
                        ContractQuartier.quartier_id.in_(wanted),
                    )
                ).scalars()
            )
            what = "Quartier"
        else:
            model, column, what = models[kind]
            found = set(
                session.execute(
                    select(model.id).where(column == contract_id, model.id.in_(wanted))
                ).scalars()
            )
        if wanted - found:
            raise Invalid(f"{kind}_ids", f"{what} inconnu dans ce contrat.")


def _replace_links(session: Session, decision: Decision, links: dict[str, list[int]]) -> None:
    for row in session.execute(
        select(DecisionLink).where(DecisionLink.decision_id == decision.id)
    ).scalars():
        session.delete(row)
    session.flush()
    for kind, ids in links.items():
        for target_id in sorted(set(ids)):
            session.add(
                DecisionLink(decision_id=decision.id, target_kind=kind, target_id=target_id)
            )
    session.flush()


def _check_fields(session: Session, meeting: Meeting, fields: dict) -> dict:
    """Cleaned copy of the decision's fields (those present)."""
    clean = dict(fields)
    if "text" in clean:
        clean["text"] = _text(clean["text"], 4_000, "text", "Le texte de la décision", True)
    if "kind" in clean and clean["kind"] not in DECISION_KINDS:
        raise Invalid(
            "kind", f"Type de décision inconnu (possibles : {', '.join(DECISION_KINDS)})."
        )
    if "status" in clean and clean["status"] not in DECISION_STATUSES:
        raise Invalid("status", "Statut de décision inconnu.")
    if "avenant_reference" in clean:
        clean["avenant_reference"] = _text(
            clean["avenant_reference"], 200, "avenant_reference", "La référence d'avenant"
        )
    due_on = clean.get("due_on")
    if due_on is not None and due_on < meeting.held_on:
        raise Invalid(
            "due_on",
            f"L'échéance ({format_date(due_on)}) ne peut pas précéder la réunion qui prend la "
            f"décision ({format_date(meeting.held_on)}).",
        )
    partner_id = clean.get("owner_partner_id")
    if partner_id is not None:
        partner = session.get(Partner, partner_id)
        if partner is None or partner.contract_id != meeting.contract_id:
            raise Invalid("owner_partner_id", "Partenaire inconnu dans ce contrat.")
    contact_id = clean.get("owner_contact_id")
    if contact_id is not None:
        contact = session.get(PartnerContact, contact_id)
        if contact is None or contact.partner_id != partner_id:
            raise Invalid(
                "owner_contact_id", "Ce contact n'appartient pas au partenaire responsable."
            )
    return clean


def decision_snapshot(session: Session, decision: Decision) -> dict:
    data = snapshot(decision)
    decision_id = stored_id(decision)
    data["links"] = links_of(session, [decision_id])[decision_id]
    return data


def create_decision(
    session: Session,
    principal: Principal,
    meeting: Meeting,
    *,
    fields: dict,
    links: dict[str, list[int]] | None = None,
) -> Decision:
    """Record a decision of a meeting that was held (numbered in order of entry)."""
    require_manager(principal, meeting.contract_id)
    if meeting.status == "prevue":
        raise Conflict(
            f"Le {meeting_label(meeting)} n'est pas encore tenu : déclarez-le tenu avant "
            "d'enregistrer ses décisions.",
            "meeting_id",
        )
    if meeting.status == "releve_diffuse":
        raise Conflict(
            f"Le relevé de décisions du {meeting_label(meeting)} est déjà diffusé : "
            "aucune décision ne peut plus y être ajoutée.",
            "meeting_id",
        )
    fields = {"kind": "action", **fields}
    if "owner_partner_id" not in fields:
        fields["owner_partner_id"] = None
    clean = _check_fields(session, meeting, fields)
    if "text" not in clean:
        raise Invalid("text", "Le texte de la décision ne peut pas être vide.")
    links = links or {}
    _check_links(session, meeting.contract_id, links)
    number = clean.pop("number", None) or (
        session.execute(
            select(func.coalesce(func.max(Decision.number), 0)).where(
                Decision.meeting_id == meeting.id
            )
        ).scalar_one()
        + 1
    )
    taken = session.execute(
        select(Decision.id).where(Decision.meeting_id == meeting.id, Decision.number == number)
    ).first()
    if taken:
        raise Conflict(f"La décision n\u00a0{number} existe déjà pour cette instance.", "number")
    decision = Decision(
        contract_id=meeting.contract_id,
        meeting_id=meeting.id,
        number=number,
        created_by_id=principal.user_id,
        **clean,
    )
    session.add(decision)
    session.flush()
    _replace_links(session, decision, links)
    _audit_decision(session, principal, "create", decision, None)
    return decision


def update_decision(
    session: Session,
    principal: Principal,
    decision: Decision,
    *,
    fields: dict,
    links: dict[str, list[int]] | None = None,
    as_of: date,
) -> Decision:
    """Change what the decision says, who owns it, its due date or links. Once the relevé
    is sent its text is frozen: it is amended with a trace (`add_update(text=...)`)."""
    require_manager(principal, decision.contract_id)
    meeting = session.get(Meeting, decision.meeting_id)
    status = fields.pop("status", None)
    if "owner_partner_id" in fields and "owner_contact_id" not in fields:
        fields["owner_contact_id"] = None
    if "owner_contact_id" in fields and "owner_partner_id" not in fields:
        fields["owner_partner_id"] = decision.owner_partner_id
    clean = _check_fields(session, meeting, fields)
    if meeting.status == "releve_diffuse" and "text" in clean and clean["text"] != decision.text:
        raise Conflict(
            "Le relevé de décisions est diffusé : le texte de la décision ne peut plus être "
            "modifié. Amendez-le en ajoutant un suivi motivé (le texte d'origine est gardé).",
            "text",
        )
    if links is not None:
        _check_links(session, decision.contract_id, links)
    before = decision_snapshot(session, decision)
    for key, value in clean.items():
        setattr(decision, key, value)
    decision.updated_at = utcnow()
    session.add(decision)
    session.flush()
    if links is not None:
        _replace_links(session, decision, links)
    _audit_decision(session, principal, "update", decision, before)
    if status is not None and status != decision.status:
        add_update(session, principal, decision, status=status, comment="", as_of=as_of)
    return decision


def add_update(
    session: Session,
    principal: Principal,
    decision: Decision,
    *,
    comment: str,
    status: str | None = None,
    text: str | None = None,
    as_of: date,
) -> DecisionUpdate:
    """One dated step of the follow-up: a comment, a status change, or (managers only) an
    amendment of the text, whose old version is kept."""
    if not scoping.can_follow_up_decision(principal, decision):
        raise Forbidden("Vous ne pouvez pas suivre cette décision.")
    comment = _text(comment, 4_000, "comment", "Le commentaire")
    if status is not None and status not in DECISION_STATUSES:
        raise Invalid("status", "Statut de décision inconnu.")
    new_text = None
    if text is not None:
        require_manager(principal, decision.contract_id)
        new_text = _text(text, 4_000, "text", "Le texte de la décision", required=True)
        if not comment:
            raise Invalid("comment", "Un amendement du texte doit être motivé.")
    if status is None and new_text is None and not comment:
        raise Invalid("comment", "Le suivi est vide : écrivez un commentaire ou changez le statut.")
    before = snapshot(decision)
    update = DecisionUpdate(
        decision_id=decision.id,
        on=as_of,
        comment=comment,
        old_status=decision.status if status and status != decision.status else None,
        new_status=status if status and status != decision.status else None,
        old_text=decision.text if new_text and new_text != decision.text else None,
        author_id=principal.user_id,
        author_label=principal.label[:200],
    )
    if update.new_status:
        decision.status = update.new_status
    if new_text is not None and update.old_text is not None:
        decision.text = new_text
    decision.updated_at = utcnow()
    session.add(update)
    session.add(decision)
    session.flush()
    after = snapshot(decision)
    after["update"] = snapshot(update)
    _audit_decision(session, principal, "update", decision, before, after)
    return update


def _note(session, principal, decision, comment: str, as_of: date) -> None:
    """A follow-up entry written by an effect of the decision (no status change)."""
    session.add(
        DecisionUpdate(
            decision_id=decision.id,
            on=as_of,
            comment=comment,
            author_id=principal.user_id,
            author_label=principal.label[:200],
        )
    )
    session.flush()


# -- effects -------------------------------------------------------------------------------------


def _linked_commitments(session: Session, decision: Decision) -> list[Commitment]:
    decision_id = stored_id(decision)
    ids = links_of(session, [decision_id])[decision_id]["commitment"]
    if not ids:
        raise Invalid(
            "commitment_ids", "Cette décision ne vise aucun engagement : liez-la d'abord."
        )
    return list(
        session.scalars(select(Commitment).where(Commitment.id.in_(ids)).order_by(Commitment.code))
    )


def apply_to_commitments(
    session: Session,
    principal: Principal,
    decision: Decision,
    *,
    start_date: date | None = None,
    end_date: date | None = None,
    as_of: date,
) -> list[Commitment]:
    """Carry out a `reprogrammation` (new period) or an `abandon` (status `abandonne`) on
    the decision's commitments, through the commitments service (audited there, the audit
    row naming the decision; a follow-up entry says what changed)."""
    require_manager(principal, decision.contract_id)
    if decision.kind not in ("reprogrammation", "abandon"):
        raise Invalid(
            "kind", "Seule une décision de reprogrammation ou d'abandon modifie des engagements."
        )
    if decision.kind == "reprogrammation" and start_date is None and end_date is None:
        raise Invalid("end_date", "Indiquez la nouvelle période de l'engagement.")
    meeting = session.get(Meeting, decision.meeting_id)
    contract = session.get(Contract, decision.contract_id)
    reference = decision_reference(decision, meeting)
    changed = []
    for commitment in _linked_commitments(session, decision):
        fields: dict[str, str | date] = {}
        if decision.kind == "abandon":
            fields["status"] = "abandonne"
            what = f"Engagement {commitment.code} abandonné"
        else:
            if start_date is not None:
                fields["start_date"] = start_date
            if end_date is not None:
                fields["end_date"] = end_date
            what = (
                f"Engagement {commitment.code} reprogrammé du "
                f"{format_date(start_date or commitment.start_date)} au "
                f"{format_date(end_date or commitment.end_date)}"
            )
        update_commitment(
            session,
            contract,
            commitment,
            version=commitment.version,
            fields=fields,
            partners=None,
            quartier_ids=None,
            amounts=None,
            actor_id=principal.user_id,
            actor_label=f"{principal.label} ({reference})"[:200],
        )
        _note(session, principal, decision, f"{what} ({reference}).", as_of)
        changed.append(commitment)
    applied = {"applied_to_commitment_ids": [c.id for c in changed], "kind": decision.kind}
    _audit_decision(session, principal, "update", decision, None, applied)
    return changed


def revise_target_by_decision(
    session: Session,
    principal: Principal,
    decision: Decision,
    target: Target,
    *,
    value: float,
    reason: str = "",
    avenant_reference: str = "",
    as_of: date,
) -> TargetRevision:
    """Carry out a `revision_cible` decision on one target (of a linked indicator, or one
    the decision then links): a revision of kind `avenant` (or `revue_mi_parcours` for a
    mid-term review) that names the decision."""
    require_manager(principal, decision.contract_id)
    indicator = session.get(Indicator, target.indicator_id)
    if indicator is None or indicator.contract_id != decision.contract_id:
        raise NotFound("Cible introuvable.")
    meeting = session.get(Meeting, decision.meeting_id)
    avenant = avenant_reference or decision.avenant_reference
    revision = revise_target(
        session,
        session.get(Contract, decision.contract_id),
        indicator,
        target,
        value=value,
        kind="revue_mi_parcours" if meeting.kind == "revue_mi_parcours" else "avenant",
        reason=reason or decision.text,
        actor_id=principal.user_id,
        decision_id=decision.id,
        avenant_reference=avenant,
        require_decision=True,
    )
    decision_id = stored_id(decision)
    links = links_of(session, [decision_id])[decision_id]
    if indicator.id not in links["indicator"]:
        session.add(
            DecisionLink(decision_id=decision.id, target_kind="indicator", target_id=indicator.id)
        )
    _note(
        session,
        principal,
        decision,
        f"Cible {format_date(target.target_date)} de {indicator.code} révisée : "
        f"{format_number(revision.old_value, 2)} → {format_number(revision.new_value, 2)}"
        + (f" ({avenant})" if avenant else "")
        + ".",
        as_of,
    )
    return revision


# -- follow-up in the next COPIL report ----------------------------------------------------------


@dataclass(frozen=True)
class FollowUpLine:
    number: int
    text: str
    kind_label: str
    status: str
    status_label: str
    owner: str
    due_on: date | None
    overdue: bool
    # What happened since the meeting on the decision's indicators: « IND-03 : 2 mesures,
    # dernière 45 au 10 mars 2026 », or « aucune mesure depuis le comité ».
    indicator_news: list[str]
    last_comment: str


@dataclass(frozen=True)
class FollowUp:
    meeting_label: str
    held_on: date
    lines: list[FollowUpLine]

    @property
    def overdue_count(self) -> int:
        return sum(1 for line in self.lines if line.overdue)


def previous_meeting_follow_up(session: Session, contract_id: int, as_of: date) -> FollowUp | None:
    """The decisions of the last meeting held before `as_of` that took any, overdue first
    then by due date, each with its status and what its indicators did since."""
    meeting = session.execute(
        select(Meeting)
        .where(
            Meeting.contract_id == contract_id,
            Meeting.held_on < as_of,
            Meeting.id.in_(select(Decision.meeting_id)),
        )
        .order_by(Meeting.held_on.desc(), Meeting.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if meeting is None:
        return None
    decisions = list(
        session.execute(select(Decision).where(Decision.meeting_id == meeting.id)).scalars()
    )
    partners: dict[int, str] = dict(
        session.execute(
            select(Partner.id, Partner.name).where(Partner.contract_id == contract_id)
        ).all()
    )
    links = links_of(session, [d.id for d in decisions])
    indicator_ids = {i for v in links.values() for i in v["indicator"]}
    codes: dict[int, str] = dict(
        session.execute(
            select(Indicator.id, Indicator.code).where(Indicator.id.in_(indicator_ids))
        ).all()
    )
    news: dict[int, str] = {}
    for indicator_id in indicator_ids:
        rows = session.execute(
            select(Measurement.measured_on, Measurement.value)
            .where(
                Measurement.indicator_id == indicator_id,
                Measurement.superseded_by_id.is_(None),
                Measurement.measured_on > meeting.held_on,
                Measurement.measured_on <= as_of,
            )
            .order_by(Measurement.measured_on)
        ).all()
        code = codes.get(indicator_id, "?")
        if rows:
            day, value = rows[-1]
            count = len(rows)
            news[indicator_id] = (
                f"{code} : {count} mesure{'s' if count > 1 else ''} depuis le comité, "
                f"dernière {format_number(value, 2)} au {format_date(day)}"
            )
        else:
            news[indicator_id] = f"{code} : aucune mesure depuis le comité"
    last_comments = {}
    for update in session.execute(
        select(DecisionUpdate)
        .where(
            DecisionUpdate.decision_id.in_([d.id for d in decisions]), DecisionUpdate.comment != ""
        )
        .order_by(DecisionUpdate.on, DecisionUpdate.id)
    ).scalars():
        last_comments[update.decision_id] = f"{format_date(update.on)} : {update.comment}"
    lines = [
        FollowUpLine(
            number=d.number,
            text=d.text,
            kind_label=DECISION_KIND_LABELS[d.kind],
            status=d.status,
            status_label=DECISION_STATUS_LABELS[d.status],
            owner=partners.get(d.owner_partner_id, ""),
            due_on=d.due_on,
            overdue=is_overdue(d, as_of),
            indicator_news=[news[i] for i in links[d.id]["indicator"]],
            last_comment=last_comments.get(d.id, ""),
        )
        for d in decisions
    ]
    lines.sort(key=lambda line: (not line.overdue, line.due_on or date.max, line.number))
    return FollowUp(meeting_label=meeting_label(meeting), held_on=meeting.held_on, lines=lines)


# -- overdue alerts (daily check) ----------------------------------------------------------------


@dataclass(frozen=True)
class DecisionCheck:
    opened: int
    resolved: int


def check_decisions(session: Session, *, contract_id: int, as_of: date) -> DecisionCheck:
    """Open a `decision_overdue` alert for each open decision past its due date, resolve
    those that no longer are (done, abandoned, or given a later date). Never commits."""
    late = {stored_id(d) for d in overdue_decisions(session, contract_id, as_of)}
    open_alerts = {
        a.decision_id: a
        for a in session.execute(
            select(DecisionAlert).where(
                DecisionAlert.contract_id == contract_id, DecisionAlert.resolved_on.is_(None)
            )
        ).scalars()
    }
    for decision_id in sorted(late - set(open_alerts)):
        session.add(
            DecisionAlert(contract_id=contract_id, decision_id=decision_id, opened_on=as_of)
        )
    resolved = [a for decision_id, a in open_alerts.items() if decision_id not in late]
    for alert in resolved:
        alert.resolved_on = as_of
        session.add(alert)
    session.flush()
    return DecisionCheck(opened=len(late - set(open_alerts)), resolved=len(resolved))


# -- original vs revised targets -----------------------------------------------------------------


@dataclass(frozen=True)
class RevisionStep:
    old_value: float
    new_value: float
    kind: str
    revised_on: date
    reason: str
    avenant: str
    decision_id: int | None
    decision_label: str  # « décision n° 5 du comité de pilotage du 25 novembre 2025 »


@dataclass(frozen=True)
class TargetLine:
    target_date: date
    original: float  # the contract's value, before any revision
    current: float  # the value evaluation uses
    steps: list[RevisionStep]

    @property
    def revised(self) -> bool:
        return bool(self.steps)


def revision_steps(
    session: Session, *, contract_id: int | None = None, target_ids=None
) -> dict[int, list[RevisionStep]]:
    """The revisions of targets (of a contract's indicators, or of the given targets), in
    order, with the decision and avenant of each: target id -> steps. Targets never revised
    are absent. One query, for exports as for a single indicator."""
    query = (
        select(TargetRevision, Decision, Meeting)
        .outerjoin(Decision, Decision.id == TargetRevision.decision_id)
        .outerjoin(Meeting, Meeting.id == Decision.meeting_id)
        .order_by(TargetRevision.revised_at, TargetRevision.id)
    )
    if target_ids is not None:
        query = query.where(TargetRevision.target_id.in_(list(target_ids)))
    if contract_id is not None:
        query = (
            query.join(Target, Target.id == TargetRevision.target_id)
            .join(Indicator, Indicator.id == Target.indicator_id)
            .where(Indicator.contract_id == contract_id)
        )
    steps: dict[int, list[RevisionStep]] = {}
    for revision, decision, meeting in session.execute(query).all():
        steps.setdefault(revision.target_id, []).append(
            RevisionStep(
                old_value=revision.old_value,
                new_value=revision.new_value,
                kind=revision.kind,
                revised_on=revision.revised_at.date(),
                reason=revision.reason,
                avenant=revision.avenant_reference
                or (decision.avenant_reference if decision else ""),
                decision_id=decision.id if decision else None,
                decision_label=decision_reference(decision, meeting) if decision else "",
            )
        )
    return steps


def target_line(target: Target, steps: list[RevisionStep]) -> TargetLine:
    """A target's original contract value (before its first revision) next to its value."""
    return TargetLine(
        target_date=target.target_date,
        original=steps[0].old_value if steps else target.value,
        current=target.value,
        steps=steps,
    )


def target_history(session: Session, indicator_id: int) -> list[TargetLine]:
    """Each target of the indicator: its original contract value next to the revised one,
    with the decision and avenant of every revision."""
    targets = list(
        session.scalars(
            select(Target).where(Target.indicator_id == indicator_id).order_by(Target.target_date)
        )
    )
    steps = revision_steps(session, target_ids=[t.id for t in targets])
    return [target_line(t, steps.get(t.id, [])) for t in targets]
