"""`GET /api/audit`: the audit trail, for admins, with filters."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Annotated
from typing import Any

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select

from suivi.api.common import MAX_ID
from suivi.api.common import AdminCallDep
from suivi.api.common import Page
from suivi.api.common import PagingDep
from suivi.api.common import api_router
from suivi.api.common import models
from suivi.audit.models import AuditEvent
from suivi.auth.models import UserContract
from suivi.auth.principal import Principal
from suivi.codes import AuditAction
from suivi.deps import SettingsDep

router = api_router("journal")


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_label: str
    contract_id: int | None
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def visible_events(admin: Principal):
    """WHERE condition on `AuditEvent`: what this admin may read. A login or a token event
    names no contract: it is shown to the admins of its user's contracts only."""
    colleagues = select(UserContract.user_id).where(
        UserContract.contract_id.in_(admin.contract_ids)
    )
    return or_(
        AuditEvent.contract_id.in_(admin.contract_ids),
        and_(
            AuditEvent.contract_id.is_(None),
            or_(
                AuditEvent.actor_id.is_(None),
                AuditEvent.actor_id == admin.user_id,
                AuditEvent.actor_id.in_(colleagues),
            ),
        ),
    )


@router.get("/audit", summary="Journal des modifications")
def list_audit(
    call: AdminCallDep,
    settings: SettingsDep,
    paging: PagingDep,
    entity: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
    entity_id: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    action: Annotated[AuditAction | None, Query()] = None,
    actor_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    since: Annotated[date | None, Query(description="Depuis ce jour (inclus)")] = None,
    until: Annotated[date | None, Query(description="Jusqu'à ce jour (inclus)")] = None,
) -> Page[AuditOut]:
    """Newest first. Events of the admin's contracts; of those tied to no contract (logins,
    tokens, jobs), the ones done by no user or by a user of the admin's contracts."""
    query = select(AuditEvent).where(visible_events(call.principal))
    if entity:
        query = query.where(AuditEvent.entity == entity)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    tz = settings.tz
    if since is not None and date(1990, 1, 1) <= since <= date(2100, 1, 1):
        query = query.where(AuditEvent.at >= datetime.combine(since, time(), tz))
    if until is not None and date(1990, 1, 1) <= until <= date(2100, 1, 1):
        query = query.where(AuditEvent.at < datetime.combine(until + timedelta(days=1), time(), tz))
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    return paging.of(call.session, query, models(AuditOut))
