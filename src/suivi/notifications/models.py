"""Outgoing email: one EmailDelivery per message, claimed before sending, marked after."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column
from sqlalchemy import Index
from sqlalchemy import LargeBinary
from sqlalchemy import Text
from sqlmodel import Field
from sqlmodel import SQLModel

from suivi.modelbase import created_at_field
from suivi.modelbase import enum_check
from suivi.modelbase import timestamp_field


class DeliveryStatus(StrEnum):
    """Where an e-mail is in the outbox. Stored as its value."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


DELIVERY_STATUSES = tuple(DeliveryStatus)  # the stored codes, in order


class DeliveryKind(StrEnum):
    """What an e-mail is. Stored as its value."""

    PARTNER_SUMMARY = "partner_summary"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    RELEVE = "releve"  # relevé de décisions (suivi.governance)
    ANNUAL_CONSULTATION = "annual_consultation"  # annual report consultation (suivi.annual)
    CONSEIL_SUMMARY = "conseil_summary"  # conseils citoyens' summary (suivi.annual)


DELIVERY_KINDS = tuple(DeliveryKind)  # the stored codes, in order


class EmailDelivery(SQLModel, table=True):
    __tablename__ = "email_delivery"
    __table_args__ = (
        enum_check("status", DELIVERY_STATUSES),
        enum_check("kind", DELIVERY_KINDS),
        Index("ix_email_delivery_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # recipient + kind + ISO period, e.g. "partner_summary:contact:12:2026-11".
    dedup_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=20)
    period: str = Field(max_length=20)
    recipient: str = Field(max_length=254)
    contact_id: int | None = Field(default=None, foreign_key="partner_contact.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    subject: str = Field(default="", max_length=300)
    message_id: str = Field(max_length=250)
    status: str = Field(default="pending", max_length=10)
    attempts: int = 0
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = created_at_field()
    claimed_at: datetime | None = timestamp_field()
    next_attempt_at: datetime | None = timestamp_field()
    sent_at: datetime | None = timestamp_field()
    # The MIME message of a ``pending`` delivery, kept so that `retry_emails` can send it
    # again as it was; cleared once the message is sent or given up.
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
