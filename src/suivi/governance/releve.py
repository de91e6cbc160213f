"""The relevé de décisions of a meeting: a short PDF/A-3a made through the report pipeline
(`suivi.reports.render` and `archive`: archived once with its SHA-256, the decisions CSV
attached), then e-mailed to the contacts of the partners concerned through the e-mail layer
(`suivi.notifications.delivery`: one message per contact with the dedup key
``releve:meeting:{id}:contact:{id}``, outbox or SMTP, same retries). Issuing it freezes the
decisions' texts (the meeting becomes ``releve_diffuse``).

Like `generate_report`, `issue_releve` is a boundary: it takes an Engine and opens short
sessions (read, then write), and lays the PDF out with no session open.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from sqlalchemy import Engine
from sqlalchemy import select
from sqlmodel import Session

from suivi.auth.principal import Principal
from suivi.commitments.models import Commitment
from suivi.config import Settings
from suivi.contract.models import Contract
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.db import session_scope
from suivi.db import utcnow
from suivi.errors import Conflict
from suivi.errors import NotFound
from suivi.governance import service
from suivi.governance.models import Decision
from suivi.io.safe_text import csv_text
from suivi.notifications.delivery import deliver_all
from suivi.notifications.email import Attachment
from suivi.notifications.email import OutgoingEmail
from suivi.notifications.email import render_email
from suivi.reports.archive import GeneratedReport
from suivi.reports.archive import archive_report
from suivi.reports.render import CsvAttachment
from suivi.reports.render import render_html
from suivi.reports.render import render_pdf

CSV_COLUMNS = (
    "numero",
    "decision",
    "type",
    "pilote",
    "contact",
    "echeance",
    "statut",
    "engagements",
    "avenant",
)


@dataclass
class ReleveLine:
    number: int
    text: str
    kind: str
    kind_label: str
    owner_id: int | None
    owner: str
    contact: str
    due_on: date | None
    status_label: str
    commitments: list[str]
    avenant: str


@dataclass
class ReleveContext:
    """What the relevé shows; shaped like a ReportContext where the pipeline reads one
    (contract, kind, scope, as_of, title)."""

    contract: Contract
    meeting: Meeting
    meeting_label: str
    as_of: date
    participants: list[str]
    lines: list[ReleveLine]
    kind: str = "releve"
    scope: str = ""
    title: str = "Relevé de décisions"
    subject: str = ""
    scope_label: str = ""
    owners: set[int] = field(default_factory=set)


def build_releve(session: Session, meeting: Meeting, as_of: date) -> ReleveContext:
    if meeting.status == "prevue":
        raise Conflict(
            f"Le {service.meeting_label(meeting)} n'est pas encore tenu : "
            "pas de relevé de décisions avant."
        )
    decisions = list(
        session.execute(
            select(Decision).where(Decision.meeting_id == meeting.id).order_by(Decision.number)
        ).scalars()
    )
    if not decisions:
        raise Conflict("Aucune décision n'est enregistrée pour cette instance : rien à diffuser.")
    partners = {
        p.id: p.name
        for p in session.execute(
            select(Partner).where(Partner.contract_id == meeting.contract_id)
        ).scalars()
    }
    contacts = {
        c.id: c.name
        for c in session.execute(
            select(PartnerContact).where(
                PartnerContact.id.in_({d.owner_contact_id for d in decisions})
            )
        ).scalars()
    }
    links = service.links_of(session, [d.id for d in decisions])
    codes = dict(
        session.execute(
            select(Commitment.id, Commitment.code).where(
                Commitment.id.in_({i for v in links.values() for i in v["commitment"]})
            )
        ).all()
    )
    label = service.meeting_label(meeting)
    lines = [
        ReleveLine(
            number=d.number,
            text=d.text,
            kind=d.kind,
            kind_label=service.DECISION_KIND_LABELS[d.kind],
            owner_id=d.owner_partner_id,
            owner=partners.get(d.owner_partner_id, ""),
            contact=contacts.get(d.owner_contact_id, ""),
            due_on=d.due_on,
            status_label=service.DECISION_STATUS_LABELS[d.status],
            commitments=[codes[i] for i in links[d.id]["commitment"] if i in codes],
            avenant=d.avenant_reference,
        )
        for d in decisions
    ]
    return ReleveContext(
        contract=session.get(Contract, meeting.contract_id),
        meeting=meeting,
        meeting_label=label,
        as_of=as_of,
        participants=[p.name for p in service.participants(session, meeting)],
        lines=lines,
        scope=str(meeting.id),
        subject=f"Relevé de décisions du {label}",
        scope_label=label[:1].upper() + label[1:],
        owners={line.owner_id for line in lines if line.owner_id},
    )


def decisions_csv(lines: list[ReleveLine]) -> bytes:
    """One decision per line (UTF-8 with BOM for spreadsheets, comma, CRLF), like the
    reports' figures; texts neutralised against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        writer.writerow(
            [
                line.number,
                csv_text(line.text),
                line.kind,
                csv_text(line.owner),
                csv_text(line.contact),
                line.due_on.isoformat() if line.due_on else "",
                line.status_label,
                " ".join(line.commitments),
                csv_text(line.avenant),
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def recipients(session: Session, meeting: Meeting, context: ReleveContext) -> list[PartnerContact]:
    """Contacts of the partners concerned: those owning a decision or represented at the
    meeting (contacts who unsubscribed are left out)."""
    partner_ids = set(context.owners) | {p.id for p in service.participants(session, meeting)}
    return list(
        session.execute(
            select(PartnerContact)
            .where(
                PartnerContact.partner_id.in_(partner_ids),
                PartnerContact.unsubscribed_at.is_(None),
            )
            .order_by(PartnerContact.partner_id, PartnerContact.id)
        ).scalars()
    )


def dedup_key(meeting_id: int, contact_id: int) -> str:
    return f"releve:meeting:{meeting_id}:contact:{contact_id}"


def releve_email(
    settings: Settings,
    context: ReleveContext,
    contact: PartnerContact,
    pdf: bytes,
    filename: str,
) -> OutgoingEmail:
    """Every decision, the contact's partner's own highlighted."""
    subject = f"Relevé de décisions du {context.meeting_label}"
    text, html = render_email(
        settings,
        "releve",
        {
            "subject": subject,
            "is_demo": context.contract.is_demo,
            "contract_name": context.contract.name,
            "recipient_name": contact.name,
            "meeting_label": context.meeting_label,
            "lines": context.lines,
            "own_partner_id": contact.partner_id,
            "own_count": sum(1 for line in context.lines if line.owner_id == contact.partner_id),
        },
    )
    return OutgoingEmail(
        dedup_key=dedup_key(context.meeting.id, contact.id),
        kind="releve",
        period=context.meeting.held_on.isoformat(),
        recipient=contact.email,
        subject=subject,
        text=text,
        html=html,
        contact_id=contact.id,
        attachments=(Attachment(filename, "application/pdf", pdf),),
    )


@dataclass
class IssuedReleve:
    generated: GeneratedReport
    emails: dict[str, int]
    recipients: int


def issue_releve(
    engine: Engine,
    settings: Settings,
    meeting_id: int,
    *,
    as_of: date,
    principal: Principal | None = None,
    send: bool = True,
) -> IssuedReleve:
    """Render, archive and send the relevé; mark the meeting `releve_diffuse`. Issuing it
    again re-sends nothing already sent (one message per meeting and contact)."""
    with session_scope(engine) as session:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None or (
            principal is not None and meeting.contract_id not in principal.contract_ids
        ):
            raise NotFound("Instance introuvable.")
        if principal is not None:
            service.require_manager(principal, meeting.contract_id)
        context = build_releve(session, meeting, as_of)
        contacts = recipients(session, meeting, context)
        session.expunge_all()
    csv_file = CsvAttachment(
        decisions_csv(context.lines),
        f"decisions-instance-{meeting_id}-{context.meeting.held_on.isoformat()}.csv",
        "Décisions du relevé : une décision par ligne (CSV UTF-8)",
    )
    templates = settings.reports.templates_dir
    rendered = render_pdf(render_html(context, templates), context, templates, csv_file)
    generated = archive_report(
        engine,
        settings,
        context,
        rendered,
        generated_by_id=principal.user_id if principal else None,
        meeting_id=meeting_id,
        # The meeting is marked sent only with its relevé archived.
        also=lambda session: service.mark_releve_sent(
            session, principal, session.get(Meeting, meeting_id)
        ),
    )
    counts: dict[str, int] = {}
    if send and contacts:
        filename = f"releve-decisions-{context.meeting.held_on.isoformat()}.pdf"
        messages = [
            releve_email(settings, context, contact, rendered.pdf, filename) for contact in contacts
        ]
        counts = deliver_all(engine, settings, messages, run_started_at=utcnow())
    return IssuedReleve(generated, counts, len(contacts))


__all__ = ["IssuedReleve", "build_releve", "decisions_csv", "issue_releve"]
