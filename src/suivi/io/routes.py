"""API of the spreadsheets: export download, blank template, import upload (with dry run),
open data. Thin: the work is in `suivi.io.export`, `suivi.io.importer`, `suivi.io.opendata`,
and what a user may read or change is decided by `suivi.scoping`."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated
from typing import Literal

from fastapi import Depends
from fastapi import File
from fastapi import Query
from fastapi import UploadFile
from fastapi.responses import JSONResponse
from fastapi.responses import Response
from sqlalchemy import Engine

from suivi import clock
from suivi.api.common import AsOfQuery
from suivi.api.common import Caller
from suivi.api.common import ContractQuery
from suivi.api.common import api_router
from suivi.api.common import resolve_as_of
from suivi.api.common import resolve_contract
from suivi.auth.deps import CurrentPrincipal
from suivi.auth.deps import require_role
from suivi.auth.principal import Principal
from suivi.deps import SessionDep
from suivi.deps import SettingsDep
from suivi.deps import get_engine
from suivi.errors import ApiError
from suivi.io.export import export_portfolio
from suivi.io.importer import dry_run_import
from suivi.io.importer import import_portfolio
from suivi.io.importer import read_upload
from suivi.io.opendata import table_schema
from suivi.io.opendata import write_opendata
from suivi.io.opendata import write_subventions
from suivi.io.reading import FileTooLargeError

router = api_router("tableurs", "/io")

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",
}
Importer = Annotated[Principal, Depends(require_role("admin", "chef_de_projet", "partenaire"))]
# Open data covers the whole contract: for the roles that read the whole contract.
WholeReader = Annotated[Principal, Depends(require_role("admin", "chef_de_projet", "copil"))]


class UploadTooLargeError(ApiError):
    status_code = 413


def export_filename(contract_code: str, fmt: str, template: bool = False) -> str:
    kind = "modele" if template else "portefeuille"
    return f"suivi-{contract_code}-{kind}.{'zip' if fmt == 'csv' else 'xlsx'}"


def _download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/export", summary="Exporter le portefeuille (xlsx ou CSV zippés)")
def export_download(
    session: SessionDep,
    principal: CurrentPrincipal,
    fmt: Annotated[Literal["xlsx", "csv"], Query(alias="format")] = "xlsx",
    contract_id: ContractQuery = None,
) -> Response:
    contract = resolve_contract(session, principal, contract_id)
    buffer = io.BytesIO()
    export_portfolio(session, contract.id, buffer, fmt=fmt, principal=principal)
    return _download(buffer.getvalue(), MEDIA_TYPES[fmt], export_filename(contract.code, fmt))


@router.get("/template", summary="Classeur vierge avec listes déroulantes")
def template_download(
    session: SessionDep, principal: CurrentPrincipal, contract_id: ContractQuery = None
) -> Response:
    contract = resolve_contract(session, principal, contract_id)
    buffer = io.BytesIO()
    export_portfolio(session, contract.id, buffer, template=True, principal=principal)
    return _download(
        buffer.getvalue(), MEDIA_TYPES["xlsx"], export_filename(contract.code, "xlsx", True)
    )


@router.post(
    "/import",
    summary="Importer un classeur (tout ou rien) ; dry_run pour vérifier sans enregistrer",
    responses={413: {"description": "Fichier trop volumineux, ou une fois décompressé"}},
)
def import_upload(
    session: SessionDep,
    principal: Importer,
    settings: SettingsDep,
    engine: Annotated[Engine, Depends(get_engine)],
    file: Annotated[UploadFile, File(description="Classeur .xlsx, archive .zip de CSV, ou CSV")],
    dry_run: bool = False,
    contract_id: ContractQuery = None,
    validate: Annotated[
        bool, Query(description="Valider les mesures importées (valideur du partenaire)")
    ] = False,
) -> JSONResponse:
    contract = resolve_contract(session, principal, contract_id)
    # End the transaction authentication opened: the file is read and typed without holding
    # the database's write lock (a slow or huge file would hold up every other writer).
    session.commit()
    try:
        read = read_upload(file.file, file.filename or "import", settings)
    except FileTooLargeError as exc:
        raise UploadTooLargeError(str(exc)) from None
    options = {
        "actor_id": principal.user_id,
        "actor_label": "import",
        "principal": principal,
        "today": clock.today(settings.tz),
        "validation_required": settings.validation.required,
        "revision_requires_decision": settings.governance.revision_requires_decision,
        "validate": validate,
    }
    if dry_run:
        report = dry_run_import(engine, contract.id, read, **options)
    else:
        report = import_portfolio(session, contract.id, read, **options)
    body = report.as_dict()
    if not report.ok:
        count = len(report.problems)
        body["detail"] = f"Import refusé : {count} problème(s), rien n'a été enregistré."
        body["errors"] = [{"field": p.location, "message": p.message} for p in report.problems]
        return JSONResponse(body, status_code=422)
    return JSONResponse(body)


async def _whole_reader_call(session: SessionDep, principal: WholeReader) -> Caller:
    return Caller(session, principal)


# A `Caller` who may read the whole contract (the open data files).
WholeReaderCall = Annotated[Caller, Depends(_whole_reader_call)]


def _csv_download(name: str, write: Callable[[Path], object], filename: str) -> Response:
    """The CSV file `write(path)` writes (in a temporary folder, as `name`), downloaded."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        write(path)
        content = path.read_bytes()
    return _download(content, "text/csv; charset=utf-8", filename)


@router.get("/opendata", summary="Données ouvertes : engagements et indicateurs par quartier")
def opendata_download(
    call: WholeReaderCall,
    settings: SettingsDep,
    as_of: AsOfQuery = None,
    contract_id: ContractQuery = None,
) -> Response:
    contract = resolve_contract(call.session, call.principal, contract_id)
    day = resolve_as_of(as_of, settings)
    return _csv_download(
        "engagements-qpv.csv",
        lambda path: write_opendata(call.session, contract.id, path, day),
        f"engagements-qpv-{contract.code}.csv",
    )


@router.get(
    "/opendata/subventions",
    summary="Subventions de plus de 23 000 € de l'année, au format SCDL « subventions » 2.1.1",
)
def opendata_subsidies(
    call: WholeReaderCall,
    year: Annotated[int, Query(ge=2000, le=2100, description="Année budgétaire.")],
    contract_id: ContractQuery = None,
) -> Response:
    contract = resolve_contract(call.session, call.principal, contract_id)
    return _csv_download(
        "subventions.csv",
        lambda path: write_subventions(call.session, contract.id, path, year),
        f"subventions-{contract.code}-{year}.csv",
    )


@router.get("/opendata/schema", summary="Table Schema du fichier de données ouvertes")
def opendata_schema(_principal: WholeReader) -> JSONResponse:
    return JSONResponse(table_schema())
