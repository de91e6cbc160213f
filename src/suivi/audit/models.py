"""The audit trail: one row per change, written in the transaction of the change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field
from sqlmodel import SQLModel

from suivi.codes import AUDIT_ACTIONS
from suivi.modelbase import created_at_field
from suivi.modelbase import enum_check
from suivi.modelbase import json_field


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        enum_check("action", AUDIT_ACTIONS),
        Index("ix_audit_event_entity", "entity", "entity_id"),
        Index("ix_audit_event_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    actor_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    # Who acted when there is no user (a job, the CLI, the import): e.g. "cli", "job:...".
    actor_label: str = Field(default="", max_length=120)
    contract_id: int | None = Field(default=None, foreign_key="contract.id")
    action: str = Field(max_length=10)
    entity: str = Field(max_length=40)
    entity_id: str = Field(max_length=40)
    before: dict | None = json_field(default_factory=lambda: None, nullable=True)
    after: dict | None = json_field(default_factory=lambda: None, nullable=True)
