"""Weekly reminder digests: one email per person, never one per item.

Recipients: active project managers (``chef_de_projet``) and partner contributors
(``partenaire``) of each contract. Each gets the indicators *they* are expected to update —
the ones whose measurements `suivi.scoping` lets them log — that are overdue or due soon,
with a direct link to each. An indicator overdue for more than
`[reminders] escalate_after_days` is escalated: it heads the digest of the project managers
in charge (their scope covers it), and the partner's digest says it has been escalated.

The deduplication key is ``reminder:user:{id}:{ISO week}``: a rerun in the same week, or a
run killed half-way then restarted, sends each digest once (see `delivery`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Engine, select
from sqlmodel import Session

from suivi.auth.models import User, UserContract
from suivi.auth.principal import load_principal
from suivi.commitments.models import Commitment
from suivi.config import Settings
from suivi.contract.models import Contract, Meeting, Partner, Quartier
from suivi.db import session_scope, utcnow
from suivi.governance.service import meeting_label, overdue_decisions
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.models import Indicator
from suivi.labels import ROLE_LABELS
from suivi.notifications.delivery import deliver_all
from suivi.notifications.email import OutgoingEmail, Transport, render_email
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

    @property
    def empty(self) -> bool:
        return not (self.escalated or self.overdue or self.due_soon or self.decisions)

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
        items[key] = ReminderItem(
            indicator_id=key,
            code=item.code,
            name=item.name,
            commitment_code=commitment_code,
            partner=partner,
            quartier=quartiers.get(item.quartier_id, "") if item.quartier_id else "",
            freshness=ev.freshness,
            overdue_since=ev.overdue_since,
            next_due=ev.next_due,
            days_late=(as_of - ev.overdue_since).days if ev.overdue_since else 0,
            url=indicator_url(settings, key),
        )
    return items


def plan_reminders(session: Session, settings: Settings, *, as_of: date) -> list[Digest]:
    """The digests to send for `as_of`, one per person with something due, in user order."""
    escalate_after = settings.reminders.escalate_after_days
    digests: dict[int, Digest] = {}
    contracts = session.execute(select(Contract).order_by(Contract.id)).scalars().all()
    for contract in contracts:
        items = _due_items(session, settings, contract_id=contract.id, as_of=as_of)
        decisions = _overdue_decisions(session, settings, contract.id, as_of)
        if not items and not decisions:
            continue
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
            if not mine and not my_decisions:
                continue
            digest = digests.setdefault(
                user.id, Digest(user.id, user.email, user.full_name or user.email, user.role)
            )
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
    late = len(digest.decisions)
    if count:
        subject = (
            f"Suivi du contrat de ville — {count} indicateur{'s' if count > 1 else ''} "
            f"à mettre à jour (semaine {week_number})"
        )
    else:
        subject = (
            f"Suivi du contrat de ville — {late} décision{'s' if late > 1 else ''} du comité "
            f"en retard (semaine {week_number})"
        )
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


def send_reminders(
    engine: Engine,
    settings: Settings,
    *,
    as_of: date,
    run_started_at: datetime | None = None,
    respect_backoff: bool = True,
    transport: Transport | None = None,
    **options,
) -> dict[str, int]:
    """Plan the week's digests (one read transaction), then deliver them one by one."""
    run_started_at = run_started_at or utcnow()
    with session_scope(engine) as session:
        digests = plan_reminders(session, settings, as_of=as_of)
    messages = [reminder_email(settings, digest, as_of=as_of) for digest in digests]
    counts = deliver_all(
        engine,
        settings,
        messages,
        run_started_at=run_started_at,
        respect_backoff=respect_backoff,
        transport=transport,
        **options,
    )
    return {"recipients": len(messages), **counts}
