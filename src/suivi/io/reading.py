"""Read the sheets of an import file: an xlsx workbook (streamed, openpyxl read-only), a zip
of CSV files, a folder of CSV files, or one CSV file named after its sheet.

Yields raw cell values by row; typing and checks happen in `suivi.io.importer`.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from openpyxl import load_workbook

from suivi.io.workbook import SHEETS_BY_CSV, SHEETS_BY_NAME, SheetSpec


class UnreadableFileError(Exception):
    """The file is not a workbook nor CSV; the message is French, for people."""


@dataclass
class RawSheet:
    spec: SheetSpec
    header: list[Any]
    # (row number as people see it — the header is row 1 —, cell values)
    rows: Iterator[tuple[int, tuple[Any, ...]]]


def open_sheets(source: Path | IO[bytes], filename: str | None = None) -> Iterator[RawSheet]:
    """The known sheets of `source`, in the order of the file. Unknown sheets (« Lisez-moi »,
    « Listes », the user's own) are skipped."""
    name = filename or (source.name if isinstance(source, Path) else "")
    if isinstance(source, Path) and source.is_dir():
        yield from _csv_folder(source)
        return
    data = source if not isinstance(source, Path) else None
    try:
        if isinstance(source, Path):
            handle: IO[bytes] = source.open("rb")
        else:
            handle = data
    except OSError as exc:
        raise UnreadableFileError(f"fichier illisible : {exc.strerror}") from None
    with handle:
        head = handle.read(4)
        handle.seek(0)
        if head.startswith(b"PK"):
            yield from _from_zip(handle)
        elif name.lower().endswith(".csv"):
            spec = SHEETS_BY_CSV.get(Path(name).name.lower())
            if spec is None or not spec.imported:
                raise UnreadableFileError(
                    f"fichier CSV {Path(name).name!r} : son nom doit être celui d'une feuille "
                    f"({', '.join(SHEETS_BY_CSV)})"
                )
            yield _csv_sheet(spec, handle.read())
        else:
            raise UnreadableFileError(
                "le fichier n'est ni un classeur .xlsx, ni une archive .zip de fichiers CSV, "
                "ni un fichier CSV"
            )


def _from_zip(handle: IO[bytes]) -> Iterator[RawSheet]:
    try:
        archive = zipfile.ZipFile(handle)
    except zipfile.BadZipFile:
        raise UnreadableFileError("archive .zip ou classeur .xlsx endommagé") from None
    with archive:
        names = archive.namelist()
        if "[Content_Types].xml" in names:
            yield from _xlsx(handle)
            return
        for member in names:
            spec = SHEETS_BY_CSV.get(Path(member).name.lower())
            if spec is not None and spec.imported:
                yield _csv_sheet(spec, archive.read(member))


def _xlsx(handle: IO[bytes]) -> Iterator[RawSheet]:
    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds on a damaged file
        raise UnreadableFileError("classeur .xlsx illisible ou endommagé") from None
    try:
        for worksheet in workbook.worksheets:
            spec = SHEETS_BY_NAME.get(worksheet.title.strip())
            if spec is None or not spec.imported:
                continue
            rows = worksheet.iter_rows(values_only=True)
            header = list(next(rows, ()))
            numbered = ((number, values) for number, values in enumerate(rows, start=2))
            yield RawSheet(spec, header, numbered)
    finally:
        workbook.close()


def _csv_folder(folder: Path) -> Iterator[RawSheet]:
    for path in sorted(folder.iterdir()):
        spec = SHEETS_BY_CSV.get(path.name.lower())
        if spec is not None and spec.imported:
            yield _csv_sheet(spec, path.read_bytes())


def _csv_sheet(spec: SheetSpec, data: bytes) -> RawSheet:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFileError(
            f"{spec.csv_name} : le fichier n'est pas encodé en UTF-8"
        ) from None
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])

    def rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
        for values in reader:
            # The reader counts physical lines, so a quoted multi-line cell keeps numbers right.
            yield reader.line_num, tuple(values)

    return RawSheet(spec, header, rows())
