"""Decisions of the committees (COPIL, COTECH, mid-term review) and their follow-up.

A meeting's agenda and participants live here too, so that `Meeting` itself only gains a
status column. A decision links to commitments, indicators and quartiers; its follow-up is a
dated history of updates (status changes and comments), never overwritten.
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

from suivi.codes import AGENDA_SOURCES
from suivi.codes import DECISION_ALERT_KINDS
from suivi.codes import DECISION_KINDS
from suivi.codes import DECISION_STATUSES
from suivi.codes import LINK_KINDS
from suivi.codes import DecisionStatus
from suivi.modelbase import alert_table_args
from suivi.modelbase import created_at_field
from suivi.modelbase import enum_check

# Decisions still to be carried out: the only ones that can be late.
OPEN_DECISION_STATUSES = (DecisionStatus.OUVERTE, DecisionStatus.EN_COURS)


class MeetingParticipant(SQLModel, table=True):
    """A partner represented at a meeting."""

    __tablename__ = "meeting_participant"

    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True, ondelete="CASCADE")
    partner_id: int = Field(foreign_key="partner.id", primary_key=True, index=True)


class AgendaItem(SQLModel, table=True):
    """One point of a meeting's agenda: from the COPIL report's « Points appelant une
    décision » (`rapport`, with the indicator or commitment code in `reference`) or typed in
    (`libre`)."""

    __tablename__ = "agenda_item"
    __table_args__ = (enum_check("source", AGENDA_SOURCES),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True, ondelete="CASCADE")
    position: int = 0
    title: str = Field(max_length=300)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    source: str = Field(default="libre", max_length=10)
    reference: str = Field(default="", max_length=40)


class Decision(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("meeting_id", "number", name="uq_decision_meeting_number"),
        enum_check("kind", DECISION_KINDS),
        enum_check("status", DECISION_STATUSES),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Denormalised from the meeting: every list is per contract.
    contract_id: int = Field(foreign_key="contract.id", index=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    number: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(default="action", max_length=20)
    owner_partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    owner_contact_id: int | None = Field(default=None, foreign_key="partner_contact.id")
    due_on: date | None = Field(default=None, index=True)
    status: str = Field(default="ouverte", max_length=12)
    # Avenant that carries the decision, when there is one (« Avenant n° 2 du 3 mars 2027 »).
    avenant_reference: str = Field(default="", max_length=200)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class DecisionLink(SQLModel, table=True):
    """What a decision is about: a commitment, an indicator or a quartier."""

    __tablename__ = "decision_link"
    __table_args__ = (enum_check("target_kind", LINK_KINDS),)

    decision_id: int = Field(foreign_key="decision.id", primary_key=True, ondelete="CASCADE")
    target_kind: str = Field(max_length=12, primary_key=True)
    target_id: int = Field(primary_key=True)


class DecisionUpdate(SQLModel, table=True):
    """One dated step of a decision's follow-up: a comment, a status change, or an amendment
    of its text after the relevé was sent (`old_text` keeps what the relevé said)."""

    __tablename__ = "decision_update"
    __table_args__ = (enum_check("new_status", DECISION_STATUSES, nullable=True),)

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decision.id", index=True, ondelete="CASCADE")
    on: date
    comment: str = Field(sa_column=Column(Text, nullable=False, default=""))
    old_status: str | None = Field(default=None, max_length=12)
    new_status: str | None = Field(default=None, max_length=12)
    old_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    author_id: int | None = Field(default=None, foreign_key="user.id")
    author_label: str = Field(default="", max_length=200)
    created_at: datetime = created_at_field()


class DecisionAlert(SQLModel, table=True):
    """A `decision_overdue` alert: opened by the daily check when an open decision passes
    its due date, resolved when it is carried out, abandoned or given a later due date."""

    __tablename__ = "decision_alert"
    __table_args__ = alert_table_args("decision_alert", "decision_id", DECISION_ALERT_KINDS)

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id")
    decision_id: int = Field(foreign_key="decision.id", ondelete="CASCADE")
    kind: str = Field(default="decision_overdue", max_length=20)
    opened_on: date
    resolved_on: date | None = None
    created_at: datetime = created_at_field()
