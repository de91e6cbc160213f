"""The archive of generated reports: every PDF written once under ``settings.reports.dir``,
recorded in ``report_file`` (kind, scope, as_of, generated-at, pages, size, SHA-256), never
overwritten.

``generate_report`` is the one way to produce an archived report (CLI, API, job). It keeps
database transactions short: the figures are read in a read-only session, the PDF is laid
out with no session open (it takes seconds), and the file and its row are written last, in
a short write transaction that also records the audit event.

Crash-safe: the PDF is written under a temporary name (``….pdf.part``) and renamed to its
final name only once its row is committed, so a crash never leaves a final-named file
without a row; ``sweep_archive`` (run at each generation) cleans what a crash left. The same
bytes are archived once: generating them again returns the archived entry.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy import select
from sqlmodel import Session

import suivi.models  # noqa: F401 - every table, for the foreign keys of report_file
from suivi.audit.service import Actor
from suivi.audit.service import record
from suivi.audit.service import record_change
from suivi.config import Settings
from suivi.contract.models import Contract
from suivi.db import session_scope
from suivi.db import utcnow
from suivi.reports.context import ReportContext
from suivi.reports.context import ReportError
from suivi.reports.context import build_report_context
from suivi.reports.midterm import build_midterm_context
from suivi.reports.midterm import midterm_csv
from suivi.reports.models import MIDTERM_KIND
from suivi.reports.models import ReportFile
from suivi.reports.render import RenderedReport
from suivi.reports.render import render_report

log = logging.getLogger(__name__)

__all__ = [
    "GeneratedReport",
    "archive_report",
    "contract_id_of",
    "generate_report",
    "publish",
    "report_path",
    "store_report",
    "sweep_archive",
]

# A file being written is named after its final name plus this suffix until its row is
# committed; a crash leaves at most such a file, which `sweep_archive` removes.
TEMPORARY_SUFFIX = ".part"
# Files without a row are removed once older than this (younger ones may be in progress).
ORPHAN_AGE = timedelta(days=1)


@dataclass(frozen=True)
class GeneratedReport:
    file: ReportFile
    path: Path  # absolute, final name
    rendered: RenderedReport
    # Where the PDF is until `publish` (after the commit); None once published or reused.
    temporary: Path | None = None


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


def _write_temporary(folder: Path, relative: Path, data: bytes) -> tuple[Path, Path]:
    """Write `data` under a temporary name next to a final name that is free (neither it nor
    its temporary exists: O_EXCL); a clash gets a numbered name instead. Returns (final,
    temporary)."""
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1000):
        final = target if attempt == 0 else target.with_stem(f"{target.stem}-{attempt}")
        temporary = _temporary(final)
        if final.exists():
            continue
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return final, temporary
    raise ReportError(f"Impossible de créer un nouveau fichier pour {relative}.")


def _temporary(final: Path) -> Path:
    return final.with_name(final.name + TEMPORARY_SUFFIX)


def _rename_once(temporary: Path, final: Path) -> None:
    """Give `temporary` its final name, never replacing a file (hard link, then unlink);
    done already (by a sweep) is fine."""
    try:
        os.link(temporary, final)
    except FileExistsError:
        pass
    except FileNotFoundError:
        if not final.exists():
            raise
    temporary.unlink(missing_ok=True)


def publish(generated: GeneratedReport) -> GeneratedReport:
    """After the commit of its row: the PDF gets its final name."""
    if generated.temporary is not None:
        _rename_once(generated.temporary, generated.path)
    return GeneratedReport(generated.file, generated.path, generated.rendered)


def discard(generated: GeneratedReport | None) -> None:
    """Its row was not committed: remove the temporary file."""
    if generated is not None and generated.temporary is not None:
        generated.temporary.unlink(missing_ok=True)


def _same_report(session: Session, context: ReportContext, sha256: str, meeting_id):
    """The archived report with these very bytes (same contract, kind, scope, as_of and
    meeting: a meeting's report must stay marked as done), if any."""
    query = select(ReportFile).where(
        ReportFile.contract_id == context.contract.id,
        ReportFile.kind == context.kind,
        ReportFile.scope == context.scope,
        ReportFile.as_of == context.as_of,
        ReportFile.sha256 == sha256,
        ReportFile.meeting_id.is_(None)
        if meeting_id is None
        else ReportFile.meeting_id == meeting_id,
    )
    return session.execute(query.order_by(ReportFile.id).limit(1)).scalar_one_or_none()


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
    """Archive the PDF: its `report_file` row and audit event (flush only; the caller's
    boundary commits), the file under a temporary name — `publish` it after the commit,
    `discard` it if the commit fails (`archive_report` does all three).

    The same bytes as an archived report (same data, same as_of) are not archived twice:
    the existing entry is returned, and only the request is audited."""
    generated_at = generated_at or utcnow()
    folder = Path(settings.reports.dir)
    sha256 = hashlib.sha256(rendered.pdf).hexdigest()
    audit = Actor(
        actor_id=generated_by_id,
        actor_label="" if generated_by_id else "système",
        contract_id=context.contract.id,
    )
    existing = _same_report(session, context, sha256, meeting_id)
    if existing is not None and (folder / existing.path).is_file():
        record(
            session,
            action="create",
            entity="report_request",
            entity_id=existing.id,
            after={"report_file_id": existing.id, "sha256": sha256, "reused": True},
            **audit,
        )
        return GeneratedReport(existing, folder / existing.path, rendered)
    final, temporary = _write_temporary(
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
            path=final.relative_to(folder).as_posix(),
            pages=rendered.pages,
            size_bytes=len(rendered.pdf),
            sha256=sha256,
            is_demo=context.contract.is_demo,
        )
        session.add(row)
        session.flush()
        record_change(session, "create", "report_file", row, **audit)
        session.flush()
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return GeneratedReport(row, final, rendered, temporary)


def _filesystem_now(folder: Path) -> datetime:
    """The current time as the filesystem of `folder` stamps files."""
    marker = folder / f".sweep-{os.getpid()}{TEMPORARY_SUFFIX}"
    marker.touch()
    try:
        return datetime.fromtimestamp(marker.stat().st_mtime, UTC)
    finally:
        marker.unlink(missing_ok=True)


def sweep_archive(session: Session, settings: Settings) -> list[Path]:
    """Clean what an interrupted generation left in the archive folder: a temporary file
    whose row was committed gets its final name; temporary files and PDFs without a row are
    removed once older than `ORPHAN_AGE` (younger ones may belong to a generation in
    progress). Returns the files removed."""
    folder = Path(settings.reports.dir)
    if not folder.is_dir():
        return []
    known = set(session.execute(select(ReportFile.path)).scalars())
    # Ages are read on the clock that wrote the modification times, the filesystem's: a
    # process whose clock differs (a skewed host, libfaketime in tests) must not take a
    # file being written for an old orphan.
    oldest_kept = _filesystem_now(folder) - ORPHAN_AGE
    removed = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        temporary = relative.endswith(TEMPORARY_SUFFIX)
        if not path.is_file() or not (temporary or relative.endswith(".pdf")):
            continue
        if temporary and relative.removesuffix(TEMPORARY_SUFFIX) in known:
            _rename_once(path, folder / relative.removesuffix(TEMPORARY_SUFFIX))
            continue
        if relative in known:
            continue
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if modified < oldest_kept:
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        log.info("report archive: %d orphan file(s) removed", len(removed))
    return removed


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
        if kind == MIDTERM_KIND:
            context = build_midterm_context(session, contract_id=contract_id, as_of=as_of)
        else:
            context = build_report_context(
                session,
                contract_id=contract_id,
                kind=kind,
                scope=scope,
                as_of=as_of,
                tz=settings.tz,
                meeting_id=meeting_id,
            )
        sweep_archive(session, settings)
    # The mid-term review attaches its own table (both targets) instead of the progress figures.
    csv = midterm_csv(context) if kind == MIDTERM_KIND else None
    rendered = render_report(context, settings.reports.templates_dir, csv)
    return archive_report(
        engine, settings, context, rendered, generated_by_id=generated_by_id, meeting_id=meeting_id
    )


def archive_report(
    engine: Engine,
    settings: Settings,
    context: ReportContext,
    rendered: RenderedReport,
    *,
    generated_by_id: int | None = None,
    meeting_id: int | None = None,
    also: Callable[[Session], None] | None = None,
) -> GeneratedReport:
    """`store_report` in a write transaction of its own (with `also`, more writes that
    commit or fail with it), then `publish` the file; `discard` it if the commit fails."""
    stored = None
    try:
        with session_scope(engine, write=True) as session:
            stored = store_report(
                session,
                settings,
                context,
                rendered,
                generated_by_id=generated_by_id,
                meeting_id=meeting_id,
            )
            if also is not None:
                also(session)
    except BaseException:
        discard(stored)
        raise
    return publish(stored)
