"""Build and send email: multipart text + HTML, through SMTP or to the outbox folder.

Shared by every job that writes to people (reminders, partner summaries). A message is
described by an `OutgoingEmail`; `suivi.notifications.delivery.deliver()` records it, claims
it, sends it with a `Transport` and marks the outcome. Transports raise
`TransientEmailError` (try again later) or `PermanentEmailError` (the server refused: 5xx).
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from jinja2 import Environment
from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined
from jinja2 import select_autoescape

from suivi.config import Settings
from suivi.db import utcnow
from suivi.formatting import install_filters

DEMO_NOTICE = "Données fictives de démonstration"
EMAIL_TEMPLATES_SUBDIR = "email"


class EmailError(Exception):
    """A message could not be handed over."""


class TransientEmailError(EmailError):
    """Connection refused, timeout, 4xx answer: worth trying again later."""


class PermanentEmailError(EmailError):
    """A 5xx answer: the server refuses this message; retrying will not help."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "application/pdf"
    data: bytes


@dataclass(frozen=True)
class OutgoingEmail:
    """One message to one recipient, identified by its deduplication key
    (recipient + kind + ISO period, e.g. ``reminder:user:12:2026-W48``)."""

    dedup_key: str
    kind: str  # one of suivi.codes.DELIVERY_KINDS
    period: str
    recipient: str
    subject: str
    text: str
    html: str
    user_id: int | None = None
    contact_id: int | None = None
    unsubscribe_url: str | None = None
    attachments: tuple[Attachment, ...] = ()


def sender_domain(settings: Settings) -> str:
    address = parseaddr(settings.smtp.sender)[1]
    return address.rpartition("@")[2] or "localhost"


def message_id_for(dedup_key: str, settings: Settings) -> str:
    """A stable Message-ID derived from the deduplication key: a message sent twice after a
    crash carries the same id, so mail clients show it once."""
    digest = hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()[:32]
    return f"<suivi.{digest}@{sender_domain(settings)}>"


def build_message(
    settings: Settings,
    outgoing: OutgoingEmail,
    *,
    message_id: str | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """The MIME message: text part first, HTML alternative, then any attachments."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = settings.smtp.sender
    message["To"] = outgoing.recipient
    if settings.smtp.reply_to:
        message["Reply-To"] = settings.smtp.reply_to
    message["Subject"] = outgoing.subject
    message["Date"] = format_datetime((now or utcnow()).astimezone(settings.tz))
    message["Message-ID"] = message_id or message_id_for(outgoing.dedup_key, settings)
    # Tells auto-responders not to answer, and marks the message as sent by a program.
    message["Auto-Submitted"] = "auto-generated"
    if outgoing.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{outgoing.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(outgoing.text, subtype="plain", charset="utf-8")
    message.add_alternative(outgoing.html, subtype="html", charset="utf-8")
    for attachment in outgoing.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


# -- templates ---------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _environment(templates_dir: str) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return install_filters(environment)


def email_environment(settings: Settings) -> Environment:
    return _environment(str(Path(settings.reports.templates_dir) / EMAIL_TEMPLATES_SUBDIR))


def render_email(settings: Settings, name: str, context: dict) -> tuple[str, str]:
    """Render ``{name}.txt.j2`` and ``{name}.html.j2`` with the same context:
    the two parts say the same thing. ``demo_notice`` is always available."""
    environment = email_environment(settings)
    full = {"demo_notice": DEMO_NOTICE, "base_url": settings.app.base_url.rstrip("/"), **context}
    text = environment.get_template(f"{name}.txt.j2").render(full)
    html = environment.get_template(f"{name}.html.j2").render(full)
    return text, html


# -- transports --------------------------------------------------------------------------


class Transport(Protocol):
    def send(self, message: EmailMessage, recipient: str) -> None: ...


class SmtpTransport:
    """One SMTP connection per message: simple, and a broken connection never leaks into
    the next message. STARTTLS is required when configured (credentials never go in clear)."""

    def __init__(self, settings: Settings) -> None:
        self.smtp = settings.smtp
        self.sender = parseaddr(settings.smtp.sender)[1]

    def send(self, message: EmailMessage, recipient: str) -> None:
        smtp = self.smtp
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as client:
                client.ehlo()
                if smtp.starttls:
                    if not client.has_extn("starttls"):
                        raise TransientEmailError(
                            f"le serveur {smtp.host}:{smtp.port} ne propose pas STARTTLS"
                        )
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                if smtp.username:
                    client.login(smtp.username, smtp.password)
                client.send_message(message, from_addr=self.sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = next(iter(exc.recipients.values()))
            raise _classify(code, answer) from exc
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Refused connection, timeout, dropped connection: the server may come back.
            raise TransientEmailError(f"{type(exc).__name__}: {exc}") from exc


def _classify(code: int, answer: bytes | str) -> EmailError:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    description = f"{code} {text}".strip()
    if 500 <= code < 600:
        return PermanentEmailError(description)
    return TransientEmailError(description)


class OutboxTransport:
    """Writes each message as ``<outbox>/<Message-ID>.eml`` (no SMTP host configured).
    A message written twice after a crash replaces its own file."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path_for(self, message: EmailMessage) -> Path:
        name = message["Message-ID"].strip("<>").partition("@")[0]
        return self.folder / (re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") + ".eml")

    def send(self, message: EmailMessage, recipient: str) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.path_for(message)
            temporary = path.with_suffix(".eml.tmp")
            temporary.write_bytes(message.as_bytes())
            os.replace(temporary, path)
        except OSError as exc:
            raise TransientEmailError(f"écriture impossible dans {self.folder} : {exc}") from exc


def transport_for(settings: Settings) -> Transport:
    """SMTP when a host is configured, otherwise the outbox folder."""
    if settings.smtp.host:
        return SmtpTransport(settings)
    return OutboxTransport(settings.outbox.dir)


__all__ = [
    "DEMO_NOTICE",
    "Attachment",
    "EmailError",
    "OutboxTransport",
    "OutgoingEmail",
    "PermanentEmailError",
    "SmtpTransport",
    "TransientEmailError",
    "build_message",
    "email_environment",
    "message_id_for",
    "render_email",
    "transport_for",
]
