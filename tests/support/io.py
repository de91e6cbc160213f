"""Helpers of the spreadsheet tests: a digest of the whole database, workbook cell values."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl import load_workbook
from sqlalchemy import select

import suivi.models  # noqa: F401 - every table
from suivi.contract.models import Contract
from suivi.modelbase import metadata


def database_digest(database) -> tuple[dict[str, int], str]:
    """Row counts per table and a hash of every row of every table."""
    counts: dict[str, int] = {}
    digest = hashlib.sha256()
    with database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = connection.execute(select(table).order_by(*order)).all()
            counts[table.name] = len(rows)
            digest.update(table.name.encode())
            for row in rows:
                digest.update(repr(tuple(row)).encode())
    return counts, digest.hexdigest()


def contract_id(database) -> int:
    with database.session(write=False) as session:
        return session.scalar(
            select(Contract.id).where(Contract.code == database.settings.contract.code)
        )


def export_to(database, path: Path, fmt: str = "xlsx", template: bool = False) -> Path:
    from suivi.io.export import export_portfolio

    with database.session(write=False) as session:
        export_portfolio(session, contract_id(database), path, fmt=fmt, template=template)
    return path


def import_from(database, path: Path, **options):
    from suivi.io.importer import import_portfolio

    # The real "today" of these imports: the contract's last day, so that only the tests
    # about future dates (which pass their own) meet that refusal.
    options.setdefault("today", date(2030, 12, 31))
    with database.session() as session:
        return import_portfolio(session, contract_id(database), path, **options)


def _informational_headers(sheet_name: str) -> set[str]:
    from suivi.io.export import INFO_COLUMNS

    return {column.header for column in INFO_COLUMNS.get(sheet_name, ())}


def _without(rows: list[list], dropped: set[str]) -> list[list]:
    """`rows` (the header first) without the columns whose header is in `dropped`."""
    if not rows or not dropped:
        return rows
    kept = [index for index, title in enumerate(rows[0]) if title not in dropped]
    return [[row[index] if index < len(row) else None for index in kept] for row in rows]


def workbook_values(path: Path, imported_only: bool = False) -> dict[str, list[list]]:
    """Cell values per sheet; `imported_only` leaves out the export's informational columns
    (the importer ignores them: they show history the workbook does not carry)."""
    workbook = load_workbook(path)
    return {
        sheet.title: _without(
            [[cell.value for cell in row] for row in sheet.iter_rows()],
            _informational_headers(sheet.title) if imported_only else set(),
        )
        for sheet in workbook.worksheets
    }


def csv_members(path: Path, imported_only: bool = False) -> dict[str, list[list]]:
    """The CSV export's files as rows of fields (`imported_only`: as `workbook_values`)."""
    from suivi.io.workbook import SHEETS_BY_CSV

    members = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8")
            rows = list(csv.reader(io.StringIO(text, newline="")))
            sheet = SHEETS_BY_CSV.get(name)
            dropped = _informational_headers(sheet.name) if imported_only and sheet else set()
            members[name] = _without(rows, dropped)
    return members


def header_index(sheet, header: str) -> int:
    """1-based column of `header` in the first row."""
    for cell in sheet[1]:
        if cell.value == header:
            return cell.column
    raise KeyError(header)


def write_measurements(path: Path, codes: list[str], per_indicator: int) -> int:
    """A « Mesures » sheet only: `per_indicator` daily readings for each indicator code,
    from 2025-01-01 (within the contract's term)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Mesures")
    sheet.append(["Code indicateur", "Date", "Valeur", "Commentaire"])
    start = date(2025, 1, 1).toordinal()
    count = 0
    for code in codes:
        for day in range(per_indicator):
            sheet.append([code, date.fromordinal(start + day), float(day % 97) + 0.5, ""])
            count += 1
    workbook.save(path)
    return count


def copy_meetings(source, target) -> None:
    """Meetings are kept on the governance pages, not in the workbook: the reference database
    gets the demo's (held, so that the import may record their decisions)."""
    from suivi.contract.models import Meeting

    with source.session(write=False) as session:
        meetings = [
            m.model_dump(exclude={"id", "contract_id", "status"})
            for m in session.execute(select(Meeting).order_by(Meeting.id)).scalars()
        ]
    with target.session() as session:
        target_contract = session.scalar(
            select(Contract.id).where(Contract.code == target.settings.contract.code)
        )
        for fields in meetings:
            session.add(Meeting(contract_id=target_contract, status="tenue", **fields))
