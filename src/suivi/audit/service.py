"""Write audit rows. Call `record()` (or `record_many()`) in the same session (transaction) as
the change."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any
from typing import TypedDict
from typing import Unpack
from typing import overload

from sqlalchemy import insert
from sqlmodel import Session
from sqlmodel import SQLModel

from suivi.audit.models import AuditEvent
from suivi.db import utcnow


@overload
def snapshot(row: SQLModel, exclude: tuple[str, ...] = ...) -> dict: ...
@overload
def snapshot(row: None, exclude: tuple[str, ...] = ...) -> None: ...
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


class Actor(TypedDict, total=False):
    """Who made a change and in which contract: `record`'s last arguments, as one value."""

    actor_id: int | None
    actor_label: str
    contract_id: int | None


# An actor not named: no user, no label, no contract.
_NOBODY = Actor(actor_id=None, actor_label="", contract_id=None)


def record(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict | None = None,
    after: dict | None = None,
    **actor: Unpack[Actor],
) -> None:
    """Insert the audit row now, in `session`'s transaction (`record_many` of one)."""
    record_many(session, [Change(action, entity, entity_id, before, after)], **actor)


@dataclass(frozen=True, slots=True)
class Change:
    """One audited change: what `record` takes, for `record_many`."""

    action: str
    entity: str
    entity_id: Any
    before: dict | None = None
    after: dict | None = None


def record_many(
    session: Session,
    changes: Sequence[Change],
    *,
    at: datetime | None = None,
    **actor: Unpack[Actor],
) -> None:
    """Insert one audit row per change, by one actor in one contract, in a single
    `executemany` in `session`'s transaction (an import audits thousands of rows). `at`: the
    time recorded (now by default), for changes audited in several calls but made at once."""
    if not changes:
        return
    session.flush()  # the audited changes reach the database first (rows may refer to them)
    if at is None:
        at = utcnow()
    who = {**_NOBODY, **actor}
    session.connection().execute(  # the session's transaction, without the ORM layer
        _INSERT,
        [
            dict(
                at=at,
                **who,
                action=change.action,
                entity=change.entity,
                entity_id=str(change.entity_id),
                before=change.before,
                after=change.after,
            )
            for change in changes
        ],
    )


def record_change(
    session: Session,
    action: str,
    entity: str,
    row: SQLModel,
    before: dict | None = None,
    after: dict | None = None,
    **actor: Unpack[Actor],
) -> None:
    """`record` of a change to one row, named by its id. `before` is the snapshot the caller
    took first; `after` defaults to the row's `snapshot` now (none after a delete)."""
    if after is None and action != "delete":
        after = snapshot(row)
    record_many(session, [Change(action, entity, row.id, before, after)], **actor)
