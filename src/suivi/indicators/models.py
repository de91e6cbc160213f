"""Indicators, their targets (with revisions) and their measurements (corrections supersede)."""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import Column
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import text
from sqlmodel import Field
from sqlmodel import SQLModel

from suivi.codes import AGGREGATIONS
from suivi.codes import BREAKDOWNS
from suivi.codes import COMPARABILITIES
from suivi.codes import MEASUREMENT_STATUSES
from suivi.codes import TARGET_REVISION_KINDS
from suivi.codes import MeasurementStatus
from suivi.modelbase import created_at_field
from suivi.modelbase import enum_check
from suivi.modelbase import timestamp_field
from suivi.progress import DIRECTIONS
from suivi.progress import FREQUENCIES

VALIDATED = MeasurementStatus.VALIDATED


class Indicator(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("contract_id", "code", name="uq_indicator_contract_code"),
        enum_check("direction", DIRECTIONS),
        enum_check("frequency", FREQUENCIES),
        CheckConstraint("tolerance > 0 AND tolerance < 1", name="tolerance_range"),
        CheckConstraint("grace_days >= 0", name="grace_days_not_negative"),
        Index("ix_indicator_contract_id", "contract_id"),
        # The reference sheet (migration 0007); the service checks the rest in French.
        CheckConstraint("margin >= 0", name="margin_not_negative"),
        CheckConstraint(
            "publication_lag_days IS NULL OR publication_lag_days >= 0",
            name="publication_lag_not_negative",
        ),
        enum_check("aggregation", AGGREGATIONS),
        enum_check("comparability", COMPARABILITIES),
        enum_check("breakdown", BREAKDOWNS),
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

    # Reference sheet (fiche indicateur), migration 0007. The defaults keep the statuses
    # judged before it. Precision in the indicator's own unit: a gap within it is no gap.
    margin: float = 0.0
    margin_justification: str = Field(default="", sa_column=Column(Text, nullable=False))
    # False: no forecast (forced by a non-comparable statistic).
    forecast: bool = True
    comparability: str = Field(default="comparable", max_length=30)
    definition: str = Field(default="", sa_column=Column(Text, nullable=False))
    formula: str = Field(default="", sa_column=Column(Text, nullable=False))
    # A rate has a numerator and a denominator (and never sums across quartiers).
    is_rate: bool = False
    numerator: str = Field(default="", max_length=300)
    denominator: str = Field(default="", max_length=300)
    producer: str = Field(default="", max_length=200)
    publication_lag_days: int | None = None
    breakdown: str = Field(default="none", max_length=20)
    aggregation: str = Field(default="none", max_length=20)
    # What weights the mean across quartiers (e.g. « population des 15-64 ans »).
    aggregation_weight: str = Field(default="", max_length=200)
    # A partner contact; deleting the contact clears it (`delete_contact`).
    data_owner_contact_id: int | None = Field(default=None, foreign_key="partner_contact.id")


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
    # The committee decision (kind `revision_cible`) that the revision carries out, and the
    # avenant that made it contractual (suivi.governance, migration 0008).
    decision_id: int | None = Field(default=None, foreign_key="decision.id", index=True)
    avenant_reference: str = Field(default="", max_length=200)


class Measurement(SQLModel, table=True):
    """A (date, value) reading. A correction is a new row; the old one points to it through
    `superseded_by_id` and is never erased."""

    __table_args__ = (
        CheckConstraint("superseded_by_id IS NULL OR superseded_by_id <> id", name="not_self"),
        enum_check("status", MEASUREMENT_STATUSES),
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
    # Review (migration 0008). Rows written before it, and rows built directly (demo, fixtures),
    # are validated; the writers (`service`, the importer) set the entry status themselves.
    status: str = Field(
        default=VALIDATED,
        sa_column=Column(String(12), nullable=False, server_default=VALIDATED),
    )
    validated_by_id: int | None = Field(default=None, foreign_key="user.id")
    validated_at: datetime | None = timestamp_field()
    return_reason: str = Field(default="", max_length=500)
