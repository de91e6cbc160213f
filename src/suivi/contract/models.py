"""The contract and its reference data: communes, quartiers (QPV), partners, priorities,
meetings, and partner contacts."""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import Column
from sqlalchemy import Select
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import select
from sqlmodel import Field
from sqlmodel import SQLModel

from suivi.codes import CONTACT_FREQUENCIES
from suivi.codes import DOMAINS
from suivi.codes import MEETING_KINDS
from suivi.codes import MEETING_STATUSES
from suivi.codes import PARTNER_KINDS
from suivi.modelbase import created_at_field
from suivi.modelbase import enum_check
from suivi.modelbase import json_field
from suivi.modelbase import timestamp_field


class Contract(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("term_start < term_end", name="term_order"),
        CheckConstraint(
            "midterm_review_on IS NULL OR (midterm_review_on > term_start"
            " AND midterm_review_on < term_end)",
            name="midterm_within_term",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    territory: str = Field(max_length=200)
    signed_on: date
    term_start: date
    term_end: date
    midterm_review_on: date | None = None
    # Invented demo portfolio: every page, report and email made from it says so.
    is_demo: bool = False
    created_at: datetime = created_at_field()


class Commune(SQLModel, table=True):
    __table_args__ = (CheckConstraint("length(insee) = 5", name="insee_length"),)

    id: int | None = Field(default=None, primary_key=True)
    insee: str = Field(max_length=5, unique=True)
    name: str = Field(max_length=120)
    epci: str = Field(max_length=160)
    longitude: float | None = None
    latitude: float | None = None
    # Receives the dotation de solidarité urbaine: the annual report has a section for it.
    receives_dsu: bool = False
    # The conseil municipal's address, consulted on the annual report (not a person's).
    council_email: str = Field(default="", max_length=254)


class Quartier(SQLModel, table=True):
    """A QPV: national reference data, shared by every contract that lists it."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=12, unique=True)
    name: str = Field(max_length=200)
    cited_in_press_release: bool = False
    contour: dict | None = json_field(default_factory=lambda: None, nullable=True)


class ContractQuartier(SQLModel, table=True):
    """The quartiers a contract lists; two contracts may list the same QPV."""

    __tablename__ = "contract_quartier"

    contract_id: int = Field(foreign_key="contract.id", primary_key=True)
    quartier_id: int = Field(foreign_key="quartier.id", primary_key=True, index=True)
    # Per contract, and editable: the contract's exact annex is not public (21 quartiers
    # announced, 22 touch the agglomeration).
    in_contract: bool = False


def contract_quartier_ids(contract_id: int, in_contract: bool | None = None) -> Select:
    """`SELECT quartier_id` of the quartiers the contract lists (for `Quartier.id.in_()`);
    with `in_contract`, only those whose flag in this contract has that value."""
    query = select(ContractQuartier.quartier_id).where(ContractQuartier.contract_id == contract_id)
    if in_contract is not None:
        query = query.where(ContractQuartier.in_contract == in_contract)
    return query


class QuartierCommune(SQLModel, table=True):
    __tablename__ = "quartier_commune"

    quartier_id: int = Field(foreign_key="quartier.id", primary_key=True, ondelete="CASCADE")
    commune_id: int = Field(foreign_key="commune.id", primary_key=True, index=True)


class Partner(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("contract_id", "code", name="uq_partner_contract_code"),
        enum_check("kind", PARTNER_KINDS),
        CheckConstraint("siren IS NULL OR length(siren) = 9", name="siren_length"),
        CheckConstraint("siret IS NULL OR length(siret) = 14", name="siret_length"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    is_signatory: bool = False
    siren: str | None = Field(default=None, max_length=9)
    # The establishment that signs its subsidy conventions (SCDL `idAttribuant`).
    siret: str | None = Field(default=None, max_length=14)
    commune_id: int | None = Field(default=None, foreign_key="commune.id")


class PartnerContact(SQLModel, table=True):
    __tablename__ = "partner_contact"
    __table_args__ = (
        UniqueConstraint("partner_id", "email", name="uq_partner_contact_partner_email"),
        enum_check("frequency", CONTACT_FREQUENCIES),
    )

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    name: str = Field(max_length=160)
    email: str = Field(max_length=254)
    role: str = Field(default="", max_length=160)
    frequency: str = Field(default="monthly", max_length=10)
    # Random token in the unsubscribe link: works without logging in, one per contact.
    unsubscribe_token: str = Field(max_length=64, unique=True)
    unsubscribed_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class Priority(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("contract_id", "code", name="uq_priority_contract_code"),
        enum_check("domain", DOMAINS),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    parent_id: int | None = Field(default=None, foreign_key="priority.id", index=True)
    code: str = Field(max_length=20)
    title: str = Field(max_length=300)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    domain: str = Field(max_length=20)
    tags: list[str] = json_field(default_factory=list)
    position: int = 0


class Meeting(SQLModel, table=True):
    __table_args__ = (
        enum_check("kind", MEETING_KINDS),
        enum_check("status", MEETING_STATUSES),
        CheckConstraint("NOT locked OR data_cutoff IS NOT NULL", name="locked_has_cutoff"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    kind: str = Field(max_length=20)
    held_on: date = Field(index=True)
    title: str = Field(max_length=200)
    location: str = Field(default="", max_length=200)
    # The committee cycle (suivi.governance), migration 0008.
    status: str = Field(default="prevue", max_length=16)
    # Data cut-off (date d'arrêt des données, migration 0008): once locked, figures dated on
    # or before it are frozen for this committee (`suivi.indicators.review.check_cutoff`).
    data_cutoff: date | None = None
    locked: bool = False
