"""The archive of generated reports: every file kept, hashed, never overwritten."""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field
from sqlmodel import SQLModel

from suivi.codes import REPORT_KINDS
from suivi.codes import ReportKind
from suivi.modelbase import created_at_field
from suivi.modelbase import enum_check

# The mid-term review report (suivi.reports.midterm): original vs revised targets.
MIDTERM_KIND = ReportKind.MI_PARCOURS
# What the archive holds: the reports above, and the relevés de décisions of the meetings
# (suivi.governance.releve), made through the same pipeline but not from a ReportContext.
ARCHIVED_KINDS = (*REPORT_KINDS, "releve")


class ReportFile(SQLModel, table=True):
    __tablename__ = "report_file"
    __table_args__ = (
        enum_check("kind", ARCHIVED_KINDS),
        Index("ix_report_file_contract_kind", "contract_id", "kind", "generated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id")
    kind: str = Field(max_length=20)
    # "" for contract-wide reports, the QPV code or the partner id otherwise.
    scope: str = Field(default="", max_length=40)
    as_of: date
    generated_at: datetime = created_at_field()
    generated_by_id: int | None = Field(default=None, foreign_key="user.id")
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")
    # Path relative to the reports folder.
    path: str = Field(max_length=300, unique=True)
    pages: int
    size_bytes: int
    sha256: str = Field(max_length=64)
    is_demo: bool = False
