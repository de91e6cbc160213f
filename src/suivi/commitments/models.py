"""Commitments (engagements): who commits to what, where, with which money."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint
from sqlalchemy import Column
from sqlalchemy import Index
from sqlalchemy import Numeric
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlmodel import Field
from sqlmodel import SQLModel

from suivi.codes import FUNDING_TYPES
from suivi.codes import LIFECYCLE_STATUSES
from suivi.codes import LifecycleStatus
from suivi.modelbase import created_at_field
from suivi.modelbase import enum_check

# Suspended and abandoned commitments are left out of every roll-up and every alert.
INACTIVE_STATUSES = (LifecycleStatus.SUSPENDU, LifecycleStatus.ABANDONNE)


class Commitment(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("contract_id", "code", name="uq_commitment_contract_code"),
        enum_check("status", LIFECYCLE_STATUSES),
        enum_check("funding_type", FUNDING_TYPES),
        CheckConstraint("start_date <= end_date", name="period_order"),
        Index("ix_commitment_contract_status", "contract_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id")
    code: str = Field(max_length=40)
    title: str = Field(max_length=300)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    lead_partner_id: int = Field(foreign_key="partner.id", index=True)
    priority_id: int = Field(foreign_key="priority.id", index=True)
    start_date: date
    end_date: date
    status: str = Field(default="prevu", max_length=12)
    funding_type: str = Field(max_length=24)
    # Optimistic locking: an update must name the version it read (409 when stale).
    version: int = Field(default=1)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class CommitmentPartner(SQLModel, table=True):
    """A co-partner and its share of the commitment's amounts; the lead partner's share is
    what remains, so co-funded money is counted once."""

    __tablename__ = "commitment_partner"
    __table_args__ = (CheckConstraint("share >= 0 AND share <= 1", name="share_range"),)

    commitment_id: int = Field(foreign_key="commitment.id", primary_key=True, ondelete="CASCADE")
    partner_id: int = Field(foreign_key="partner.id", primary_key=True, index=True)
    share: Decimal = Field(default=Decimal("0"), sa_column=Column(Numeric(5, 4), nullable=False))


class CommitmentQuartier(SQLModel, table=True):
    """The quartiers a commitment targets; none means the whole contract."""

    __tablename__ = "commitment_quartier"

    commitment_id: int = Field(foreign_key="commitment.id", primary_key=True, ondelete="CASCADE")
    quartier_id: int = Field(foreign_key="quartier.id", primary_key=True, index=True)


class CommitmentAmount(SQLModel, table=True):
    __tablename__ = "commitment_amount"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("year >= 2000 AND year <= 2100", name="year_range"),
    )

    commitment_id: int = Field(foreign_key="commitment.id", primary_key=True, ondelete="CASCADE")
    year: int = Field(primary_key=True)
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
