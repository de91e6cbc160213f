"""Tables of the annual report procedure and of the conseils citoyens.

Décret n° 2015-1118: the EPCI drafts a yearly report, the conseils municipaux of the communes
holding a QPV and the conseils citoyens give an opinion (silence = favourable after the
deadline), the conseil communautaire approves it, and it is published with the opinions
annexed.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import Column
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlmodel import Field
from sqlmodel import SQLModel

from suivi.codes import ANNUAL_REPORT_STATES
from suivi.codes import BODY_KINDS
from suivi.codes import COMMENT_STATUSES
from suivi.codes import VERDICTS
from suivi.modelbase import created_at_field
from suivi.modelbase import enum_check
from suivi.modelbase import timestamp_field


class ConseilCitoyen(SQLModel, table=True):
    """A conseil citoyen (loi Lamy, art. 7): one per QPV or group of QPV."""

    __tablename__ = "conseil_citoyen"
    __table_args__ = (UniqueConstraint("contract_id", "code", name="uq_conseil_citoyen_code"),)

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    created_at: datetime = created_at_field()


class ConseilCitoyenQuartier(SQLModel, table=True):
    __tablename__ = "conseil_citoyen_quartier"

    conseil_citoyen_id: int = Field(
        foreign_key="conseil_citoyen.id", primary_key=True, ondelete="CASCADE"
    )
    quartier_id: int = Field(foreign_key="quartier.id", primary_key=True, index=True)


class ConseilCitoyenContact(SQLModel, table=True):
    """Who receives the consultation emails (never shown on the public pages)."""

    __tablename__ = "conseil_citoyen_contact"
    __table_args__ = (
        UniqueConstraint("conseil_citoyen_id", "email", name="uq_conseil_citoyen_contact_email"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conseil_citoyen_id: int = Field(foreign_key="conseil_citoyen.id", index=True)
    name: str = Field(max_length=160)
    email: str = Field(max_length=254)
    role: str = Field(default="", max_length=160)


class ConseilCitoyenMember(SQLModel, table=True):
    """The accounts (role ``conseil_citoyen``) speaking for a conseil citoyen. Their
    quartiers are also written as `UserScope` rows, which is what the scoping reads."""

    __tablename__ = "conseil_citoyen_member"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    conseil_citoyen_id: int = Field(foreign_key="conseil_citoyen.id", index=True)


class AnnualReport(SQLModel, table=True):
    __tablename__ = "annual_report"
    __table_args__ = (
        UniqueConstraint("contract_id", "year", name="uq_annual_report_contract_year"),
        enum_check("status", ANNUAL_REPORT_STATES),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    year: int
    status: str = Field(default="brouillon", max_length=16)
    consultation_opened_on: date | None = None
    deadline: date | None = None
    deliberation_on: date | None = None
    deliberation_ref: str = Field(default="", max_length=120)
    observations_response: str = Field(
        default="", sa_column=Column(Text, nullable=False, default="")
    )
    approved_at: datetime | None = timestamp_field()
    published_at: datetime | None = timestamp_field()
    # The final PDF (with the opinions annexed), archived by suivi.reports.
    report_file_id: int | None = Field(default=None, foreign_key="report_file.id")
    created_at: datetime = created_at_field()


class AnnualReportOpinion(SQLModel, table=True):
    """One consulted body of one annual report, and its opinion once given (or deemed)."""

    __tablename__ = "annual_report_opinion"
    __table_args__ = (
        enum_check("body_kind", BODY_KINDS),
        enum_check("verdict", VERDICTS, nullable=True),
        CheckConstraint(
            "(commune_id IS NULL) <> (conseil_citoyen_id IS NULL)", name="exactly_one_body"
        ),
        UniqueConstraint("annual_report_id", "commune_id", name="uq_opinion_report_commune"),
        UniqueConstraint(
            "annual_report_id", "conseil_citoyen_id", name="uq_opinion_report_conseil"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    annual_report_id: int = Field(foreign_key="annual_report.id", index=True, ondelete="CASCADE")
    body_kind: str = Field(max_length=20)
    commune_id: int | None = Field(default=None, foreign_key="commune.id")
    conseil_citoyen_id: int | None = Field(default=None, foreign_key="conseil_citoyen.id")
    body_name: str = Field(max_length=200)
    verdict: str | None = Field(default=None, max_length=12)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    given_on: date | None = None
    # « avis réputé favorable (absence de réponse) », recorded by the daily check.
    deemed: bool = False
    entered_by_id: int | None = Field(default=None, foreign_key="user.id")
    attachment_name: str = Field(default="", max_length=200)
    # Relative to the reports folder; the file is named after its SHA-256.
    attachment_path: str = Field(default="", max_length=300)
    attachment_sha256: str = Field(default="", max_length=64)
    attachment_size: int = 0
    recorded_at: datetime | None = timestamp_field()

    @property
    def received(self) -> bool:
        return self.verdict is not None


class CommitmentComment(SQLModel, table=True):
    """A conseil citoyen's comment on a commitment of its quartiers: partners see it once
    the project manager has published it."""

    __tablename__ = "commitment_comment"
    __table_args__ = (enum_check("status", COMMENT_STATUSES),)

    id: int | None = Field(default=None, primary_key=True)
    commitment_id: int = Field(foreign_key="commitment.id", index=True, ondelete="CASCADE")
    conseil_citoyen_id: int = Field(foreign_key="conseil_citoyen.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="user.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="en_attente", max_length=12)
    created_at: datetime = created_at_field()
    moderated_at: datetime | None = timestamp_field()
    moderated_by_id: int | None = Field(default=None, foreign_key="user.id")
