"""Periodic email summaries for partner contacts: their partner's commitments only.

For each contact due for its frequency (weekly: once per ISO week, monthly: once per calendar
month, ``none`` or unsubscribed: never), one message with where the partner's commitments
stand, what changed since the previous summary, the indicators to update, the next meeting and
the latest partner reports.

Shape: `plan_summaries` reads the database (one read transaction, a bounded number of
queries per partner); `build_summary` is pure (rows and evaluations in, a `PartnerSummary`
out); `summary_email` renders it; `send_partner_summaries` hands the messages to
`suivi.notifications.delivery` (claimed before sending, marked after, deduplication key
``partner_summary:contact:{id}:{period}``), so a rerun, an outage or a crash repeats nothing
and loses nothing — a crash duplicates at most the one message in flight, same Message-ID.

Which commitments a partner sees is decided by `suivi.scoping` (lead or co-partner), as for
a partner account.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy import func
from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.auth.principal import Principal
from suivi.commitments.models import INACTIVE_STATUSES
from suivi.commitments.models import Commitment
from suivi.config import Settings
from suivi.contract.models import Contract
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.contract.models import Quartier
from suivi.contract.models import contract_quartier_ids
from suivi.db import session_scope
from suivi.finance.rollups import overdue_justification_lines
from suivi.formatting import format_date
from suivi.formatting import format_month
from suivi.indicators.evaluation import EvaluatedIndicator
from suivi.indicators.evaluation import evaluate_indicators
from suivi.jobs import JobContext
from suivi.jobs import JobResult
from suivi.jobs import job
from suivi.labels import FRESHNESS_LABELS
from suivi.labels import LIFECYCLE_LABELS
from suivi.labels import MEETING_KIND_LABELS
from suivi.labels import PERFORMANCE_LABELS
from suivi.labels import TONE_SEVERITY
from suivi.labels import forecast_label
from suivi.labels import tone
from suivi.notifications.email import Attachment
from suivi.notifications.email import OutgoingEmail
from suivi.notifications.email import render_email
from suivi.notifications.jobs import run_sender
from suivi.notifications.models import EmailDelivery
from suivi.notifications.reminders import indicator_url
from suivi.notifications.reminders import iso_week
from suivi.notifications.sending import Planned
from suivi.notifications.sending import Sender
from suivi.progress import HEALTH_ORDER
from suivi.progress import commitment_health
from suivi.progress import rollup
from suivi.records import view_of
from suivi.reports.models import ReportFile

log = logging.getLogger(__name__)

SUMMARY_KIND = "partner_summary"
TEMPLATE = "partner_summary"
SUBJECT_PREFIX = "Suivi du contrat de ville"
SUMMARY_FREQUENCIES = ("weekly", "monthly")
FREQUENCY_ADJECTIVES = {"weekly": "hebdomadaire", "monthly": "mensuel"}
# Items listed per section; the rest is counted (« et 4 autres »), the email stays short.
SHORT_LIST = 8
LATEST_REPORTS = 3
# Performances counted in the « where they stand » line, worst first.
COUNTED_PERFORMANCES = HEALTH_ORDER


# -- periods -----------------------------------------------------------------------------


def summary_period(frequency: str, as_of: date) -> str:
    """« 2026-W48 » for a weekly contact, « 2026-11 » for a monthly one."""
    if frequency == "weekly":
        return iso_week(as_of)
    return f"{as_of.year:04d}-{as_of.month:02d}"


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a summary period (« 2026-W48 » or « 2026-11 »)."""
    if "-W" in period:
        year, week = period.split("-W")
        start = date.fromisocalendar(int(year), int(week), 1)
        return start, start + timedelta(days=6)
    year, month = (int(part) for part in period.split("-"))
    start = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return start, following - timedelta(days=1)


def period_phrase(frequency: str, as_of: date) -> str:
    """« novembre 2026 » or « la semaine du 23 novembre 2026 »."""
    if frequency == "weekly":
        monday = as_of - timedelta(days=as_of.weekday())
        return f"la semaine du {format_date(monday)}"
    return format_month(as_of)


def summary_subject(frequency: str, as_of: date) -> str:
    return f"{SUBJECT_PREFIX} — votre point de {period_phrase(frequency, as_of)}"


def summary_dedup_key(contact_id: int, period: str) -> str:
    return f"{SUMMARY_KIND}:contact:{contact_id}:{period}"


def unsubscribe_url(settings: Settings, token: str) -> str:
    return f"{settings.app.base_url.rstrip('/')}/desabonnement/{token}"


def report_url(settings: Settings, report_id: int) -> str:
    # The download route of the reports page (`suivi.web.reports_pages`), which lets a partner
    # account read exactly the partner reports linked here.
    return f"{settings.app.base_url.rstrip('/')}/rapports/{report_id}/telecharger"


def previous_summary_date(period: str, sent_at: datetime, tz: ZoneInfo, as_of: date) -> date:
    """The date the previous summary described: the day it was sent (local time), kept
    within its own period (runs replayed with --as-of send on another day than they
    describe) and never after today's `as_of`."""
    start, end = period_bounds(period)
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=UTC)
    sent_on = sent_at.astimezone(tz).date()
    return min(max(sent_on, start), end, as_of)


# -- the summary (pure) ------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorLine:
    id: int
    code: str
    name: str
    unit: str
    commitment_code: str
    quartier: str
    performance: str
    performance_label: str
    freshness: str
    freshness_label: str
    actual: float | None
    expected: float | None
    progress: float | None
    measured_on: date | None
    next_due: date | None
    overdue_since: date | None
    days_late: int
    forecast_label: str
    url: str


@dataclass(frozen=True)
class CommitmentLine:
    code: str
    title: str
    role: str  # « pilote » or « co-partenaire »
    status_label: str
    health: str | None
    health_label: str
    tone: str
    late: bool
    indicators: int


@dataclass(frozen=True)
class Change:
    code: str
    name: str
    commitment_code: str
    before_label: str
    after_label: str
    better: bool
    url: str


@dataclass(frozen=True)
class ReportLink:
    title: str
    as_of: date
    pages: int
    url: str


@dataclass(frozen=True)
class MeetingInfo:
    kind_label: str
    held_on: date
    title: str
    location: str


@dataclass(frozen=True)
class Short:
    """A list cut to SHORT_LIST items, with the number left out."""

    items: tuple
    more: int = 0

    @classmethod
    def of(cls, items: Iterable) -> Short:
        items = tuple(items)
        return cls(items[:SHORT_LIST], max(0, len(items) - SHORT_LIST))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items) + self.more


@dataclass(frozen=True)
class PartnerSummary:
    contact_id: int
    contact_name: str
    contact_email: str
    contact_role: str
    frequency: str
    unsubscribe_token: str
    partner_id: int
    partner_name: str
    contract_name: str
    is_demo: bool
    as_of: date
    period: str
    previous_as_of: date | None
    commitments: tuple[CommitmentLine, ...]
    # Commitments that need a look (off track, at risk or late), worst first.
    attention: Short
    # (label, count, tone) per commitment health, worst first.
    commitment_counts: tuple[tuple[str, int, str], ...]
    indicator_count: int
    # (label, count, tone) for each performance present, worst first.
    performance_counts: tuple[tuple[str, int, str], ...]
    commitments_late: int
    forecast_miss_count: int
    mean_progress: float | None
    off_track: Short
    at_risk: Short
    forecast_miss: Short
    overdue: Short
    due_soon: Short
    changes: Short
    updated_since: int
    next_meeting: MeetingInfo | None
    reports: tuple[ReportLink, ...]
    # Financial reports overdue on the partner's own lines (`suivi.finance.rollups`), French.
    overdue_justifications: tuple[str, ...] = ()

    @property
    def dedup_key(self) -> str:
        return summary_dedup_key(self.contact_id, self.period)

    @property
    def commitment_codes(self) -> set[str]:
        return {line.code for line in self.commitments}


def _line(
    item: EvaluatedIndicator,
    commitment_code: str,
    quartiers: dict[int, str],
    as_of: date,
    settings: Settings,
) -> IndicatorLine:
    ev = item.evaluation
    final_year = item.spec.targets[-1][0].year if item.spec.targets else None
    # The verdict's figures and dates come from the evaluation, the identity from the item.
    return view_of(
        IndicatorLine,
        ev,
        id=item.id,
        code=item.code,
        name=item.name,
        unit=item.unit,
        commitment_code=commitment_code,
        quartier=quartiers.get(item.quartier_id, "") if item.quartier_id else "",
        performance_label=PERFORMANCE_LABELS[ev.performance],
        freshness_label=FRESHNESS_LABELS[ev.freshness],
        days_late=(as_of - ev.overdue_since).days if ev.overdue_since else 0,
        forecast_label=forecast_label(ev.forecast_status, final_year) if ev.forecast_status else "",
        url=indicator_url(settings, item.id),
    )


def build_summary(
    settings: Settings,
    *,
    contact: PartnerContact,
    partner: Partner,
    contract: Contract,
    commitments: list[Commitment],
    evaluated: dict[int, EvaluatedIndicator],
    previous: dict[int, EvaluatedIndicator] | None,
    previous_as_of: date | None,
    quartiers: dict[int, str],
    next_meeting: Meeting | None,
    reports: list[ReportFile],
    as_of: date,
    frequency: str | None = None,
) -> PartnerSummary:
    """Everything one summary says, from already-loaded rows. `commitments` are the
    partner's (already scoped); indicators of other commitments in `evaluated` are ignored."""
    frequency = frequency or contact.frequency
    by_commitment: dict[int, list[EvaluatedIndicator]] = {c.id: [] for c in commitments}
    for item in evaluated.values():
        if item.commitment_id in by_commitment and item.evaluation is not None:
            by_commitment[item.commitment_id].append(item)
    code_of = {c.id: c.code for c in commitments}
    mine = sorted(
        (item for items in by_commitment.values() for item in items), key=lambda i: i.code
    )
    lines = [_line(item, code_of[item.commitment_id], quartiers, as_of, settings) for item in mine]

    commitment_lines = []
    for commitment in sorted(commitments, key=lambda c: c.code):
        health = commitment_health(i.evaluation for i in by_commitment[commitment.id])
        commitment_lines.append(
            view_of(
                CommitmentLine,
                commitment,
                role="pilote" if commitment.lead_partner_id == partner.id else "co-partenaire",
                status_label=LIFECYCLE_LABELS.get(commitment.status, commitment.status),
                health=health.performance,
                health_label=PERFORMANCE_LABELS[health.performance]
                if health.performance
                else "Sans indicateur",
                tone=tone(health.performance),
                late=health.late,
                indicators=len(by_commitment[commitment.id]),
            )
        )
    # Worst first, then by code: what needs attention heads the table.
    commitment_lines.sort(key=lambda line: (-TONE_SEVERITY[line.tone], not line.late, line.code))

    totals = rollup(item.evaluation for item in mine)
    performance_counts = tuple(
        (PERFORMANCE_LABELS[code], totals.by_performance[code], tone(code))
        for code in COUNTED_PERFORMANCES
        if totals.by_performance.get(code)
    )

    changes = []
    updated_since = 0
    if previous is not None:
        for item, line in zip(mine, lines, strict=True):
            before = previous.get(item.id)
            if before is None or before.evaluation is None:
                continue
            if before.evaluation.measured_on != item.evaluation.measured_on:
                updated_since += 1
            old, new = before.evaluation.performance, item.evaluation.performance
            if old != new:
                changes.append(
                    view_of(
                        Change,
                        line,
                        before_label=PERFORMANCE_LABELS[old],
                        after_label=PERFORMANCE_LABELS[new],
                        better=TONE_SEVERITY[tone(new)] < TONE_SEVERITY[tone(old)],
                    )
                )
        # Worse news first.
        changes.sort(key=lambda change: (change.better, change.code))

    # The contact gives its `partner_id` and `unsubscribe_token`.
    return view_of(
        PartnerSummary,
        contact,
        contact_id=contact.id,
        contact_name=contact.name,
        contact_email=contact.email,
        contact_role=contact.role,
        frequency=frequency,
        partner_name=partner.name,
        contract_name=contract.name,
        is_demo=contract.is_demo,
        as_of=as_of,
        period=summary_period(frequency, as_of),
        previous_as_of=previous_as_of,
        commitments=tuple(commitment_lines),
        indicator_count=len(lines),
        performance_counts=performance_counts,
        attention=Short.of(
            line
            for line in commitment_lines
            if line.late or line.health in ("off_track", "at_risk")
        ),
        commitment_counts=tuple(
            (label, count, tone(code))
            for code, label, count in (
                (
                    code,
                    PERFORMANCE_LABELS[code] if code else "Sans indicateur",
                    sum(1 for line in commitment_lines if line.health == code),
                )
                for code in (*COUNTED_PERFORMANCES, None)
            )
            if count
        ),
        commitments_late=sum(1 for c in commitment_lines if c.late),
        forecast_miss_count=totals.forecast_miss,
        mean_progress=totals.mean_progress,
        off_track=Short.of(line for line in lines if line.performance == "off_track"),
        at_risk=Short.of(line for line in lines if line.performance == "at_risk"),
        forecast_miss=Short.of(
            line
            for item, line in zip(mine, lines, strict=True)
            if item.evaluation.forecast_status == "will_miss"
        ),
        overdue=Short.of(
            sorted(
                (line for line in lines if line.freshness == "overdue"),
                key=lambda line: (-line.days_late, line.code),
            )
        ),
        due_soon=Short.of(
            sorted(
                (line for line in lines if line.freshness == "due_soon"),
                key=lambda line: (line.next_due, line.code),
            )
        ),
        changes=Short.of(changes),
        updated_since=updated_since,
        next_meeting=view_of(
            MeetingInfo,
            next_meeting,
            kind_label=MEETING_KIND_LABELS.get(next_meeting.kind, next_meeting.kind),
        )
        if next_meeting
        else None,
        reports=tuple(
            view_of(
                ReportLink,
                report,
                title=f"Rapport partenaire au {format_date(report.as_of)}",
                url=report_url(settings, report.id),
            )
            for report in reports
        ),
    )


# -- loading (the database side) ---------------------------------------------------------


def partner_principal(partner: Partner) -> Principal:
    """The partner as a partner account would see the contract: `suivi.scoping` decides
    which commitments are its own (lead or co-partner)."""
    return Principal(
        user_id=0,
        email="",
        full_name=partner.name,
        role="partenaire",
        partner_id=partner.id,
        contract_ids=(partner.contract_id,),
    )


def _previous_summaries(
    session: Session, contact_ids: list[int], as_of: date
) -> dict[int, tuple[str, datetime]]:
    """{contact id: (period, sent_at)} of each contact's latest sent summary before the
    current period (one row per contact, however long the history)."""
    if not contact_ids:
        return {}
    current = [summary_period(frequency, as_of) for frequency in SUMMARY_FREQUENCIES]
    sent = (
        EmailDelivery.kind == SUMMARY_KIND,
        EmailDelivery.status == "sent",
        EmailDelivery.sent_at.is_not(None),
        EmailDelivery.period.not_in(current),
        EmailDelivery.contact_id.in_(contact_ids),
    )
    latest = (
        select(EmailDelivery.contact_id, func.max(EmailDelivery.sent_at).label("sent_at"))
        .where(*sent)
        .group_by(EmailDelivery.contact_id)
        .subquery()
    )
    rows = session.execute(
        select(EmailDelivery.contact_id, EmailDelivery.period, EmailDelivery.sent_at)
        .join(
            latest,
            (EmailDelivery.contact_id == latest.c.contact_id)
            & (EmailDelivery.sent_at == latest.c.sent_at),
        )
        .where(*sent)
        .order_by(EmailDelivery.id)
    )
    return {contact_id: (period, sent_at) for contact_id, period, sent_at in rows}


class _Loader:
    """Caches what several contacts of one run share: evaluations per (contract, date),
    a partner's commitments, quartier names, the next meeting."""

    def __init__(self, session: Session, settings: Settings, as_of: date) -> None:
        self.session = session
        self.settings = settings
        self.as_of = as_of
        self._evaluations: dict[tuple[int, date], dict[int, EvaluatedIndicator]] = {}
        self._commitments: dict[int, list[Commitment]] = {}
        self._quartiers: dict[int, dict[int, str]] = {}
        self._meetings: dict[int, Meeting | None] = {}

    def evaluations(self, contract_id: int, day: date) -> dict[int, EvaluatedIndicator]:
        key = (contract_id, day)
        if key not in self._evaluations:
            self._evaluations[key] = evaluate_indicators(
                self.session, contract_id=contract_id, as_of=day
            )
        return self._evaluations[key]

    def commitments(self, partner: Partner) -> list[Commitment]:
        if partner.id not in self._commitments:
            self._commitments[partner.id] = list(
                self.session.execute(
                    select(Commitment)
                    .where(
                        scoping.commitment_condition(partner_principal(partner)),
                        Commitment.status.not_in(INACTIVE_STATUSES),
                    )
                    .order_by(Commitment.code)
                ).scalars()
            )
        return self._commitments[partner.id]

    def quartiers(self, contract_id: int) -> dict[int, str]:
        if contract_id not in self._quartiers:
            self._quartiers[contract_id] = dict(
                self.session.execute(
                    select(Quartier.id, Quartier.name).where(
                        Quartier.id.in_(contract_quartier_ids(contract_id))
                    )
                ).all()
            )
        return self._quartiers[contract_id]

    def next_meeting(self, contract_id: int) -> Meeting | None:
        if contract_id not in self._meetings:
            self._meetings[contract_id] = self.session.execute(
                select(Meeting)
                .where(Meeting.contract_id == contract_id, Meeting.held_on >= self.as_of)
                .order_by(Meeting.held_on, Meeting.id)
                .limit(1)
            ).scalar_one_or_none()
        return self._meetings[contract_id]

    def reports(self, partner: Partner) -> list[ReportFile]:
        return list(
            self.session.execute(
                select(ReportFile)
                .where(
                    ReportFile.contract_id == partner.contract_id,
                    ReportFile.kind == "partner",
                    ReportFile.scope == str(partner.id),
                    ReportFile.as_of <= self.as_of,
                )
                .order_by(ReportFile.generated_at.desc(), ReportFile.id.desc())
                .limit(LATEST_REPORTS)
            ).scalars()
        )

    def summary(
        self,
        contact: PartnerContact,
        partner: Partner,
        contract: Contract,
        previous: tuple[str, datetime] | None,
        frequency: str | None = None,
    ) -> PartnerSummary:
        previous_as_of = (
            previous_summary_date(previous[0], previous[1], self.settings.tz, self.as_of)
            if previous
            else None
        )
        summary = build_summary(
            self.settings,
            contact=contact,
            partner=partner,
            contract=contract,
            commitments=self.commitments(partner),
            evaluated=self.evaluations(contract.id, self.as_of),
            previous=self.evaluations(contract.id, previous_as_of) if previous_as_of else None,
            previous_as_of=previous_as_of,
            quartiers=self.quartiers(contract.id),
            next_meeting=self.next_meeting(contract.id),
            reports=self.reports(partner),
            as_of=self.as_of,
            frequency=frequency,
        )
        late = overdue_justification_lines(
            self.session, partner_principal(partner), contract_id=contract.id, as_of=self.as_of
        )
        return replace(summary, overdue_justifications=late)


def plan_summaries(
    session: Session, settings: Settings, *, as_of: date
) -> tuple[list[PartnerSummary], int]:
    """The summaries due for `as_of` (contacts in id order), and how many due contacts were
    left out because their partner has no active commitment (nothing to tell them)."""
    contacts = session.execute(
        select(PartnerContact, Partner, Contract)
        .join(Partner, Partner.id == PartnerContact.partner_id)
        .join(Contract, Contract.id == Partner.contract_id)
        .where(
            PartnerContact.frequency.in_(SUMMARY_FREQUENCIES),
            PartnerContact.unsubscribed_at.is_(None),
        )
        .order_by(PartnerContact.id)
    ).all()
    keys = {
        contact.id: summary_dedup_key(contact.id, summary_period(contact.frequency, as_of))
        for contact, _, _ in contacts
    }
    # Already sent or given up for this period: nothing to build. (Pending and in-flight
    # ones are built again; `deliver` decides whether they go now.)
    done = set(
        session.execute(
            select(EmailDelivery.dedup_key).where(
                EmailDelivery.dedup_key.in_(list(keys.values())),
                EmailDelivery.status.in_(("sent", "failed")),
            )
        ).scalars()
    )
    due = [row for row in contacts if keys[row[0].id] not in done]
    previous = _previous_summaries(session, [c.id for c, _, _ in due], as_of)
    loader = _Loader(session, settings, as_of)
    summaries, empty = [], 0
    for contact, partner, contract in due:
        if not loader.commitments(partner):
            empty += 1
            continue
        summaries.append(loader.summary(contact, partner, contract, previous.get(contact.id)))
    return summaries, empty


class ContactNotFoundError(LookupError):
    pass


def summary_for_contact(
    session: Session, settings: Settings, contact_id: int, *, as_of: date
) -> PartnerSummary:
    """One contact's summary as it would be sent for `as_of`, whatever its frequency or
    subscription (previews). A contact without frequency is previewed as monthly."""
    row = session.execute(
        select(PartnerContact, Partner, Contract)
        .join(Partner, Partner.id == PartnerContact.partner_id)
        .join(Contract, Contract.id == Partner.contract_id)
        .where(PartnerContact.id == contact_id)
    ).first()
    if row is None:
        raise ContactNotFoundError(f"Contact {contact_id} introuvable.")
    contact, partner, contract = row
    frequency = contact.frequency if contact.frequency in SUMMARY_FREQUENCIES else "monthly"
    previous = _previous_summaries(session, [contact.id], as_of).get(contact.id)
    return _Loader(session, settings, as_of).summary(
        contact, partner, contract, previous, frequency=frequency
    )


# -- the email ---------------------------------------------------------------------------


def summary_context(settings: Settings, summary: PartnerSummary) -> dict:
    return {
        "subject": summary_subject(summary.frequency, summary.as_of),
        "s": summary,
        "contract_name": summary.contract_name,
        "is_demo": summary.is_demo,
        "period_phrase": period_phrase(summary.frequency, summary.as_of),
        "frequency_adjective": FREQUENCY_ADJECTIVES[summary.frequency],
        "unsubscribe_url": unsubscribe_url(settings, summary.unsubscribe_token),
        "partner_url": f"{settings.app.base_url.rstrip('/')}/partenaires/{summary.partner_id}",
    }


def summary_email(
    settings: Settings, summary: PartnerSummary, attachments: tuple[Attachment, ...] = ()
) -> OutgoingEmail:
    context = summary_context(settings, summary)
    text, html = render_email(settings, TEMPLATE, context)
    return OutgoingEmail(
        dedup_key=summary.dedup_key,
        kind=SUMMARY_KIND,
        period=summary.period,
        recipient=summary.contact_email,
        subject=context["subject"],
        text=text,
        html=html,
        contact_id=summary.contact_id,
        unsubscribe_url=context["unsubscribe_url"],
        attachments=attachments,
    )


def partner_report_attachment(
    engine: Engine, settings: Settings, summary: PartnerSummary
) -> Attachment:
    """The partner's PDF report at the summary's date (`[summaries] attach_pdf`)."""
    from suivi.reports.context import build_report_context
    from suivi.reports.render import render_report

    with session_scope(engine) as session:
        contract_id = session.get(Partner, summary.partner_id).contract_id
        context = build_report_context(
            session,
            contract_id=contract_id,
            kind="partner",
            scope=str(summary.partner_id),
            as_of=summary.as_of,
            tz=settings.tz,
        )
    rendered = render_report(context, settings.reports.templates_dir)
    return Attachment(
        filename=f"rapport-partenaire-{summary.partner_id}-{summary.as_of.isoformat()}.pdf",
        content_type="application/pdf",
        data=rendered.pdf,
    )


def summary_messages(engine: Engine, settings: Settings, as_of: date) -> Planned:
    """The period's summaries (one read transaction), one message per contact, each with
    its partner's PDF report when `[summaries] attach_pdf` (rendered once per partner)."""
    with session_scope(engine) as session:
        summaries, empty = plan_summaries(session, settings, as_of=as_of)
    attachments: dict[int, tuple[Attachment, ...]] = {}
    messages = []
    for summary in summaries:
        if settings.summaries.attach_pdf and summary.partner_id not in attachments:
            attachments[summary.partner_id] = (
                partner_report_attachment(engine, settings, summary),
            )
        messages.append(summary_email(settings, summary, attachments.get(summary.partner_id, ())))
    return Planned(messages, {"contacts": len(messages), "without_commitments": empty})


send_partner_summaries = Sender(summary_messages)


@job("send_partner_summaries")
def send_partner_summaries_job(context: JobContext) -> JobResult:
    return run_sender(context, send_partner_summaries)


__all__ = [
    "SUMMARY_KIND",
    "ContactNotFoundError",
    "PartnerSummary",
    "build_summary",
    "period_bounds",
    "period_phrase",
    "plan_summaries",
    "send_partner_summaries",
    "summary_dedup_key",
    "summary_email",
    "summary_for_contact",
    "summary_period",
    "summary_subject",
    "unsubscribe_url",
]
