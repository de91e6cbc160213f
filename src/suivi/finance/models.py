"""Financial lines: what one partner asked, voted, paid and had justified for one commitment
in one budget year, and the payments that make up the paid amount."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint
from sqlalchemy import Column
from sqlalchemy import Index
from sqlalchemy import Numeric
from sqlalchemy import Text
from sqlmodel import Field
from sqlmodel import SQLModel

from suivi.codes import FUNDING_ALERT_KINDS
from suivi.codes import FUNDING_TYPES
from suivi.modelbase import alert_table_args
from suivi.modelbase import created_at_field
from suivi.modelbase import enum_check
from suivi.modelbase import json_field


def money_column(nullable: bool = False):
    return Column(Numeric(14, 2), nullable=nullable)


class FundingLine(SQLModel, table=True):
    __tablename__ = "funding_line"
    __table_args__ = (
        enum_check("funding_type", FUNDING_TYPES),
        CheckConstraint("year >= 2000 AND year <= 2100", name="year_range"),
        CheckConstraint("amount_requested >= 0", name="requested_not_negative"),
        CheckConstraint("amount_voted IS NULL OR amount_voted >= 0", name="voted_not_negative"),
        CheckConstraint(
            "amount_justified IS NULL OR amount_justified >= 0", name="justified_not_negative"
        ),
        CheckConstraint(
            "NOT cpo OR (cpo_first_year IS NOT NULL AND cpo_last_year IS NOT NULL"
            " AND cpo_first_year <= year AND year <= cpo_last_year)",
            name="cpo_years",
        ),
        Index("ix_funding_line_commitment_year", "commitment_id", "year"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    commitment_id: int = Field(foreign_key="commitment.id", ondelete="CASCADE")
    # The funder: the lead partner or a co-partner of the commitment.
    partner_id: int = Field(foreign_key="partner.id", index=True)
    year: int  # the budget year
    funding_type: str = Field(max_length=24)
    amount_requested: Decimal = Field(default=Decimal("0"), sa_column=money_column())
    amount_voted: Decimal | None = Field(default=None, sa_column=money_column(nullable=True))
    vote_reference: str = Field(default="", max_length=120)
    voted_on: date | None = None
    # A payment above the vote is accepted only with the reason written here.
    overrun_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    amount_justified: Decimal | None = Field(default=None, sa_column=money_column(nullable=True))
    # The day the financial report (CERFA n° 15059) was received.
    justified_on: date | None = None
    beneficiary_name: str = Field(default="", max_length=200)
    beneficiary_siret: str = Field(default="", max_length=14)
    beneficiary_rna: str = Field(default="", max_length=10)
    dauphin_number: str = Field(default="", max_length=40)
    cpo: bool = False
    cpo_first_year: int | None = None
    cpo_last_year: int | None = None
    version: int = Field(default=1)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class FundingPayment(SQLModel, table=True):
    __tablename__ = "funding_payment"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    funding_line_id: int = Field(foreign_key="funding_line.id", index=True, ondelete="CASCADE")
    paid_on: date
    amount: Decimal = Field(sa_column=money_column())
    reference: str = Field(default="", max_length=120)
    created_at: datetime = created_at_field()


class FundingAlert(SQLModel, table=True):
    """An alert on a financial line, opened and resolved by the daily check
    (`suivi.finance.alerts`): money paid, no financial report six months after the end of
    the budget year."""

    __tablename__ = "funding_alert"
    __table_args__ = alert_table_args("funding_alert", "funding_line_id", FUNDING_ALERT_KINDS)

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id")
    funding_line_id: int = Field(foreign_key="funding_line.id", ondelete="CASCADE")
    kind: str = Field(max_length=30)
    opened_on: date
    resolved_on: date | None = None
    details: dict = json_field()
    created_at: datetime = created_at_field()
