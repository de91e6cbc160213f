"""Reports page: the archive of generated PDF reports (list, download, generate) and the
spreadsheet exports. A partner account sees and generates only its own partner's report; the
COPIL role reads and downloads, without the form to generate (`can_generate_report`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi import Form
from fastapi.responses import FileResponse
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from sqlalchemy import select

from suivi.codes import REPORT_KINDS
from suivi.contract.models import Partner
from suivi.contract.models import Quartier
from suivi.contract.models import contract_quartier_ids
from suivi.labels import REPORT_KIND_LABELS
from suivi.reports import access
from suivi.reports.archive import generate_report
from suivi.reports.context import ReportError
from suivi.reports.models import ReportFile
from suivi.scoping import can_generate_report
from suivi.scoping import report_refusal
from suivi.web.common import CsrfField
from suivi.web.common import Page
from suivi.web.common import PageDep
from suivi.web.common import PageError
from suivi.web.common import PageId
from suivi.web.common import not_found
from suivi.web.common import page_errors

router = APIRouter(include_in_schema=False)


def _reports_query(page: Page):
    return access.visible_reports(page.principal, contract_id=page.contract.id)


@router.get("/rapports")
def reports_page(page: PageDep) -> Response:
    return _render_reports(page)


def _render_reports(
    page: Page, errors: dict[str, str] | None = None, values: dict | None = None
) -> Response:
    kind = page.request.query_params.get("type") or ""
    query = _reports_query(page)
    if kind in REPORT_KINDS:
        query = query.where(ReportFile.kind == kind)
    pagination, rows = page.paginate(
        query.order_by(ReportFile.generated_at.desc(), ReportFile.id.desc())
    )
    reports = list(rows.scalars())
    partner_names = dict(
        page.session.execute(
            select(Partner.id, Partner.name).where(Partner.contract_id == page.contract.id)
        ).all()
    )
    quartier_names = dict(
        page.session.execute(
            select(Quartier.code, Quartier.name).where(
                Quartier.id.in_(contract_quartier_ids(page.contract.id))
            )
        ).all()
    )

    def scope_label(report: ReportFile) -> str:
        if report.kind == "partner" and report.scope.isdigit():
            return partner_names.get(int(report.scope), report.scope)
        if report.kind == "quartier":
            return quartier_names.get(report.scope, report.scope)
        return "Tout le contrat"

    quartiers = page.session.execute(
        select(Quartier.code, Quartier.name)
        .where(Quartier.id.in_(contract_quartier_ids(page.contract.id, in_contract=True)))
        .order_by(Quartier.name)
    ).all()
    return page.render(
        "reports.html",
        status_code=422 if errors else 200,
        reports=reports,
        pagination=pagination,
        kind=kind,
        kinds=REPORT_KIND_LABELS,
        scope_label=scope_label,
        quartiers=quartiers,
        partners=sorted(partner_names.items(), key=lambda item: item[1]),
        errors=errors or {},
        values=values or {},
        may_generate=can_generate_report(page.principal),
    )


@router.post("/rapports")
def generate_report_page(
    page: PageDep,
    kind: Annotated[str, Form(alias="type", max_length=20)] = "",
    quartier: Annotated[str, Form(max_length=20)] = "",
    partenaire: Annotated[str, Form(max_length=20)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Generate a report at the page's date, archive it, and come back to the list."""
    page.check_csrf(csrf_token)
    principal = page.principal
    if principal.role == "partenaire":
        kind, partenaire = "partner", str(principal.partner_id)
    values = {"type": kind, "quartier": quartier, "partenaire": partenaire}
    scope = {"quartier": quartier, "partner": partenaire}.get(kind, "")
    if kind not in REPORT_KINDS:
        return _render_reports(page, {"type": "Choisissez le type de rapport."}, values)
    if kind in ("quartier", "partner") and not scope:
        field = "quartier" if kind == "quartier" else "partenaire"
        message = "Choisissez le quartier." if kind == "quartier" else "Choisissez le partenaire."
        return _render_reports(page, {field: message}, values)
    if not can_generate_report(principal, kind, scope):
        raise PageError(403, report_refusal(principal))
    # Rendering takes seconds: end the request's transaction first so no lock is held.
    page.session.commit()
    try:
        generated = generate_report(
            page.request.app.state.engine,
            page.settings,
            kind=kind,
            scope=scope,
            as_of=page.as_of,
            contract_id=page.contract.id,
            generated_by_id=principal.user_id,
        )
    except ReportError as exc:
        field = "quartier" if kind == "quartier" else "partenaire"
        return _render_reports(page, {field: str(exc)}, values)
    return RedirectResponse(page.url("/rapports", genere=generated.file.id), status_code=303)


@router.get("/rapports/{report_id}/telecharger")
def report_download(page: PageDep, report_id: PageId) -> Response:
    with page_errors():
        report = access.get_readable(
            page.session, page.principal, report_id, contract_id=page.contract.id
        )
    root = Path(page.settings.reports.dir).resolve()
    path = (root / report.path).resolve()
    if root not in path.parents or not path.is_file():
        raise not_found("Fichier du rapport")
    return FileResponse(path, media_type="application/pdf", filename=path.name)
