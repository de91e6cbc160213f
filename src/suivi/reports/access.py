"""Which archived reports a principal may read: one rule for the API and the pages (it was
written twice, issue 16), built on `suivi.scoping`.

Every role reads the reports of its contracts, except a partner, who reads only the
partner reports about itself, and a conseil citoyen, who reads the reports about its
quartiers (`scoping.conseil_citoyen_report_condition`). What may not be read answers 404,
never a hint that it exists.
"""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.auth.principal import Principal
from suivi.errors import NotFound
from suivi.reports.models import ReportFile

NOT_FOUND = "Rapport introuvable."


def visible_reports(principal: Principal, *, contract_id: int | None = None) -> Select:
    """`select(ReportFile)` limited to what the principal may read (and to one contract)."""
    query = select(ReportFile).where(scoping.contract_condition(ReportFile.contract_id, principal))
    if contract_id is not None:
        query = query.where(ReportFile.contract_id == contract_id)
    if principal.role == "partenaire":
        query = query.where(
            ReportFile.kind == "partner", ReportFile.scope == str(principal.partner_id or "")
        )
    if principal.role == "conseil_citoyen":
        query = query.where(scoping.conseil_citoyen_report_condition(principal))
    return query


def get_readable(
    session: Session, principal: Principal, report_id: int, *, contract_id: int | None = None
) -> ReportFile:
    """The archived report, if the principal may read it; else 404."""
    row = session.execute(
        visible_reports(principal, contract_id=contract_id).where(ReportFile.id == report_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(NOT_FOUND)
    return row
