"""The archive of generated reports: every PDF written once under ``settings.reports.dir``,
recorded in ``report_file`` (kind, scope, as_of, generated-at, pages, size, SHA-256), never
overwritten.

``generate_report`` is the one way to produce an archived report (CLI, API, job). It keeps
database transactions short: the figures are read in a read-only session, the PDF is laid
out with no session open (it takes seconds), and the file and its row are written last, in
a short write transaction that also records the audit event.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import Session

import suivi.models  # noqa: F401 - every table, for the foreign keys of report_file
from suivi.audit.service import record, snapshot
from suivi.config import Settings
from suivi.contract.models import Contract
from suivi.db import session_scope, utcnow
from suivi.reports.context import ReportContext, ReportError, build_report_context
from suivi.reports.models import ReportFile
from suivi.reports.render import RenderedReport, render_report

__all__ = [
    "GeneratedReport",
    "contract_id_of",
    "generate_report",
    "may_generate",
    "report_path",
    "store_report",
]


def may_generate(role: str, partner_id: int | None, kind: str, scope: str) -> bool:
    """Who may generate which report (API and pages alike): a partner account only the
    report of its own partner; every other role any report of its contracts."""
    if role == "partenaire":
        return kind == "partner" and scope == str(partner_id)
    return True


@dataclass(frozen=True)
class GeneratedReport:
    file: ReportFile
    path: Path  # absolute
    rendered: RenderedReport


def contract_id_of(session: Session, settings: Settings) -> int:
    """The id of the configured contract (`[contract] code`)."""
    contract_id = session.execute(
        select(Contract.id).where(Contract.code == settings.contract.code)
    ).scalar_one_or_none()
    if contract_id is None:
        raise ReportError(
            f"Contrat {settings.contract.code!r} introuvable : lancez d'abord « suivi init »."
        )
    return contract_id


def report_path(kind: str, scope: str, as_of: date, generated_at: datetime) -> Path:
    """Relative path: ``copil/2026/copil-2026-11-15-20261115T050000123456Z.pdf``."""
    safe_scope = "".join(ch for ch in scope if ch.isalnum() or ch in "-_")
    middle = f"-{safe_scope}" if safe_scope else ""
    stamp = generated_at.strftime("%Y%m%dT%H%M%S%fZ")
    return Path(kind) / f"{as_of.year}" / f"{kind}{middle}-{as_of.isoformat()}-{stamp}.pdf"


def _write_new(folder: Path, relative: Path, data: bytes) -> Path:
    """Create the file exclusively (O_EXCL): an existing file is never replaced; a clash
    gets a numbered name instead."""
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1000):
        candidate = target if attempt == 0 else target.with_stem(f"{target.stem}-{attempt}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            candidate.unlink(missing_ok=True)
            raise
        return candidate
    raise ReportError(f"Impossible de créer un nouveau fichier pour {relative}.")


def store_report(
    session: Session,
    settings: Settings,
    context: ReportContext,
    rendered: RenderedReport,
    *,
    generated_by_id: int | None = None,
    meeting_id: int | None = None,
    generated_at: datetime | None = None,
) -> GeneratedReport:
    """Write the PDF as a new file and add its `report_file` row and audit event (flush
    only; the caller's boundary commits). The file is removed again if the row fails."""
    generated_at = generated_at or utcnow()
    folder = Path(settings.reports.dir)
    path = _write_new(
        folder, report_path(context.kind, context.scope, context.as_of, generated_at), rendered.pdf
    )
    try:
        row = ReportFile(
            contract_id=context.contract.id,
            kind=context.kind,
            scope=context.scope,
            as_of=context.as_of,
            generated_at=generated_at,
            generated_by_id=generated_by_id,
            meeting_id=meeting_id,
            path=path.relative_to(folder).as_posix(),
            pages=rendered.pages,
            size_bytes=len(rendered.pdf),
            sha256=hashlib.sha256(rendered.pdf).hexdigest(),
            is_demo=context.contract.is_demo,
        )
        session.add(row)
        session.flush()
        record(
            session,
            action="create",
            entity="report_file",
            entity_id=row.id,
            after=snapshot(row),
            actor_id=generated_by_id,
            actor_label="" if generated_by_id else "système",
            contract_id=context.contract.id,
        )
        session.flush()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return GeneratedReport(row, path, rendered)


def generate_report(
    engine: Engine,
    settings: Settings,
    *,
    kind: str,
    scope: str = "",
    as_of: date,
    contract_id: int | None = None,
    generated_by_id: int | None = None,
    meeting_id: int | None = None,
) -> GeneratedReport:
    """Build, render and archive one report. Raises ReportError (French message) for an
    unknown kind, quartier or partner."""
    with session_scope(engine) as session:
        if contract_id is None:
            contract_id = contract_id_of(session, settings)
        context = build_report_context(
            session, contract_id=contract_id, kind=kind, scope=scope, as_of=as_of, tz=settings.tz
        )
    rendered = render_report(context, settings.reports.templates_dir)
    with session_scope(engine, write=True) as session:
        return store_report(
            session,
            settings,
            context,
            rendered,
            generated_by_id=generated_by_id,
            meeting_id=meeting_id,
        )
