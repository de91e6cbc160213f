"""« Importer un classeur »: upload a workbook (.xlsx, .zip of CSV, or one CSV), check it —
optionally only check it (dry run) — and import it all or nothing.

The work is `suivi.io.importer.import_portfolio` (it never commits and writes nothing when
there is a single problem); this page rolls the request back on problems, lists every one of
them (sheet, row, column, French message), and after a real import redirects (PRG) to a
confirmation that reads its counts back from the import's audit row.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter
from fastapi import File
from fastapi import Form
from fastapi import UploadFile
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from sqlalchemy import select

from suivi import clock
from suivi.audit.models import AuditEvent
from suivi.io.importer import ImportProblem
from suivi.io.importer import ImportReport
from suivi.io.importer import dry_run_import
from suivi.io.importer import import_portfolio
from suivi.io.importer import read_upload
from suivi.io.reading import FileTooLargeError
from suivi.web.common import CsrfField
from suivi.web.common import Page
from suivi.web.common import PageDep
from suivi.web.common import PageError

router = APIRouter(include_in_schema=False)

IMPORT_ROLES = frozenset({"admin", "chef_de_projet", "partenaire"})
ACCEPT = ".xlsx,.zip,.csv"


def _importer(page: Page) -> Page:
    if page.principal.role not in IMPORT_ROLES:
        raise PageError(403, "Votre rôle ne permet pas d'importer des données.")
    return page


def _imported_lines(page: Page, event_id: int) -> list[str] | None:
    """The summary of this user's import `event_id` (its audit row), or None."""
    event = page.session.execute(
        select(AuditEvent).where(
            AuditEvent.id == event_id,
            AuditEvent.action == "import",
            AuditEvent.actor_id == page.principal.user_id,
            AuditEvent.contract_id == page.contract.id,
        )
    ).scalar_one_or_none()
    if event is None:
        return None
    after = event.after or {}
    report = ImportReport(
        dry_run=False,
        created=Counter(after.get("created") or {}),
        updated=Counter(after.get("updated") or {}),
        deleted=Counter(after.get("deleted") or {}),
    )
    return report.summary_lines()


def _in_file_order(problems: list[ImportProblem]) -> list[ImportProblem]:
    """Sheets in the order the file has them, then row by row (the importer lists them by
    kind of check: cells first, then references)."""
    sheets: dict[str, int] = {}
    for problem in problems:
        sheets.setdefault(problem.sheet, len(sheets))
    return sorted(problems, key=lambda p: (sheets[p.sheet], p.row or 0))


def _render(page: Page, status_code: int = 200, **context) -> Response:
    context.setdefault("error", "")
    context.setdefault("report", None)
    context.setdefault("problems", [])
    context.setdefault("dry_run", False)
    context.setdefault("filename", "")
    context.setdefault("imported", None)
    return page.render(
        "import.html",
        status_code=status_code,
        accept=ACCEPT,
        max_mb=page.settings.io.max_upload_bytes // 2**20,
        **context,
    )


@router.get("/import")
def import_form(page: PageDep) -> Response:
    _importer(page)
    imported = None
    raw = page.request.query_params.get("importe") or ""
    if raw.isdigit():
        # 0: the file matched the data already (no change, so no audit row).
        imported = [] if raw == "0" else _imported_lines(page, int(raw))
    return _render(page, imported=imported)


@router.post("/import")
def import_upload(
    page: PageDep,
    fichier: Annotated[UploadFile | None, File()] = None,
    essai: Annotated[str, Form(max_length=10)] = "",
    valider: Annotated[str, Form(max_length=10)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    page.check_csrf(csrf_token)
    _importer(page)
    dry_run = bool(essai)
    filename = (fichier.filename or "") if fichier is not None else ""
    if fichier is None or not filename:
        return _render(page, 422, error="Choisissez le fichier à importer.", dry_run=dry_run)
    if not fichier.file.read(1):
        return _render(page, 422, error="Le fichier est vide.", dry_run=dry_run)
    # End the transaction of the page's own queries: the file is read and typed without
    # holding the database's write lock.
    page.session.commit()
    try:
        read = read_upload(fichier.file, filename, page.settings)
    except FileTooLargeError as exc:
        return _render(page, 413, error=str(exc), dry_run=dry_run)
    options = {
        "actor_id": page.principal.user_id,
        "actor_label": page.principal.label,
        "principal": page.principal,
        "today": clock.today(page.settings.tz),
        "validation_required": page.settings.validation.required,
        "revision_requires_decision": page.settings.governance.revision_requires_decision,
        "validate": bool(valider),
    }
    if dry_run:
        report = dry_run_import(page.request.app.state.engine, page.contract.id, read, **options)
    else:
        report = import_portfolio(page.session, page.contract.id, read, **options)
    if not report.ok or dry_run:  # a 422 writes nothing (the boundary rolls it back)
        return _render(
            page,
            422 if not report.ok else 200,
            report=report,
            problems=_in_file_order(report.problems),
            dry_run=dry_run,
            filename=filename,
        )
    event_id = page.session.execute(
        select(AuditEvent.id)
        .where(
            AuditEvent.action == "import",
            AuditEvent.actor_id == page.principal.user_id,
            AuditEvent.contract_id == page.contract.id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return RedirectResponse(
        page.url("/import", importe=event_id if report.changes and event_id else 0),
        status_code=303,
    )
