"""The consultation emails: the draft annual report sent to each consulted body, through the
shared email layer (one `EmailDelivery` per body and address, its dedup key naming both, so a
second run sends nothing twice; transient failures are retried by `retry_emails`).

A boundary (takes the Engine): the draft PDF is laid out with no session open, then each
message is delivered in its own unit of work.
"""

from __future__ import annotations

from sqlalchemy import Engine

from suivi.annual.models import AnnualReport
from suivi.annual.service import opinions_of
from suivi.annual.service import recipients_of
from suivi.config import Settings
from suivi.contract.models import Contract
from suivi.db import session_scope
from suivi.notifications.email import Attachment
from suivi.notifications.email import OutgoingEmail
from suivi.notifications.email import render_email
from suivi.notifications.sending import Planned
from suivi.notifications.sending import deliver_planned

KIND = "annual_consultation"
TEMPLATE = "annual_consultation"


def consultation_dedup_key(report_id: int, opinion_id: int, recipient: str) -> str:
    return f"{KIND}:report:{report_id}:body:{opinion_id}:{recipient.lower()}"


def consultation_messages(
    engine: Engine, settings: Settings, report_id: int, draft_pdf: bytes
) -> list[OutgoingEmail]:
    with session_scope(engine) as session:
        report = session.get(AnnualReport, report_id)
        contract = session.get(Contract, report.contract_id)
        bodies = [(o, recipients_of(session, o)) for o in opinions_of(session, report_id)]
        attachment = Attachment(
            filename=f"projet-rapport-annuel-{report.year}.pdf",
            content_type="application/pdf",
            data=draft_pdf,
        )
        messages = []
        for opinion, recipients in bodies:
            subject = (
                f"Consultation sur le rapport annuel {report.year} de la politique de la ville"
            )
            context = {
                "subject": subject,
                "contract_name": contract.name,
                "is_demo": contract.is_demo,
                "body_name": opinion.body_name,
                "year": report.year,
                "deadline": report.deadline,
                "deadline_days": (report.deadline - report.consultation_opened_on).days,
                "url": f"{settings.app.base_url.rstrip('/')}/rapport-annuel/{report.id}",
            }
            text, html = render_email(settings, TEMPLATE, context)
            messages.extend(
                OutgoingEmail(
                    dedup_key=consultation_dedup_key(report.id, opinion.id, recipient),
                    kind=KIND,
                    period=str(report.year),
                    recipient=recipient,
                    subject=subject,
                    text=text,
                    html=html,
                    attachments=(attachment,),
                )
                for recipient in recipients
            )
    return messages


def send_consultation(
    engine: Engine, settings: Settings, report_id: int, draft_pdf: bytes, **delivery
) -> dict[str, int]:
    """Send (or send again what is left of) the consultation of one report (`delivery`: the
    options of `deliver_planned`, such as `run_started_at` or `transport`)."""
    messages = consultation_messages(engine, settings, report_id, draft_pdf)
    planned = Planned(messages, {"messages": len(messages)})
    return deliver_planned(engine, settings, planned, **delivery)
