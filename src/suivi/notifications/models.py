"""Outgoing email: one EmailDelivery per message, claimed before sending, marked after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlalchemy import Index
from sqlalchemy import LargeBinary
from sqlalchemy import Text
from sqlmodel import Field
from sqlmodel import SQLModel

from suivi.codes import DELIVERY_KINDS
from suivi.codes import DELIVERY_STATUSES
from suivi.modelbase import created_at_field
from suivi.modelbase import enum_check
from suivi.modelbase import timestamp_field


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
