"""Indicators, their targets (with revisions) and their measurements (corrections supersede)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from suivi.modelbase import created_at_field, enum_check
from suivi.progress import DIRECTIONS, FREQUENCIES

TARGET_REVISION_KINDS = ("avenant", "revue_mi_parcours", "correction", "autre")


class Indicator(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("contract_id", "code", name="uq_indicator_contract_code"),
        enum_check("direction", DIRECTIONS),
        enum_check("frequency", FREQUENCIES),
        CheckConstraint("tolerance > 0 AND tolerance < 1", name="tolerance_range"),
        CheckConstraint("grace_days >= 0", name="grace_days_not_negative"),
        Index("ix_indicator_contract_id", "contract_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Denormalised from the commitment so that contract-wide checks are one indexed scan.
    contract_id: int = Field(foreign_key="contract.id")
    commitment_id: int = Field(foreign_key="commitment.id", index=True)
    quartier_id: int | None = Field(default=None, foreign_key="quartier.id", index=True)
    code: str = Field(max_length=40)
    name: str = Field(max_length=300)
    unit: str = Field(max_length=40)
    source: str = Field(default="", max_length=200)
    direction: str = Field(max_length=10)
    cumulative: bool = False
    frequency: str = Field(default="quarterly", max_length=12)
    tolerance: float = 0.10
    grace_days: int = 30
    baseline_value: float
    baseline_date: date
    version: int = Field(default=1)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class Target(SQLModel, table=True):
    """The current value of one milestone; its history lives in TargetRevision."""

    __table_args__ = (UniqueConstraint("indicator_id", "target_date", name="uq_target_date"),)

    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True, ondelete="CASCADE")
    target_date: date
    value: float


class TargetRevision(SQLModel, table=True):
    __tablename__ = "target_revision"
    __table_args__ = (enum_check("kind", TARGET_REVISION_KINDS),)

    id: int | None = Field(default=None, primary_key=True)
    target_id: int = Field(foreign_key="target.id", index=True, ondelete="CASCADE")
    old_value: float
    new_value: float
    kind: str = Field(default="autre", max_length=20)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    revised_by_id: int | None = Field(default=None, foreign_key="user.id")
    revised_at: datetime = created_at_field()


class Measurement(SQLModel, table=True):
    """A (date, value) reading. A correction is a new row; the old one points to it through
    `superseded_by_id` and is never erased."""

    __table_args__ = (
        CheckConstraint("superseded_by_id IS NULL OR superseded_by_id <> id", name="not_self"),
        # The hot lookup: current measurements of an indicator by date. Unique: at most one
        # current value per indicator and date, even under concurrent corrections.
        Index(
            "ix_measurement_current",
            "indicator_id",
            "measured_on",
            unique=True,
            sqlite_where=text("superseded_by_id IS NULL"),
            postgresql_where=text("superseded_by_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    measured_on: date
    value: float
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    evidence_url: str = Field(default="", max_length=500)
    author_id: int | None = Field(default=None, foreign_key="user.id")
    entered_at: datetime = created_at_field()
    superseded_by_id: int | None = Field(default=None, foreign_key="measurement.id")
    correction_reason: str = Field(default="", max_length=500)
