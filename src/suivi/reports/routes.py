"""API of the PDF reports: list and download the archive, generate a report.

Who sees what: a partner account only the partner reports of its own partner (and may
generate only that one); the other roles (admin, chef·fe de projet, COPIL) every report of
their contracts. Reports outside the user's reach answer 404, like everything else. Who
generates: `suivi.scoping.can_generate_report` (the COPIL role reads, never generates: 403).

Generation takes seconds: the route is a plain `def` (FastAPI runs it in a worker thread,
outside the event loop) and it releases the request's transaction before rendering, so no
database lock is held while WeasyPrint lays out the pages.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import Query
from fastapi import Request
from fastapi.responses import FileResponse
from pydantic import BaseModel
from pydantic import Field

from suivi.api.common import MAX_ID
from suivi.api.common import CallerDep
from suivi.api.common import ContractQuery
from suivi.api.common import Day
from suivi.api.common import Page
from suivi.api.common import PagingDep
from suivi.api.common import PathId
from suivi.api.common import StrictModel
from suivi.api.common import api_router
from suivi.api.common import check_in_term
from suivi.api.common import resolve_as_of
from suivi.api.common import resolve_contract
from suivi.codes import REPORT_KINDS
from suivi.codes import ReportKind
from suivi.contract.models import Meeting
from suivi.deps import SettingsDep
from suivi.errors import Invalid
from suivi.errors import NotFound
from suivi.errors import forbidden
from suivi.reports import access
from suivi.reports.archive import generate_report
from suivi.reports.context import ReportError
from suivi.reports.models import ReportFile
from suivi.scoping import can_generate_report
from suivi.scoping import report_refusal

router = api_router("rapports", "/reports")

Kind = ReportKind


class ReportOut(BaseModel):
    id: int
    contract_id: int
    kind: str
    scope: str
    as_of: date
    generated_at: datetime
    meeting_id: int | None
    pages: int
    size_bytes: int
    sha256: str
    is_demo: bool
    download_url: str


class ReportIn(StrictModel):
    kind: Kind
    scope: str = Field(
        default="",
        max_length=40,
        description="Code du quartier (quartier) ou identifiant du partenaire (partner).",
    )
    as_of: Day | None = Field(default=None, description="Date de situation (défaut : aujourd'hui).")
    contract_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    meeting_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="Instance préparée (rapport COPIL) : sa date d'arrêt des données s'applique.",
    )


def _out(row: ReportFile) -> ReportOut:
    return ReportOut(
        **row.model_dump(include=set(ReportOut.model_fields) - {"download_url"}),
        download_url=f"/api/reports/{row.id}/pdf",
    )


@router.get("", summary="Rapports archivés", response_model=Page[ReportOut])
def list_reports(
    call: CallerDep,
    paging: PagingDep,
    contract_id: ContractQuery = None,
    kind: Annotated[Kind | None, Query(description="Type de rapport.")] = None,
) -> Page[ReportOut]:
    contract = resolve_contract(call.session, call.principal, contract_id)
    query = access.visible_reports(call.principal, contract_id=contract.id)
    if kind is not None:
        query = query.where(ReportFile.kind == kind)
    query = query.order_by(ReportFile.generated_at.desc(), ReportFile.id.desc())
    return paging.of(call.session, query, lambda rows: [_out(r) for r in rows])


@router.get("/{report_id}", summary="Un rapport archivé", response_model=ReportOut)
def get_report(call: CallerDep, report_id: PathId) -> ReportOut:
    return _out(access.get_readable(call.session, call.principal, report_id))


@router.get(
    "/{report_id}/pdf",
    summary="Télécharger le PDF",
    response_class=FileResponse,
    responses={200: {"content": {"application/pdf": {}}}},
)
def download_report(call: CallerDep, settings: SettingsDep, report_id: PathId) -> FileResponse:
    row = access.get_readable(call.session, call.principal, report_id)
    folder = Path(settings.reports.dir).resolve()
    path = (folder / row.path).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        raise NotFound("Fichier du rapport introuvable dans l'archive.")
    scope = f"-{row.scope}" if row.scope else ""
    return FileResponse(
        path,
        media_type="application/pdf",
        filename=f"rapport-{row.kind}{scope}-{row.as_of.isoformat()}.pdf",
        headers={"X-Content-SHA256": row.sha256},
    )


@router.post("", summary="Générer un rapport", status_code=201, response_model=ReportOut)
def create_report(
    call: CallerDep,
    request: Request,
    settings: SettingsDep,
    body: ReportIn,
) -> ReportOut:
    contract = resolve_contract(call.session, call.principal, body.contract_id)
    scope = body.scope.strip()
    if body.kind in ("quartier", "partner") and not scope:
        raise Invalid("scope", "Indiquez le quartier (code QPV) ou le partenaire (identifiant).")
    if body.kind in ("copil", "annual", "mi_parcours"):
        scope = ""
    if not can_generate_report(call.principal, body.kind, scope):
        raise forbidden(report_refusal(call.principal))
    as_of = resolve_as_of(body.as_of, settings)
    check_in_term(contract, as_of, "as_of")
    if body.meeting_id is not None:
        meeting = call.session.get(Meeting, body.meeting_id)
        if meeting is None or meeting.contract_id != contract.id:
            raise NotFound("Instance introuvable.")
        if body.kind != "copil":
            raise Invalid("meeting_id", "Seul un rapport COPIL prépare une instance.")
    # End the request's transaction now: rendering takes seconds and must hold no lock.
    call.session.commit()
    try:
        generated = generate_report(
            request.app.state.engine,
            settings,
            kind=body.kind,
            scope=scope,
            as_of=as_of,
            contract_id=contract.id,
            generated_by_id=call.principal.user_id,
            meeting_id=body.meeting_id,
        )
    except ReportError as exc:
        raise Invalid("scope", str(exc)) from None
    return _out(generated.file)


__all__ = ["REPORT_KINDS", "router"]
