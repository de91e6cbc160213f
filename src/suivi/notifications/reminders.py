"""Weekly reminder digests: one email per person, never one per item.

Recipients: active project managers (``chef_de_projet``) and partner contributors
(``partenaire``) of each contract. Each gets the indicators *they* are expected to update —
the ones whose measurements `suivi.scoping` lets them log — that are overdue or due soon,
with a direct link to each. An indicator overdue for more than
`[reminders] escalate_after_days` is escalated: it heads the digest of the project managers
in charge (their scope covers it), and the partner's digest says it has been escalated.

Figures (issue #18): a validator's digest has a « à valider » section, the figures of their
partners waiting for them (those waiting longer than `[validation] escalate_after_days`
first, flagged); an author's digest lists their figures returned for correction; a project
manager's lists the figures of their scope waiting for validation past that delay.

The deduplication key is ``reminder:user:{id}:{ISO week}``: a rerun in the same week, or a
run killed half-way then restarted, sends each digest once (see `delivery`).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date

from sqlalchemy import Engine
from sqlalchemy import select
from sqlmodel import Session

from suivi.auth.models import User
from suivi.auth.models import UserContract
from suivi.auth.principal import load_principal
from suivi.commitments.models import Commitment
from suivi.config import Settings
from suivi.contract.models import Contract
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import Quartier
from suivi.db import session_scope
from suivi.governance.service import meeting_label
from suivi.governance.service import overdue_decisions
from suivi.indicators import review
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.labels import ROLE_LABELS
from suivi.notifications.email import OutgoingEmail
from suivi.notifications.email import render_email
from suivi.notifications.sending import Planned
from suivi.notifications.sending import Sender
from suivi.records import view_of
from suivi.scoping import measurement_commitment_condition

REMINDER_ROLES = ("chef_de_projet", "partenaire")


def iso_week(day: date) -> str:
    """« 2026-W48 »: the period of a weekly digest."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def indicator_url(settings: Settings, indicator_id: int) -> str:
    return f"{settings.app.base_url.rstrip('/')}/indicateurs/{indicator_id}"


@dataclass(frozen=True)
class ReminderItem:
    indicator_id: int
    code: str
    name: str
    commitment_code: str
    partner: str
    quartier: str
    freshness: str  # "overdue" or "due_soon"
    overdue_since: date | None
    next_due: date | None
    days_late: int
    url: str


@dataclass(frozen=True)
class DecisionItem:
    """A committee decision past its due date, owned by the recipient's partner (or, for a
    project manager, any of the contract)."""

    decision_id: int
    number: int
    meeting: str
    text: str
    owner: str
    due_on: date
    days_late: int
    url: str


@dataclass(frozen=True)
class FigureItem:
    """A figure waiting for validation, or returned to its author."""

    measurement_id: int
    code: str
    name: str
    unit: str
    measured_on: date
    value: float
    days_waiting: int
    escalated: bool
    return_reason: str
    url: str


@dataclass
class Digest:
    user_id: int
    email: str
    name: str
    role: str
    contract_names: list[str] = field(default_factory=list)
    is_demo: bool = False
    escalated: list[ReminderItem] = field(default_factory=list)
    overdue: list[ReminderItem] = field(default_factory=list)
    due_soon: list[ReminderItem] = field(default_factory=list)
    decisions: list[DecisionItem] = field(default_factory=list)
    to_validate: list[FigureItem] = field(default_factory=list)
    returned: list[FigureItem] = field(default_factory=list)
    late_validations: list[FigureItem] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.escalated
            or self.overdue
            or self.due_soon
            or self.decisions
            or self.to_validate
            or self.returned
            or self.late_validations
        )

    def indicator_ids(self) -> set[int]:
        return {item.indicator_id for item in self.escalated + self.overdue + self.due_soon}


def _due_items(
    session: Session, settings: Settings, *, contract_id: int, as_of: date
) -> dict[int, ReminderItem]:
    """Overdue and due-soon indicators of active commitments (constant number of queries)."""
    evaluated = evaluate_indicators(session, contract_id=contract_id, as_of=as_of)
    due = {
        key: item
        for key, item in evaluated.items()
        if item.evaluation is not None and item.evaluation.freshness in ("overdue", "due_soon")
    }
    if not due:
        return {}
    commitment_ids = {item.commitment_id for item in due.values()}
    commitments = {
        row.id: (row.code, row.name)
        for row in session.execute(
            select(Commitment.id, Commitment.code, Partner.name)
            .join(Partner, Partner.id == Commitment.lead_partner_id)
            .where(Commitment.id.in_(commitment_ids))
        )
    }
    quartier_ids = {item.quartier_id for item in due.values() if item.quartier_id}
    quartiers = dict(
        session.execute(
            select(Quartier.id, Quartier.name).where(Quartier.id.in_(quartier_ids))
        ).all()
    )
    items = {}
    for key, item in sorted(due.items(), key=lambda pair: pair[1].code):
        ev = item.evaluation
        commitment_code, partner = commitments[item.commitment_id]
        # The evaluation gives the freshness and the dates.
        items[key] = view_of(
            ReminderItem,
            ev,
            indicator_id=key,
            code=item.code,
            name=item.name,
            commitment_code=commitment_code,
            partner=partner,
            quartier=quartiers.get(item.quartier_id, "") if item.quartier_id else "",
            days_late=(as_of - ev.overdue_since).days if ev.overdue_since else 0,
            url=indicator_url(settings, key),
        )
    return items


def _figure_items(session, settings, query, *, contract_id: int, as_of: date, url: str):
    rows = session.execute(
        query.add_columns(Indicator.code, Indicator.name, Indicator.unit)
        .where(Indicator.contract_id == contract_id)
        .order_by(Measurement.entered_at, Measurement.id)
    ).all()
    escalate_after = settings.validation.escalate_after_days
    items = []
    for measurement, code, name, unit in rows:
        waiting = max(0, (as_of - measurement.entered_at.astimezone(settings.tz).date()).days)
        items.append(
            # The measurement gives its date, value and return reason.
            view_of(
                FigureItem,
                measurement,
                measurement_id=measurement.id,
                code=code,
                name=name,
                unit=unit,
                days_waiting=waiting,
                escalated=waiting > escalate_after,
                url=url if url else indicator_url(settings, measurement.indicator_id),
            )
        )
    # The figures waiting past the delay first.
    return sorted(items, key=lambda item: not item.escalated)


def _review_sections(session, settings, principal, *, contract_id: int, as_of: date) -> dict:
    """The digest's figures: to validate, returned to this author, late in their scope."""
    review_url = f"{settings.app.base_url.rstrip('/')}/a-valider"
    args = {"contract_id": contract_id, "as_of": as_of}
    to_validate = _figure_items(
        session, settings, review.to_validate(principal), url=review_url, **args
    )
    returned = _figure_items(
        session,
        settings,
        select(Measurement)
        .join(Indicator, Indicator.id == Measurement.indicator_id)
        .where(
            Measurement.author_id == principal.user_id,
            Measurement.superseded_by_id.is_(None),
            Measurement.status == review.RETURNED,
        ),
        url="",
        **args,
    )
    late = []
    if principal.role == "chef_de_projet":
        mine = {item.measurement_id for item in to_validate}
        waiting = _figure_items(
            session,
            settings,
            select(Measurement)
            .join(Indicator, Indicator.id == Measurement.indicator_id)
            .join(Commitment, Commitment.id == Indicator.commitment_id)
            .where(
                Measurement.superseded_by_id.is_(None),
                Measurement.status == review.SUBMITTED,
                measurement_commitment_condition(principal),
            ),
            url="",
            **args,
        )
        late = [item for item in waiting if item.escalated and item.measurement_id not in mine]
    return {"to_validate": to_validate, "returned": returned, "late_validations": late}


def plan_reminders(session: Session, settings: Settings, *, as_of: date) -> list[Digest]:
    """The digests to send for `as_of`, one per person with something due, in user order."""
    escalate_after = settings.reminders.escalate_after_days
    digests: dict[int, Digest] = {}
    contracts = session.execute(select(Contract).order_by(Contract.id)).scalars().all()
    for contract in contracts:
        items = _due_items(session, settings, contract_id=contract.id, as_of=as_of)
        decisions = _overdue_decisions(session, settings, contract.id, as_of)
        users = session.execute(
            select(User)
            .join(UserContract, UserContract.user_id == User.id)
            .where(
                UserContract.contract_id == contract.id,
                User.is_active,
                User.role.in_(REMINDER_ROLES),
            )
            .order_by(User.id)
        ).scalars()
        for user in users:
            principal = load_principal(session, user)
            # The indicators this person is expected to update (one query per person).
            figures = _review_sections(
                session, settings, principal, contract_id=contract.id, as_of=as_of
            )
            mine = set(
                session.execute(
                    select(Indicator.id).where(
                        Indicator.id.in_(list(items)),
                        Indicator.commitment_id.in_(
                            select(Commitment.id).where(
                                Commitment.contract_id == contract.id,
                                measurement_commitment_condition(principal),
                            )
                        ),
                    )
                ).scalars()
            )
            my_decisions = [
                item
                for owner_id, item in decisions
                if user.role == "chef_de_projet" or owner_id == user.partner_id
            ]
            if not mine and not my_decisions and not any(figures.values()):
                continue
            digest = digests.setdefault(
                user.id, Digest(user.id, user.email, user.full_name or user.email, user.role)
            )
            for section, figure_items in figures.items():
                getattr(digest, section).extend(figure_items)
            digest.contract_names.append(contract.name)
            digest.is_demo = digest.is_demo or contract.is_demo
            for indicator_id in sorted(mine, key=lambda key: items[key].code):
                item = items[indicator_id]
                if item.freshness == "due_soon":
                    digest.due_soon.append(item)
                elif item.days_late > escalate_after:
                    digest.escalated.append(item)
                else:
                    digest.overdue.append(item)
            digest.decisions.extend(my_decisions)
    return [digest for _, digest in sorted(digests.items()) if not digest.empty]


def _overdue_decisions(
    session: Session, settings: Settings, contract_id: int, as_of: date
) -> list[tuple[int | None, DecisionItem]]:
    """(owner partner id, item) of the contract's decisions past their due date."""
    decisions = overdue_decisions(session, contract_id, as_of)
    if not decisions:
        return []
    meetings = {
        m.id: m
        for m in session.execute(
            select(Meeting).where(Meeting.id.in_({d.meeting_id for d in decisions}))
        ).scalars()
    }
    partners = dict(
        session.execute(
            select(Partner.id, Partner.name).where(Partner.contract_id == contract_id)
        ).all()
    )
    base = settings.app.base_url.rstrip("/")
    return [
        (
            d.owner_partner_id,
            DecisionItem(
                decision_id=d.id,
                number=d.number,
                meeting=meeting_label(meetings[d.meeting_id]),
                text=d.text,
                owner=partners.get(d.owner_partner_id, ""),
                due_on=d.due_on,
                days_late=(as_of - d.due_on).days,
                url=f"{base}/decisions/{d.id}",
            ),
        )
        for d in decisions
    ]


def reminder_email(settings: Settings, digest: Digest, *, as_of: date) -> OutgoingEmail:
    period = iso_week(as_of)
    week_number = as_of.isocalendar()[1]
    count = len(digest.indicator_ids())
    parts = []
    if count:
        parts.append(f"{count} indicateur{'s' if count > 1 else ''} à mettre à jour")
    if digest.to_validate:
        pending = len(digest.to_validate)
        parts.append(f"{pending} mesure{'s' if pending > 1 else ''} à valider")
    if digest.returned:
        returned = len(digest.returned)
        parts.append(f"{returned} mesure{'s' if returned > 1 else ''} à corriger")
    if digest.decisions:
        late = len(digest.decisions)
        parts.append(f"{late} décision{'s' if late > 1 else ''} du comité en retard")
    if not parts:
        parts.append("validations en attente")
    subject = f"Suivi du contrat de ville — {', '.join(parts)} (semaine {week_number})"
    escalate_after = settings.reminders.escalate_after_days
    if digest.role == "chef_de_projet":
        escalation_text = (
            f"Ces indicateurs n'ont pas été mis à jour depuis plus de {escalate_after} jours "
            "après leur échéance : ils vous sont signalés pour relancer les partenaires."
        )
    else:
        escalation_text = (
            f"Ces retards dépassent {escalate_after} jours : ils ont été signalés aux "
            "chef·fes de projet politique de la ville."
        )
    context = {
        "subject": subject,
        "contract_name": " · ".join(dict.fromkeys(digest.contract_names)),
        "is_demo": digest.is_demo,
        "recipient_name": digest.name,
        "recipient_email": digest.email,
        "role_label": ROLE_LABELS.get(digest.role, digest.role),
        "as_of": as_of,
        "week_number": week_number,
        "escalate_after_days": escalate_after,
        "escalation_text": escalation_text,
        "escalated": digest.escalated,
        "overdue": digest.overdue,
        "due_soon": digest.due_soon,
        "decisions": digest.decisions,
        "to_validate": digest.to_validate,
        "returned": digest.returned,
        "late_validations": digest.late_validations,
        "validation_escalate_after_days": settings.validation.escalate_after_days,
    }
    text, html = render_email(settings, "reminder", context)
    return OutgoingEmail(
        dedup_key=f"reminder:user:{digest.user_id}:{period}",
        kind="reminder",
        period=period,
        recipient=digest.email,
        subject=subject,
        text=text,
        html=html,
        user_id=digest.user_id,
    )


def reminder_messages(engine: Engine, settings: Settings, as_of: date) -> Planned:
    """The week's digests (one read transaction), one message per person."""
    with session_scope(engine) as session:
        digests = plan_reminders(session, settings, as_of=as_of)
    messages = [reminder_email(settings, digest, as_of=as_of) for digest in digests]
    return Planned(messages, {"recipients": len(messages)})


send_reminders = Sender(reminder_messages)
