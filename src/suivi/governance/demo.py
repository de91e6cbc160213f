"""The demo's committee cycle: the meetings before the demo day are held, and the autumn 2025
COPIL took twelve decisions — some done, some late, two target revisions prepared for the
mid-term review — so that the next COPIL report's follow-up section, the overdue alerts and
the reminders show at once. Invented, deterministic (no randomness), like the rest of the
demo; written directly as rows, as the demo seed does."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from suivi.commitments.models import Commitment
from suivi.contract.models import Contract
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.governance.models import AgendaItem
from suivi.governance.models import Decision
from suivi.governance.models import DecisionLink
from suivi.governance.models import DecisionUpdate
from suivi.governance.models import MeetingParticipant
from suivi.indicators.models import Indicator
from suivi.indicators.models import Target
from suivi.indicators.models import TargetRevision

AUTUMN_2025 = date(2025, 11, 25)
AVENANT = "Avenant n° 1 du 12 mai 2026 (préparation de la revue à mi-parcours)"
AVENANT_SIGNED = datetime(2026, 5, 12, 10, 0, tzinfo=UTC)

# (partner code, text, kind, due date, [(day, status or None, comment)])
DECISIONS: tuple[tuple[str, str, str, date, list[tuple[date, str | None, str]]], ...] = (
    ("france-travail", "Ouvrir une permanence emploi hebdomadaire dans chaque quartier de Lens.",
     "action", date(2026, 3, 31),
     [(date(2026, 2, 2), "en_cours", "Deux permanences ouvertes sur quatre."),
      (date(2026, 3, 27), "realisee", "Les quatre permanences fonctionnent.")]),
    ("departement-62", "Présenter au prochain COTECH le bilan des clauses sociales d'insertion.",
     "action", date(2026, 5, 20), [(date(2026, 5, 20), "realisee", "Bilan présenté.")]),
    ("maisons-et-cites", "Engager la réhabilitation thermique de la cité 12-14 (tranche 1).",
     "action", date(2026, 6, 30),
     [(date(2026, 4, 14), "en_cours", "Appel d'offres lancé ; notification attendue.")]),
    ("caf-62", "Étendre l'accompagnement à la parentalité aux quartiers de Liévin.",
     "action", date(2026, 9, 30), []),
    ("region-hdf", "Réviser à la baisse la cible de l'indicateur suspendu (préparation de la "
     "revue à mi-parcours).", "revision_cible", date(2026, 6, 30),
     [(date(2026, 5, 12), "realisee", "Cible révisée par l'avenant n° 1.")]),
    ("call", "Réviser la cible finale de l'indicateur suspendu au vu de la reprise prévue.",
     "revision_cible", date(2026, 6, 30),
     [(date(2026, 5, 12), "realisee", "Cible révisée par l'avenant n° 1.")]),
    ("mission-locale", "Organiser un forum de l'alternance par bassin de vie.",
     "action", date(2026, 4, 30),
     [(date(2026, 4, 28), "realisee", "Forums tenus à Lens et Liévin.")]),
    ("ddets-62", "Reprogrammer l'action « chantiers éducatifs » sur 2027.",
     "reprogrammation", date(2026, 2, 28), []),
    ("sia-habitat", "Renforcer la gestion urbaine de proximité aux abords des écoles.",
     "action", date(2026, 10, 31),
     [(date(2026, 7, 1), "en_cours", "Diagnostic en marchant réalisé.")]),
    ("dsden-62", "Abandonner le dispositif de tutorat remplacé par les Cités éducatives.",
     "abandon", date(2026, 1, 31),
     [(date(2026, 1, 15), "realisee", "Dispositif clos.")]),
    ("prefecture-62", "Inscrire le point d'étape de l'évaluation au COPIL 2026.",
     "information", date(2026, 12, 8), []),
    ("pdc-habitat", "Présenter le plan de relogement lié aux démolitions.",
     "action", date(2027, 3, 31), []),
)  # fmt: skip


def add_demo_decisions(session: Session, contract: Contract, as_of: date) -> None:
    meetings = list(
        session.execute(
            select(Meeting).where(Meeting.contract_id == contract.id).order_by(Meeting.held_on)
        ).scalars()
    )
    for meeting in meetings:
        if meeting.held_on <= as_of:
            meeting.status = "tenue"
            session.add(meeting)
    copil = next((m for m in meetings if m.held_on == AUTUMN_2025), None)
    if copil is None or copil.held_on > as_of:
        return
    partners = {
        p.code: p
        for p in session.execute(select(Partner).where(Partner.contract_id == contract.id))
        .scalars()
        .all()
    }
    for code in sorted({d[0] for d in DECISIONS}):
        session.add(MeetingParticipant(meeting_id=copil.id, partner_id=partners[code].id))
    session.add(
        AgendaItem(
            meeting_id=copil.id,
            position=1,
            title="Bilan de la première année du contrat",
            source="libre",
        )
    )
    revisions = iter(_revisable_targets(session, contract))
    for number, (code, text, kind, due_on, updates) in enumerate(DECISIONS, start=1):
        partner = partners[code]
        decision = Decision(
            contract_id=contract.id,
            meeting_id=copil.id,
            number=number,
            owner_partner_id=partner.id,
            owner_contact_id=_first_contact_id(session, partner),
            text=text,
            kind=kind,
            due_on=due_on,
            status=_status_on(updates, as_of),
            avenant_reference=AVENANT if kind == "revision_cible" else "",
        )
        session.add(decision)
        session.flush()
        previous = "ouverte"
        for day, new_status, comment in updates:
            if day > as_of:
                continue
            session.add(
                DecisionUpdate(
                    decision_id=decision.id,
                    on=day,
                    comment=comment,
                    old_status=previous if new_status else None,
                    new_status=new_status,
                    author_label="Camille Chef de projet (Lens)",
                )
            )
            previous = new_status or previous
        if kind == "revision_cible" and AVENANT_SIGNED.date() <= as_of:
            _revise(session, decision, *next(revisions))
    session.flush()


def _first_contact_id(session: Session, partner: Partner) -> int | None:
    """The partner's first contact: the one who carries its decisions in the demo."""
    return session.execute(
        select(PartnerContact.id)
        .where(PartnerContact.partner_id == partner.id)
        .order_by(PartnerContact.id)
    ).scalar()


def _status_on(updates: list, as_of: date) -> str:
    """A decision's status on `as_of`: the last status its follow-up had set by then."""
    status = "ouverte"
    for day, new_status, _ in updates:
        if day <= as_of and new_status:
            status = new_status
    return status


def _revisable_targets(session: Session, contract: Contract) -> list[tuple[Indicator, Target]]:
    """Final targets of indicators of suspended commitments: revising them for the restart
    leaves every roll-up and alert of the demo as it was (suspended work is not judged)."""
    rows = session.execute(
        select(Indicator, Target)
        .join(Commitment, Commitment.id == Indicator.commitment_id)
        .join(Target, Target.indicator_id == Indicator.id)
        .where(Commitment.contract_id == contract.id, Commitment.status == "suspendu")
        .order_by(Indicator.id, Target.target_date.desc())
    ).all()
    chosen: dict[int, tuple[Indicator, Target]] = {}
    for indicator, target in rows:
        chosen.setdefault(indicator.id, (indicator, target))
    return list(chosen.values())[:2]


def _revise(session: Session, decision: Decision, indicator: Indicator, target: Target) -> None:
    # Lower the remaining gap to the target by a fifth (a rise for an indicator meant to
    # fall): the kind of reduction a mid-term review makes.
    new_value = round(target.value - (target.value - indicator.baseline_value) / 5, 1)
    session.add(
        TargetRevision(
            target_id=target.id,
            old_value=target.value,
            new_value=new_value,
            kind="avenant",
            reason=decision.text,
            decision_id=decision.id,
            avenant_reference=AVENANT,
            revised_at=AVENANT_SIGNED,
        )
    )
    target.value = new_value
    session.add(target)
    session.add(
        DecisionLink(decision_id=decision.id, target_kind="indicator", target_id=indicator.id)
    )
    decision.text = f"{decision.text} ({indicator.code})"
    session.add(decision)
