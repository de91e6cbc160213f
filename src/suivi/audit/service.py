"""Write audit rows. Call `record()` in the same session (transaction) as the change."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, SQLModel

from suivi.audit.models import AuditEvent
from suivi.db import utcnow


def snapshot(row: SQLModel | None, exclude: tuple[str, ...] = ("password_hash",)) -> dict | None:
    """A JSON-safe copy of a row's columns, for the before/after of an audit event."""
    if row is None:
        return None
    return json_safe(row.model_dump(exclude=set(exclude)))


def json_safe(data: dict) -> dict:
    """`data` as it reads back from JSON (dates and datetimes as ISO strings)."""
    return json.loads(json.dumps(data, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# A plain INSERT, built once: building an `AuditEvent` object and flushing it through the
# unit of work costs more than the insert itself (every write of the API records one).
_INSERT = insert(AuditEvent.__table__)


def record(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict | None = None,
    after: dict | None = None,
    actor_id: int | None = None,
    actor_label: str = "",
    contract_id: int | None = None,
) -> None:
    """Insert the audit row now, in `session`'s transaction."""
    session.flush()  # the audited change reaches the database first (the row may refer to it)
    session.connection().execute(  # the session's transaction, without the ORM layer
        _INSERT,
        dict(
            at=utcnow(),
            actor_id=actor_id,
            actor_label=actor_label,
            contract_id=contract_id,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            before=before,
            after=after,
        ),
    )
