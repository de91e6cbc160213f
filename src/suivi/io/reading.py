"""Read the sheets of an import file: an xlsx workbook (streamed, openpyxl read-only), a zip
of CSV files, a folder of CSV files, or one CSV file named after its sheet.

Yields raw cell values by row; typing and checks happen in `suivi.io.importer`.

Everything is read as a stream and within `ReadLimits`: a small archive can hold a huge file
(a zip bomb), so the sizes the archive declares are checked before reading, and the bytes
actually inflated are counted while reading (a header can lie), as are the rows.
"""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import IO
from typing import Any

from openpyxl import load_workbook

from suivi.io.workbook import SHEETS_BY_CSV
from suivi.io.workbook import SHEETS_BY_NAME
from suivi.io.workbook import SheetSpec

# Columns read from a worksheet: the sheets have a dozen; a crafted dimension (A1:XFD…)
# would otherwise pad every row to 16,384 cells.
MAX_COLUMNS = 256
# Characters read to guess the CSV delimiter.
SNIFF_CHARS = 4096
CHUNK = 64 * 1024


class UnreadableFileError(Exception):
    """The file is not a workbook nor CSV; the message is French, for people."""


class FileTooLargeError(Exception):
    """The file is over `ReadLimits`; the message is French, for people."""


@dataclass(frozen=True)
class ReadLimits:
    """`[io]` of the settings: bytes once decompressed (the whole file and each member of an
    archive) and data rows (all sheets together)."""

    max_uncompressed_bytes: int = 50 * 1024 * 1024
    max_rows: int = 200_000

    @classmethod
    def of(cls, settings) -> ReadLimits:
        return cls(settings.io.max_uncompressed_bytes, settings.io.max_rows)


@dataclass
class _Budget:
    limits: ReadLimits
    inflated: int = 0
    rows: int = 0
    sizes: dict[str, int] = field(default_factory=dict)

    def check_declared(self, infos: list[zipfile.ZipInfo]) -> None:
        total = 0
        for info in infos:
            total += info.file_size
            if info.file_size > self.limits.max_uncompressed_bytes or (
                total > self.limits.max_uncompressed_bytes
            ):
                raise self._too_large(max(info.file_size, total))

    def add_bytes(self, count: int) -> None:
        self.inflated += count
        if self.inflated > self.limits.max_uncompressed_bytes:
            raise self._too_large(self.inflated, at_least=True)

    def add_row(self) -> None:
        self.rows += 1
        if self.rows > self.limits.max_rows:
            raise FileTooLargeError(
                f"Fichier trop long : plus de {self.limits.max_rows:,} lignes "
                "(limite de l'import). Découpez-le en plusieurs fichiers.".replace(",", " ")
            )

    def _too_large(self, size: int, at_least: bool = False) -> FileTooLargeError:
        shown = f"{'plus de ' if at_least else ''}{_megabytes(size)}"
        return FileTooLargeError(
            f"Archive trop volumineuse une fois décompressée : {shown} "
            f"(limite : {_megabytes(self.limits.max_uncompressed_bytes)})."
        )


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} Mo".replace(".", ",")


class _CountingReader(io.RawIOBase):
    """A binary stream that counts what it reads against the budget (the real inflated
    size, whatever the archive's header says)."""

    def __init__(self, stream: IO[bytes], budget: _Budget) -> None:
        self._stream = stream
        self._budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        self._budget.add_bytes(len(data))
        buffer[: len(data)] = data
        return len(data)


@dataclass
class RawSheet:
    spec: SheetSpec
    header: list[Any]
    # (row number as people see it — the header is row 1 —, cell values)
    rows: Iterator[tuple[int, tuple[Any, ...]]]
    # CSV text: its text fields may carry the quote `suivi.io.safe_text.csv_text` adds.
    from_csv: bool = False


def open_sheets(
    source: Path | IO[bytes], filename: str | None = None, limits: ReadLimits | None = None
) -> Iterator[RawSheet]:
    """The known sheets of `source`, in the order of the file. Unknown sheets (« Lisez-moi »,
    « Listes », the user's own) are skipped. Raises `FileTooLargeError` (while iterating,
    rows included) past `limits`."""
    budget = _Budget(limits or ReadLimits())
    name = filename or (source.name if isinstance(source, Path) else "")
    if isinstance(source, Path) and source.is_dir():
        yield from _csv_folder(source, budget)
        return
    try:
        handle: IO[bytes] = source.open("rb") if isinstance(source, Path) else source
    except OSError as exc:
        raise UnreadableFileError(f"fichier illisible : {exc.strerror}") from None
    with handle:
        head = handle.read(4)
        handle.seek(0)
        if head.startswith(b"PK"):
            yield from _from_zip(handle, budget)
        elif name.lower().endswith(".csv"):
            yield _csv_sheet(_csv_spec(Path(name).name), handle, budget)
        else:
            raise UnreadableFileError(
                "le fichier n'est ni un classeur .xlsx, ni une archive .zip de fichiers CSV, "
                "ni un fichier CSV"
            )


def _csv_spec(name: str) -> SheetSpec:
    spec = SHEETS_BY_CSV.get(name.lower())
    if spec is None or not spec.imported:
        raise UnreadableFileError(
            f"fichier CSV {name!r} : son nom doit être celui d'une feuille "
            f"({', '.join(SHEETS_BY_CSV)})"
        )
    return spec


def _from_zip(handle: IO[bytes], budget: _Budget) -> Iterator[RawSheet]:
    try:
        archive = zipfile.ZipFile(handle)
    except zipfile.BadZipFile:
        raise UnreadableFileError("archive .zip ou classeur .xlsx endommagé") from None
    with archive:
        infos = archive.infolist()
        if any(info.filename == "[Content_Types].xml" for info in infos):
            # openpyxl may read any part (shared strings, styles, sheets): all count.
            budget.check_declared(infos)
            yield from _xlsx(handle, budget)
            return
        members = []
        for info in infos:
            spec = SHEETS_BY_CSV.get(Path(info.filename).name.lower())
            if spec is not None and spec.imported and not info.is_dir():
                members.append((spec, info))
        budget.check_declared([info for _, info in members])
        for spec, info in members:
            with archive.open(info) as member:
                yield _csv_sheet(spec, member, budget)


def _xlsx(handle: IO[bytes], budget: _Budget) -> Iterator[RawSheet]:
    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds on a damaged file
        raise UnreadableFileError("classeur .xlsx illisible ou endommagé") from None
    try:
        for worksheet in workbook.worksheets:
            spec = SHEETS_BY_NAME.get(worksheet.title.strip())
            if spec is None or not spec.imported:
                continue
            columns = min(worksheet.max_column or MAX_COLUMNS, MAX_COLUMNS)
            rows = _damaged_as_unreadable(worksheet.iter_rows(values_only=True, max_col=columns))
            header = list(next(rows, ()))
            yield RawSheet(spec, header, _counted(budget, enumerate(rows, start=2)))
    finally:
        workbook.close()


def _csv_folder(folder: Path, budget: _Budget) -> Iterator[RawSheet]:
    for path in sorted(folder.iterdir()):
        spec = SHEETS_BY_CSV.get(path.name.lower())
        if spec is not None and spec.imported:
            with path.open("rb") as handle:
                yield _csv_sheet(spec, handle, budget)


def _csv_sheet(spec: SheetSpec, stream: IO[bytes], budget: _Budget) -> RawSheet:
    binary = io.BufferedReader(_CountingReader(stream, budget), CHUNK)
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    # Whole lines for the delimiter guess, so the reader can take them back in.
    sample: list[str] = []
    with _decoding(spec):
        while sum(map(len, sample)) < SNIFF_CHARS:
            line = text.readline()
            if not line:
                break
            sample.append(line)
    joined = "".join(sample)
    delimiter = ";" if joined.count(";") > joined.count(",") else ","
    reader = csv.reader(itertools.chain(sample, text), delimiter=delimiter)
    with _decoding(spec):
        header = next(reader, [])

    def rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
        with _decoding(spec):
            for values in reader:
                budget.add_row()
                # The reader counts physical lines, so a quoted multi-line cell keeps
                # numbers right.
                yield reader.line_num, tuple(values)

    return RawSheet(spec, header, rows(), from_csv=True)


def _counted(budget: _Budget, rows) -> Iterator[tuple[int, tuple[Any, ...]]]:
    for numbered in rows:
        budget.add_row()
        yield numbered


def _damaged_as_unreadable(rows: Iterator) -> Iterator:
    try:
        yield from rows
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise UnreadableFileError("classeur .xlsx endommagé") from None


@contextmanager
def _decoding(spec: SheetSpec) -> Iterator[None]:
    """Errors met while streaming a CSV member, as French messages."""
    try:
        yield
    except UnicodeDecodeError:
        raise UnreadableFileError(
            f"{spec.csv_name} : le fichier n'est pas encodé en UTF-8"
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise UnreadableFileError(
            f"{spec.csv_name} : archive .zip endommagée (contenu illisible)"
        ) from None
    except csv.Error as exc:
        raise UnreadableFileError(f"{spec.csv_name} : CSV illisible ({exc})") from None
