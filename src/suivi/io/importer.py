"""Import a workbook (or CSV files) in the format of `suivi.io.export`: all or nothing.

1. Read every sheet (streamed) and type every cell; 2. check references, business rules and
duplicates against the database and the file itself; 3. only if there is not a single
problem, upsert by business key inside a SAVEPOINT of the caller's transaction, auditing
every change. A dry run does step 3 too (to count exactly) and rolls the savepoint back.

Every problem is collected, never the first one only, with its sheet, row and column and a
French message: « Mesures, ligne 12, colonne Valeur : « abc » n'est pas un nombre ».

Rows absent from the file are never deleted. For a commitment (or an indicator) that the
file mentions, the sheets Co-partenaires, Montants and Cibles — when present — give the
complete list, and the file's list replaces the stored one.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

import suivi.models  # noqa: F401 - every table mapped, so flushes can sort foreign keys
from suivi.audit.service import Actor
from suivi.audit.service import Change
from suivi.audit.service import record_many
from suivi.audit.service import snapshot
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentAmount
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.models import CommitmentQuartier
from suivi.contract.models import Commune
from suivi.contract.models import Contract
from suivi.contract.models import ContractQuartier
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.contract.models import QuartierCommune
from suivi.contract.models import contract_quartier_ids
from suivi.contract.service import check_siren
from suivi.contract.service import quartier_snapshot
from suivi.db import finish_session
from suivi.db import open_session
from suivi.db import utcnow
from suivi.errors import ApiError
from suivi.errors import Invalid
from suivi.governance.models import Decision
from suivi.indicators import review
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.indicators.service import CheckedMeasurements
from suivi.indicators.service import MeasurementCorrection
from suivi.indicators.service import NewMeasurement
from suivi.indicators.service import check_sheet
from suivi.indicators.service import correct_measurements
from suivi.indicators.service import create_measurements
from suivi.indicators.service import prepare_sheet
from suivi.indicators.service import revise_target
from suivi.io.reading import FileTooLargeError
from suivi.io.reading import RawSheet
from suivi.io.reading import ReadLimits
from suivi.io.reading import UnreadableFileError
from suivi.io.reading import open_sheets
from suivi.io.safe_text import csv_text_read
from suivi.io.workbook import AMOUNTS
from suivi.io.workbook import CO_PARTNERS
from suivi.io.workbook import COMMITMENTS
from suivi.io.workbook import DECISIONS
from suivi.io.workbook import DIRECTION_CHOICES
from suivi.io.workbook import FUNDING
from suivi.io.workbook import INDICATOR_SHEET_KEYS
from suivi.io.workbook import INDICATORS
from suivi.io.workbook import MEASUREMENTS
from suivi.io.workbook import MEETING_KIND_CHOICES
from suivi.io.workbook import PARTNERS
from suivi.io.workbook import QUARTIERS
from suivi.io.workbook import SHEETS
from suivi.io.workbook import TARGETS
from suivi.io.workbook import TEXT_KINDS
from suivi.io.workbook import CellError
from suivi.io.workbook import SheetSpec
from suivi.io.workbook import parse_cell
from suivi.io.workbook import parse_decision_reference
from suivi.io.workbook import parse_payments
from suivi.io.workbook import quote
from suivi.progress import IndicatorSpec
from suivi.progress import validate_spec
from suivi.validation import InputError
from suivi.validation import clean_number
from suivi.validation import clean_text
from suivi.validation import clean_url

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]
FILE = "Fichier"
DEFAULT_CORRECTION_REASON = "Correction par import"
TARGET_REVISION_REASON = "Modifiée par import de classeur"
# Rows between two progress callbacks while reading.
PROGRESS_EVERY = 1000
# Bound parameters per IN (...) list: far below SQLite's and PostgreSQL's limits.
IN_CHUNK = 500


@dataclass(frozen=True)
class ImportProblem:
    sheet: str
    row: int | None
    column: str | None
    message: str

    @property
    def location(self) -> str:
        """« Mesures, ligne 12, colonne Valeur »."""
        where = [self.sheet]
        if self.row is not None:
            where.append(f"ligne {self.row}")
        if self.column:
            where.append(f"colonne {self.column}")
        return ", ".join(where)

    def __str__(self) -> str:
        return f"{self.location} : {self.message}"


@dataclass
class ImportReport:
    dry_run: bool
    problems: list[ImportProblem] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    deleted: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def changes(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values()) + sum(self.deleted.values())

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "rows_read": self.rows_read,
            "created": _nonzero(self.created),
            "updated": _nonzero(self.updated),
            "deleted": _nonzero(self.deleted),
            "unchanged": _nonzero(self.unchanged),
            "problems": [
                {
                    "sheet": p.sheet,
                    "row": p.row,
                    "column": p.column,
                    "message": p.message,
                    "text": str(p),
                }
                for p in self.problems
            ],
        }

    def summary_lines(self) -> list[str]:
        """One French line per sheet: « Mesures : 12 créées, 1 corrigée, 40 inchangées »."""
        lines = []
        for sheet in SHEETS:
            name = sheet.name
            parts = [
                f"{count} {label}"
                for count, label in (
                    (self.created[name], "créé(s)"),
                    (self.updated[name], "modifié(s)"),
                    (self.deleted[name], "supprimé(s)"),
                    (self.unchanged[name], "inchangé(s)"),
                )
                if count
            ]
            if parts:
                lines.append(f"{name} : {', '.join(parts)}")
        return lines


@dataclass(slots=True)
class Row:
    number: int
    values: dict[str, Any]
    # The columns refused; a set only once one is (10,000 rows make 10,000 objects for the
    # garbage collector to walk, again and again, for nothing).
    bad: AbstractSet[str] = frozenset()

    def ok(self, *keys: str) -> bool:
        bad = self.bad
        return not bad or not any(key in bad for key in keys)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


@dataclass
class SheetData:
    spec: SheetSpec
    rows: list[Row]
    present: set[str]


@dataclass
class ReadFile:
    """An import file read and typed (step 1), without the database: read it before taking
    the database's write lock, so a slow or huge file never holds up other writers."""

    name: str
    sheets: dict[str, SheetData]
    problems: list[ImportProblem]
    rows_read: dict[str, int]


def read_portfolio(
    source: Path | IO[bytes],
    *,
    filename: str | None = None,
    limits: ReadLimits | None = None,
    progress: Progress | None = None,
) -> ReadFile:
    """Step 1 alone: read and type every cell of `source`. Raises `FileTooLargeError` (French
    message) past `limits` (the `[io]` settings), whatever was read until then."""
    name = filename or (source.name if isinstance(source, Path) else "import")
    run = _Import(None, None, False, None, "import", progress)
    run.read(source, name, limits)
    return ReadFile(name, run.sheets, run.report.problems, run.report.rows_read)


def read_upload(handle: IO[bytes], filename: str, settings) -> ReadFile:
    """`read_portfolio` of an uploaded file, within the `[io]` settings: its own size first
    (`FileTooLargeError`), then what it holds once decompressed."""
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    limit = settings.io.max_upload_bytes
    if size > limit:
        raise FileTooLargeError(f"Fichier trop volumineux (limite : {limit // 2**20} Mo).")
    return read_portfolio(handle, filename=filename, limits=ReadLimits.of(settings))


def dry_run_import(engine: Engine, contract_id: int, read: ReadFile, **options) -> ImportReport:
    """`import_portfolio` as a dry run, in a session of its own that is always rolled back:
    not the request's write session, so checking a file takes no write lock up front
    (SQLite: BEGIN, not BEGIN IMMEDIATE)."""
    session = open_session(engine)
    try:
        return import_portfolio(session, contract_id, read, dry_run=True, **options)
    finally:
        finish_session(session, commit=False)


def import_portfolio(
    session: Session,
    contract_id: int,
    source: Path | IO[bytes] | ReadFile,
    *,
    filename: str | None = None,
    dry_run: bool = False,
    actor_id: int | None = None,
    actor_label: str = "import",
    progress: Progress | None = None,
    principal=None,
    limits: ReadLimits | None = None,
    today: date,
    validation_required: bool = True,
    validate: bool = False,
    revision_requires_decision: bool = True,
) -> ImportReport:
    """Check `source` and, if it has no problem (and this is not a dry run), apply it in the
    session's transaction. Never commits: the caller's boundary does. The report lists the
    problems (then nothing was written) or the counts of what changed.

    `source` is best a `ReadFile` (`read_portfolio`), read before the session's first
    query; a file or a path is read here, within `limits`.

    With a `principal` (`suivi.auth.principal.Principal`), every change must be within what
    `suivi.scoping` lets them change; rows they may not change are problems too (unchanged
    rows are fine, so a user can re-import the workbook they exported).

    `revision_requires_decision` is `[governance] revision_requires_decision`: a target
    revised by avenant or mid-term review must cite its committee decision, as in the API."""
    if not isinstance(source, ReadFile):
        source = read_portfolio(source, filename=filename, limits=limits, progress=progress)
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise LookupError(f"contract {contract_id} not found")
    run = _Import(session, contract, dry_run, actor_id, actor_label, progress, principal)
    run.today = today
    run.validation_required = validation_required
    run.validate = validate
    run.revision_requires_decision = revision_requires_decision
    name = source.name
    run.sheets = source.sheets
    run.report.problems.extend(source.problems)
    run.report.rows_read.update(source.rows_read)
    if run.sheets:
        # Even after unreadable cells: every problem is reported at once.
        run.check()
    if run.report.ok:
        run.apply(name)
    return run.report


class _Import:
    def __init__(
        self, session, contract, dry_run, actor_id, actor_label, progress, principal=None
    ) -> None:
        self.session: Session = session
        self.principal = principal
        self.contract: Contract = contract
        self.actor_id = actor_id
        self.actor_label = actor_label
        self.progress = progress
        self.report = ImportReport(dry_run=dry_run)
        self.sheets: dict[str, SheetData] = {}

    # -- problems ---------------------------------------------------------------------------

    def problem(self, sheet: SheetSpec | str, row: Row | int | None, column, message) -> None:
        sheet_name = sheet if isinstance(sheet, str) else sheet.name
        number = row.number if isinstance(row, Row) else row
        header = column
        if isinstance(sheet, SheetSpec) and column in sheet.by_key:
            header = sheet.by_key[column].header
        self.report.problems.append(ImportProblem(sheet_name, number, header, message))

    def refuse(self, sheet: SheetSpec, row: Row, column: str, message: str) -> None:
        self.problem(sheet, row, column, message)
        row.bad = row.bad | {column}

    # -- 1. reading -------------------------------------------------------------------------

    def read(self, source, name: str, limits: ReadLimits | None = None) -> None:
        try:
            for raw in open_sheets(source, name, limits):
                if raw.spec.name in self.sheets:
                    self.problem(raw.spec, None, None, "feuille présente deux fois")
                    continue
                self.sheets[raw.spec.name] = self._read_sheet(raw)
        except UnreadableFileError as exc:
            self.problem(FILE, None, None, str(exc))
            return
        if not self.sheets:
            expected = ", ".join(sheet.name for sheet in SHEETS if sheet.imported)
            self.problem(FILE, None, None, f"aucune feuille reconnue (attendu : {expected})")

    def _read_sheet(self, raw: RawSheet) -> SheetData:
        spec = raw.spec
        by_header = {column.header.casefold(): column for column in spec.columns}
        positions: list[tuple[int, Any]] = []
        seen: set[str] = set()
        for index, title in enumerate(raw.header):
            if title is None or str(title).strip() == "":
                continue
            column = by_header.get(str(title).strip().casefold())
            if column is None:
                continue  # extra columns (the user's notes) are left alone
            if column.key in seen:
                self.problem(spec, 1, column.header, "colonne présente deux fois")
                continue
            seen.add(column.key)
            positions.append((index, column))
        missing = [c for c in spec.columns if c.required and c.key not in seen]
        for column in missing:
            self.problem(spec, 1, column.header, "colonne obligatoire absente")
        rows: list[Row] = []
        count = 0
        unquote = raw.from_csv
        for number, values in raw.rows:
            count += 1
            if self.progress and count % PROGRESS_EVERY == 0:
                self.progress(spec.name, PROGRESS_EVERY)
            if missing or all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            row = Row(number, {})
            for index, column in positions:
                raw_value = values[index] if index < len(values) else None
                if unquote and column.kind in TEXT_KINDS and raw_value:
                    raw_value = csv_text_read(raw_value.strip())
                try:
                    value = _in_domain(column, parse_cell(column, raw_value))
                except CellError as exc:
                    self.refuse(spec, row, column.key, str(exc))
                    continue
                except InputError as exc:
                    self.refuse(spec, row, column.key, _row_message(exc))
                    continue
                if value is None and column.required:
                    self.refuse(spec, row, column.key, "valeur obligatoire manquante")
                    continue
                row.values[column.key] = value
            rows.append(row)
        if self.progress:
            self.progress(spec.name, count % PROGRESS_EVERY)
        self.report.rows_read[spec.name] = len(rows)
        data = SheetData(spec, rows, seen)
        self._refuse_duplicates(data)
        return data

    def _refuse_duplicates(self, data: SheetData) -> None:
        spec = data.spec
        first: dict[tuple, int] = {}
        for row in data.rows:
            if not row.ok(*spec.key):
                continue
            key = tuple(_key_part(row.values[k]) for k in spec.key)
            if key in first:
                shown = " / ".join(_show(row.values[k]) for k in spec.key)
                self.refuse(
                    spec,
                    row,
                    spec.key[-1],
                    f"doublon : {quote(shown)} figure déjà à la ligne {first[key]}",
                )
            else:
                first[key] = row.number

    def rows(self, spec: SheetSpec) -> list[Row]:
        data = self.sheets.get(spec.name)
        return data.rows if data else []

    def has(self, spec: SheetSpec, column: str | None = None) -> bool:
        data = self.sheets.get(spec.name)
        return data is not None and (column is None or column in data.present)

    # -- 2. checking ------------------------------------------------------------------------

    def check(self) -> None:
        self._load()
        self._check_partners()
        self._check_quartiers()
        self._check_commitments()
        self._check_co_partners()
        self._check_amounts()
        self._check_targets()
        self._check_indicators()
        self._check_measurements()
        self._check_decisions()
        self._check_funding()

    def _load(self) -> None:
        session, contract_id = self.session, self.contract.id
        self.partners = {
            p.code: p
            for p in session.scalars(select(Partner).where(Partner.contract_id == contract_id))
        }
        self.communes = {c.insee: c for c in session.scalars(select(Commune))}
        self.quartiers = {
            q.code: q
            for q in session.scalars(
                select(Quartier).where(Quartier.id.in_(contract_quartier_ids(contract_id)))
            )
        }
        self.priorities = {
            p.code: p
            for p in session.scalars(select(Priority).where(Priority.contract_id == contract_id))
        }
        self.commitments = {
            c.code: c
            for c in session.scalars(
                select(Commitment).where(Commitment.contract_id == contract_id)
            )
        }
        self.indicators = {
            i.code: i
            for i in session.scalars(select(Indicator).where(Indicator.contract_id == contract_id))
        }
        self.targets: dict[int, dict[date, Target]] = defaultdict(dict)
        if self.has(TARGETS) or self.has(INDICATORS):
            for target in session.scalars(
                select(Target)
                .join(Indicator, Indicator.id == Target.indicator_id)
                .where(Indicator.contract_id == contract_id)
            ):
                self.targets[target.indicator_id][target.target_date] = target
        self.partner_codes = set(self.partners) | {
            r.values["code"] for r in self.rows(PARTNERS) if r.ok("code")
        }
        self.commitment_codes = set(self.commitments) | {
            r.values["code"] for r in self.rows(COMMITMENTS) if r.ok("code")
        }
        self.indicator_codes = set(self.indicators) | {
            r.values["code"] for r in self.rows(INDICATORS) if r.ok("code")
        }

    def _within_term(self, spec, row: Row, column: str) -> None:
        day = row.get(column)
        if day is None or not row.ok(column):
            return
        start, end = self.contract.term_start, self.contract.term_end
        if not start <= day <= end:
            self.refuse(
                spec,
                row,
                column,
                f"le {_fr(day)} est hors de la durée du contrat (du {_fr(start)} au {_fr(end)})",
            )

    def _known(self, spec, row: Row, column: str, known: Iterable[str], what: str) -> None:
        value = row.get(column)
        if value is not None and row.ok(column) and value not in known:
            self.refuse(spec, row, column, f"{what} {quote(value)} inconnu")

    def _check_partners(self) -> None:
        for row in self.rows(PARTNERS):
            siren = row.get("siren")
            if siren and row.ok("siren"):
                try:
                    check_siren(siren)  # the reference-data service's rule (Luhn key)
                except Invalid as exc:
                    self.refuse(PARTNERS, row, "siren", f"{quote(siren)} : {_problem(exc)}")
            self._known(PARTNERS, row, "commune", self.communes, "code INSEE")

    def _check_quartiers(self) -> None:
        for row in self.rows(QUARTIERS):
            code = row.get("code")
            if code is not None and row.ok("code") and code not in self.quartiers:
                self.refuse(
                    QUARTIERS,
                    row,
                    "code",
                    f"quartier {quote(code)} inconnu : les QPV viennent du référentiel "
                    "officiel et ne sont pas créés par l'import",
                )
            for insee in row.get("communes") or ():
                if insee not in self.communes:
                    self.refuse(QUARTIERS, row, "communes", f"code INSEE {quote(insee)} inconnu")

    def _check_commitments(self) -> None:
        for row in self.rows(COMMITMENTS):
            self._known(COMMITMENTS, row, "lead", self.partner_codes, "partenaire")
            self._known(COMMITMENTS, row, "priority", self.priorities, "orientation")
            for code in row.get("quartiers") or ():
                if code not in self.quartiers:
                    self.refuse(COMMITMENTS, row, "quartiers", f"quartier {quote(code)} inconnu")
            self._within_term(COMMITMENTS, row, "start_date")
            self._within_term(COMMITMENTS, row, "end_date")
            start, end = row.get("start_date"), row.get("end_date")
            if row.ok("start_date", "end_date") and start and end and start > end:
                self.refuse(
                    COMMITMENTS,
                    row,
                    "end_date",
                    f"la date de fin ({_fr(end)}) précède la date de début ({_fr(start)})",
                )

    def _lead_code(self, commitment_code: str) -> str | None:
        for row in self.rows(COMMITMENTS):
            if row.get("code") == commitment_code and row.ok("code"):
                return row.get("lead")
        commitment = self.commitments.get(commitment_code)
        if commitment is None:
            return None
        return next(
            (code for code, p in self.partners.items() if p.id == commitment.lead_partner_id),
            None,
        )

    def _check_co_partners(self) -> None:
        totals: dict[str, float] = defaultdict(float)
        last_row: dict[str, Row] = {}
        for row in self.rows(CO_PARTNERS):
            self._known(CO_PARTNERS, row, "commitment", self.commitment_codes, "engagement")
            self._known(CO_PARTNERS, row, "partner", self.partner_codes, "partenaire")
            share = row.get("share")
            if share is not None and row.ok("share"):
                if not 0 <= share <= 1:
                    self.refuse(
                        CO_PARTNERS,
                        row,
                        "share",
                        f"{quote(_show(share))} : la part doit être comprise entre 0 et 100 %",
                    )
                elif row.ok("commitment"):
                    totals[row.values["commitment"]] += share
                    last_row[row.values["commitment"]] = row
            if row.ok("commitment", "partner") and row.get("partner") == self._lead_code(
                row.get("commitment")
            ):
                self.refuse(
                    CO_PARTNERS,
                    row,
                    "partner",
                    f"{quote(row.get('partner'))} est déjà le partenaire pilote de l'engagement",
                )
        for code, total in totals.items():
            if total > 1 + 1e-9:
                self.refuse(
                    CO_PARTNERS,
                    last_row[code],
                    "share",
                    f"les parts des co-partenaires de {quote(code)} dépassent 100 % "
                    f"({_show(round(total * 100, 2))} %)",
                )

    def _check_amounts(self) -> None:
        first, last = self.contract.term_start.year, self.contract.term_end.year
        for row in self.rows(AMOUNTS):
            self._known(AMOUNTS, row, "commitment", self.commitment_codes, "engagement")
            year = row.get("year")
            if year is not None and row.ok("year") and not first <= year <= last:
                self.refuse(
                    AMOUNTS,
                    row,
                    "year",
                    f"l'année {year} est hors de la durée du contrat ({first}–{last})",
                )
            amount = row.get("amount")
            if amount is not None and row.ok("amount"):
                if amount < 0:
                    self.refuse(AMOUNTS, row, "amount", f"{quote(_show(amount))} est négatif")
                elif amount >= 1e12:
                    self.refuse(AMOUNTS, row, "amount", f"{quote(_show(amount))} est trop grand")

    def _check_targets(self) -> None:
        self.revision_decisions: dict[int, int] = {}  # row number -> decision id
        decisions: dict[tuple[date, int], list[int]] = defaultdict(list)
        if any(r.get("revision_decision") for r in self.rows(TARGETS)):
            for decision_id, held_on, number in self.session.execute(
                select(Decision.id, Meeting.held_on, Decision.number)
                .join(Meeting, Meeting.id == Decision.meeting_id)
                .where(Decision.contract_id == self.contract.id)
            ):
                decisions[(held_on, number)].append(decision_id)
        for row in self.rows(TARGETS):
            self._known(TARGETS, row, "indicator", self.indicator_codes, "indicateur")
            self._within_term(TARGETS, row, "target_date")
            reference = row.get("revision_decision")
            if not reference or not row.ok("revision_decision"):
                continue
            try:
                day, number = parse_decision_reference(reference)
            except CellError as exc:
                self.refuse(TARGETS, row, "revision_decision", str(exc))
                continue
            found = decisions.get((day, number), [])
            if len(found) != 1:
                self.refuse(
                    TARGETS,
                    row,
                    "revision_decision",
                    f"décision {quote(reference)} "
                    + ("inconnue" if not found else "ambiguë (plusieurs instances ce jour-là)"),
                )
                continue
            self.revision_decisions[row.number] = found[0]

    def _check_measurements(self) -> None:
        """Every row by the indicators service's own rules (`check_measurement`, as for the
        API and the form): same refusals, same messages. What it accepted is kept for
        `create_measurements`, which then does not check those rows a second time."""
        self.checked = CheckedMeasurements(self.contract, self.today)
        baselines = {code: i.baseline_date for code, i in self.indicators.items()}
        for row in self.rows(INDICATORS):
            if row.ok("code", "baseline_date") and row.get("baseline_date") is not None:
                baselines[row.values["code"]] = row.values["baseline_date"]
        lock = review.latest_lock(self.session, self.contract.id)
        for row in self.rows(MEASUREMENTS):
            self._known(MEASUREMENTS, row, "indicator", self.indicator_codes, "indicateur")
            self._not_locked(row, lock)
            baseline = baselines.get(row.get("indicator"))
            if baseline is None or not row.ok("indicator", "measured_on", "value"):
                continue
            try:
                self.checked.check(
                    self.contract,
                    baseline,
                    measured_on=row.values["measured_on"],
                    value=row.values["value"],
                    comment=row.get("comment") or "",
                    evidence_url=row.get("evidence_url") or "",
                )
            except Invalid as exc:
                self.refuse(MEASUREMENTS, row, exc.field or "value", _problem(exc))

    def _not_locked(self, row: Row, lock) -> None:
        """A figure dated on or before a locked data cut-off (`review.check_cutoff`'s rule)."""
        day = row.values.get("measured_on")
        if lock is not None and row.ok("measured_on") and day <= lock.data_cutoff:
            self.refuse(
                MEASUREMENTS, row, "measured_on", review.cutoff_refusal(lock, day, "importée")
            )

    def _check_indicators(self) -> None:
        for row in self.rows(INDICATORS):
            self._known(INDICATORS, row, "commitment", self.commitment_codes, "engagement")
            self._known(INDICATORS, row, "quartier", self.quartiers, "quartier")
            tolerance = row.get("tolerance")
            if tolerance is not None and row.ok("tolerance") and not 0 < tolerance < 1:
                self.refuse(
                    INDICATORS,
                    row,
                    "tolerance",
                    f"{quote(_show(tolerance))} : la tolérance doit être comprise strictement "
                    "entre 0 et 100 %",
                )
            grace = row.get("grace_days")
            if grace is not None and row.ok("grace_days") and grace < 0:
                self.refuse(INDICATORS, row, "grace_days", f"{quote(grace)} est négatif")
        self._check_indicator_sheets()
        self._check_specs()

    def _sheet_values(self, row: Row, stored: Indicator | None) -> dict[str, Any]:
        """The reference sheet a row gives: its columns present in the file, the stored
        values (or the defaults of a new indicator) for the others."""
        present = self.sheets[INDICATORS.name].present
        values = {}
        for key in INDICATOR_SHEET_KEYS:
            if key in present:
                values[key] = row.get(key, INDICATORS.by_key[key].default)
            elif stored is not None:
                values[key] = getattr(stored, key)
        if "forecast" not in present and stored is not None and "comparability" in present:
            del values["forecast"]  # a newly non-comparable statistic loses its forecast
        return prepare_sheet(values, stored)

    def _check_indicator_sheets(self) -> None:
        """Each row's reference sheet follows the rules of the indicators service (a rate
        has a denominator, a weight goes with a weighted mean…) and its data owner is a
        contact of one of the contract's partners, given by e-mail."""
        self.owner_contacts: dict[str, int] = {}
        if not self.has(INDICATORS):
            return
        for contact_id, email in self.session.execute(
            select(PartnerContact.id, PartnerContact.email)
            .join(Partner, Partner.id == PartnerContact.partner_id)
            .where(Partner.contract_id == self.contract.id)
            .order_by(PartnerContact.id)
        ):
            self.owner_contacts.setdefault(email.lower(), contact_id)
        for row in self.rows(INDICATORS):
            email = row.get("data_owner")
            if email and row.ok("data_owner") and email.lower() not in self.owner_contacts:
                self.refuse(
                    INDICATORS,
                    row,
                    "data_owner",
                    f"{quote(email)} n'est le contact d'aucun partenaire du contrat",
                )
            if not row.ok(*INDICATOR_SHEET_KEYS):
                continue
            candidate = Indicator(**self._sheet_values(row, self.indicators.get(row.get("code"))))
            try:
                check_sheet(self.session, self.contract.id, candidate)
            except Invalid as exc:
                self.refuse(INDICATORS, row, exc.field, exc.detail[:1].lower() + exc.detail[1:])

    def _check_specs(self) -> None:
        """Baseline, targets and direction must make a consistent spec (suivi.progress)."""
        indicator_rows = {r.values["code"]: r for r in self.rows(INDICATORS) if r.ok("code")}
        target_rows: dict[str, list[Row]] = defaultdict(list)
        for row in self.rows(TARGETS):
            if row.ok("indicator", "target_date", "value"):
                target_rows[row.values["indicator"]].append(row)
        scope = set(indicator_rows) | (set(target_rows) if self.has(TARGETS) else set())
        for code in sorted(scope):
            row = indicator_rows.get(code)
            stored = self.indicators.get(code)
            if row is not None and not row.ok("direction", "baseline_value", "baseline_date"):
                continue
            if row is None and stored is None:
                continue  # unknown indicator: already reported
            base = {
                "direction": row.get("direction") if row else stored.direction,
                "baseline_value": row.get("baseline_value") if row else stored.baseline_value,
                "baseline_date": row.get("baseline_date") if row else stored.baseline_date,
            }
            if self.has(TARGETS):
                targets = [
                    (r.values["target_date"], r.values["value"], r) for r in target_rows[code]
                ]
            else:
                stored_targets = self.targets.get(stored.id, {}) if stored else {}
                targets = [(t.target_date, t.value, None) for t in stored_targets.values()]
            targets.sort(key=lambda item: item[0])
            self._check_spec(code, row, base, targets)

    def _check_spec(self, code, row: Row | None, base: dict, targets: list) -> None:
        baseline_date, baseline_value = base["baseline_date"], base["baseline_value"]
        where_row = row.number if row else None
        sheet_of_row = INDICATORS if row else TARGETS
        for day, _value, target_row in targets:
            if day <= baseline_date:
                message = (
                    f"la cible du {_fr(day)} de {quote(code)} n'est pas postérieure à la date "
                    f"de référence ({_fr(baseline_date)})"
                )
                if target_row is not None:
                    self.refuse(TARGETS, target_row, "target_date", message)
                else:
                    self.problem(INDICATORS, where_row, "baseline_date", message)
                return
        if not targets:
            return
        final_day, final, final_row = targets[-1]
        direction = base["direction"]
        wrong = (direction == "increase" and not final > baseline_value) or (
            direction == "decrease" and not final < baseline_value
        )
        if wrong:
            comparison = "supérieure" if direction == "increase" else "inférieure"
            message = (
                f"la cible finale de {quote(code)} ({_show(final)} au {_fr(final_day)}) doit "
                f"être {comparison} à la valeur de référence ({_show(baseline_value)}) pour un "
                f"indicateur en {DIRECTION_CHOICES[direction].lower()}"
            )
            if row is not None:
                self.problem(INDICATORS, row.number, "baseline_value", message)
            else:
                self.refuse(TARGETS, final_row, "value", message)
            return
        spec = IndicatorSpec(
            direction=direction,
            baseline_value=baseline_value,
            baseline_date=baseline_date,
            targets=tuple((day, value) for day, value, _ in targets),
        )
        try:
            validate_spec(spec)
        except ValueError as exc:  # a rule of the engine not translated above
            self.problem(sheet_of_row, where_row, None, f"indicateur incohérent : {exc}")

    # -- 3. applying ------------------------------------------------------------------------

    def apply(self, name: str) -> None:
        self._load_permissions()
        savepoint = self.session.begin_nested()
        try:
            for step in (
                self._apply_partners,
                self._apply_quartiers,
                self._apply_commitments,
                self._apply_co_partners,
                self._apply_amounts,
                self._apply_indicators,
                self._apply_targets,
                self._apply_measurements,
                self._apply_decisions,
                self._apply_funding,
            ):
                step()
                # Changes outside the user's scope: stop there. The services' refusals of
                # decisions leave nothing written: the financial lines are checked too.
                if not self.report.ok and step != self._apply_decisions:
                    savepoint.rollback()
                    return
            if self.report.changes:  # re-importing unchanged data leaves no trace
                self._audit(
                    "import",
                    "import",
                    name[-40:],
                    None,
                    {
                        "file": name,
                        "created": dict(self.report.created),
                        "updated": dict(self.report.updated),
                        "deleted": dict(self.report.deleted),
                    },
                )
            self.session.flush()
        except SQLAlchemyError as exc:
            savepoint.rollback()
            log.exception("import refused by the database")
            self.problem(
                FILE,
                None,
                None,
                f"refusé par la base de données : {getattr(exc, 'orig', None) or exc}",
            )
            return
        except BaseException:
            savepoint.rollback()
            raise
        if self.report.dry_run:
            savepoint.rollback()
        else:
            savepoint.commit()

    def _actor(self) -> dict[str, Any]:
        """Who makes the import, as the services take it."""
        return {"actor_id": self.actor_id, "actor_label": self.actor_label}

    def _who(self) -> Actor:
        """Who makes the import, and in which contract: the last arguments of its audit rows."""
        return Actor(**self._actor(), contract_id=self.contract.id)

    def _audit(self, action, entity, entity_id, before, after) -> None:
        record_many(self.session, [Change(action, entity, entity_id, before, after)], **self._who())

    def _load_permissions(self) -> None:
        self.new_commitment_ids: set[int] = set()
        if self.principal is None:
            return
        from suivi import scoping

        self.may_write_reference = scoping.can_write_reference(self.principal, self.contract.id)
        self.editable = set(self.session.scalars(scoping.editable_commitments(self.principal)))
        self.measurable = set(
            self.session.scalars(
                select(Commitment.id).where(
                    scoping.measurement_commitment_condition(self.principal)
                )
            )
        )

    def _may_edit(self, commitment_id: int | None, *, measurement: bool = False) -> bool:
        if self.principal is None or commitment_id in self.new_commitment_ids:
            return True
        return commitment_id in (self.measurable if measurement else self.editable)

    def _may_write_reference(self) -> bool:
        return self.principal is None or self.may_write_reference

    def _forbidden(self, spec: SheetSpec, row: Row | None) -> None:
        self.problem(
            spec,
            row,
            None,
            "modification refusée : cette ligne est hors de ce que votre rôle et votre "
            "périmètre vous permettent de modifier",
        )

    def _upsert(
        self, spec: SheetSpec, entity: str, existing, create, values: dict, row=None, allowed=True
    ) -> Any:
        """Create `create()` with `values`, or update `existing` where a value differs.
        A change that is not `allowed` is a problem (and is not made)."""
        changes = existing is None or any(getattr(existing, k) != v for k, v in values.items())
        if changes and not allowed:
            self._forbidden(spec, row)
            return existing
        if existing is None:
            row = create(**values)
            self.session.add(row)
            self.report.created[spec.name] += 1
            self._pending_creates.append((entity, row))
            return row
        changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
        if not changed:
            self.report.unchanged[spec.name] += 1
            return existing
        before = snapshot(existing)
        for key, value in changed.items():
            setattr(existing, key, value)
        if hasattr(existing, "version"):
            existing.version += 1
            existing.updated_at = utcnow()
        self.report.updated[spec.name] += 1
        self._audit("update", entity, existing.id, before, snapshot(existing))
        return existing

    def _flush_creates(self) -> None:
        self.session.flush()
        record_many(
            self.session,
            [
                Change("create", entity, _entity_id(row), None, snapshot(row))
                for entity, row in self._pending_creates
            ],
            **self._who(),
        )
        self._pending_creates = []

    _pending_creates: list

    def _given(self, row: Row, spec: SheetSpec, stored, defaults: dict[str, Any]) -> dict:
        """Values of a row for the columns present in the file; a missing optional column
        keeps the stored value (or takes its default for a new row)."""
        values = {}
        for key, default in defaults.items():
            if key in self.sheets[spec.name].present:
                values[key] = row.values.get(key, default)
            elif stored is None:
                values[key] = default
        return values

    def _by_code(self, spec: SheetSpec, stored_by_code: dict, defaults: dict[str, Any]):
        """The rows of a sheet keyed by code, each with its code, the stored row of that code
        (None: a new one) and its values (`_given`)."""
        for row in self.rows(spec):
            code = row.values["code"]
            stored = stored_by_code.get(code)
            yield row, code, stored, self._given(row, spec, stored, defaults)

    def _upsert_coded(
        self, spec: SheetSpec, entity: str, model, code: str, stored, values: dict, row, allowed
    ) -> Any:
        """`_upsert` of a row of the contract known by its `code`."""

        def create(**given):
            return model(contract_id=self.contract.id, code=code, **given)

        return self._upsert(spec, entity, stored, create, values, row, allowed)

    def _apply_partners(self) -> None:
        self._pending_creates = []
        defaults = dict(name=None, kind=None, is_signatory=False, siren=None, commune=None)
        for row, code, stored, values in self._by_code(PARTNERS, self.partners, defaults):
            insee = row.get("commune")
            if "commune" in values:
                values["commune_id"] = self.communes[insee].id if insee else None
                del values["commune"]
            self.partners[code] = self._upsert_coded(
                PARTNERS,
                "partner",
                Partner,
                code,
                stored,
                values,
                row,
                self._may_write_reference(),
            )
        self._flush_creates()

    def _apply_quartiers(self) -> None:
        if not self.has(QUARTIERS):
            return
        links: dict[int, set[int]] = defaultdict(set)
        for quartier_id, commune_id in self.session.execute(
            select(QuartierCommune.quartier_id, QuartierCommune.commune_id).where(
                QuartierCommune.quartier_id.in_(contract_quartier_ids(self.contract.id))
            )
        ):
            links[quartier_id].add(commune_id)
        for row in self.rows(QUARTIERS):
            quartier = self.quartiers[row.values["code"]]
            values = self._given(row, QUARTIERS, quartier, {"name": None, "in_contract": False})
            # The flag is this contract's (the QPV may be listed by others), the name the QPV's.
            link = self.session.get(ContractQuartier, (self.contract.id, quartier.id))
            before = quartier_snapshot(quartier, link)
            owner = {"name": quartier, "in_contract": link}
            changed = {k: v for k, v in values.items() if getattr(owner[k], k) != v}
            for key, value in changed.items():
                setattr(owner[key], key, value)
            wanted = {self.communes[insee].id for insee in row.get("communes") or ()}
            current = links[quartier.id]
            if "communes" in self.sheets[QUARTIERS.name].present and wanted != current:
                for commune_id in current - wanted:
                    self.session.execute(
                        delete(QuartierCommune).where(
                            QuartierCommune.quartier_id == quartier.id,
                            QuartierCommune.commune_id == commune_id,
                        )
                    )
                for commune_id in wanted - current:
                    self.session.add(
                        QuartierCommune(quartier_id=quartier.id, commune_id=commune_id)
                    )
                changed["communes"] = sorted(wanted)
            if changed and not self._may_write_reference():
                self._forbidden(QUARTIERS, row)
            elif changed:
                self.report.updated[QUARTIERS.name] += 1
                after = quartier_snapshot(quartier, link)
                after["communes"] = sorted(wanted)
                self._audit("update", "quartier", quartier.id, before, after)
            else:
                self.report.unchanged[QUARTIERS.name] += 1

    def _apply_commitments(self) -> None:
        self._pending_creates = []
        defaults = {
            "title": None,
            "description": "",
            "lead": None,
            "priority": None,
            "start_date": None,
            "end_date": None,
            "status": "prevu",
            "funding_type": None,
        }
        for row, code, stored, values in self._by_code(COMMITMENTS, self.commitments, defaults):
            values["lead_partner_id"] = self.partners[values.pop("lead")].id
            values["priority_id"] = self.priorities[values.pop("priority")].id
            if stored is not None:
                allowed = self._may_edit(stored.id)
            else:
                allowed = self._may_create_commitment(code, row, values["lead_partner_id"])
            result = self._upsert_coded(
                COMMITMENTS,
                "commitment",
                Commitment,
                code,
                stored,
                values,
                row,
                allowed,
            )
            if result is not None:
                self.commitments[code] = result
        created = [row for entity, row in self._pending_creates if entity == "commitment"]
        self._flush_creates()
        self.new_commitment_ids |= {commitment.id for commitment in created}
        if self.has(COMMITMENTS, "quartiers"):
            self._sync_commitment_quartiers()

    def _may_create_commitment(self, code: str, row: Row, lead_partner_id: int) -> bool:
        if self.principal is None:
            return True
        from suivi import scoping

        partner_ids = [
            self.partners[r.values["partner"]].id
            for r in self.rows(CO_PARTNERS)
            if r.values["commitment"] == code and r.values["partner"] in self.partners
        ]
        quartier_ids = [self.quartiers[q].id for q in row.get("quartiers") or ()]
        return scoping.can_create_commitment(
            self.principal,
            contract_id=self.contract.id,
            lead_partner_id=lead_partner_id,
            partner_ids=partner_ids,
            quartier_ids=quartier_ids,
        )

    def _sync_commitment_quartiers(self) -> None:
        ids = [self.commitments[r.values["code"]].id for r in self.rows(COMMITMENTS)]
        current: dict[int, set[int]] = defaultdict(set)
        for chunk in _chunks(ids):
            for commitment_id, quartier_id in self.session.execute(
                select(CommitmentQuartier.commitment_id, CommitmentQuartier.quartier_id).where(
                    CommitmentQuartier.commitment_id.in_(chunk)
                )
            ):
                current[commitment_id].add(quartier_id)
        for row in self.rows(COMMITMENTS):
            commitment = self.commitments[row.values["code"]]
            wanted = {self.quartiers[code].id for code in row.get("quartiers") or ()}
            have = current[commitment.id]
            if wanted != have and not self._may_edit(commitment.id):
                self._forbidden(COMMITMENTS, row)
                continue
            for quartier_id in sorted(have - wanted):
                self.session.execute(
                    delete(CommitmentQuartier).where(
                        CommitmentQuartier.commitment_id == commitment.id,
                        CommitmentQuartier.quartier_id == quartier_id,
                    )
                )
                self._audit(
                    "delete",
                    "commitment_quartier",
                    f"{commitment.id}:{quartier_id}",
                    {"commitment_id": commitment.id, "quartier_id": quartier_id},
                    None,
                )
            for quartier_id in sorted(wanted - have):
                self.session.add(
                    CommitmentQuartier(commitment_id=commitment.id, quartier_id=quartier_id)
                )
                self._audit(
                    "create",
                    "commitment_quartier",
                    f"{commitment.id}:{quartier_id}",
                    None,
                    {"commitment_id": commitment.id, "quartier_id": quartier_id},
                )

    def _scope_commitments(self, spec: SheetSpec) -> set[int]:
        """Commitments whose rows of `spec` the file gives in full."""
        codes = {r.values["code"] for r in self.rows(COMMITMENTS)}
        codes |= {r.values["commitment"] for r in self.rows(spec)}
        return {self.commitments[code].id for code in codes}

    def _apply_co_partners(self) -> None:
        self._apply_commitment_links(
            CO_PARTNERS,
            "commitment_partner",
            CommitmentPartner,
            "partner_id",
            lambda row: self.partners[row.values["partner"]].id,
            lambda row: {"share": Decimal(str(round(row.values["share"], 4)))},
        )

    def _apply_amounts(self) -> None:
        self._apply_commitment_links(
            AMOUNTS,
            "commitment_amount",
            CommitmentAmount,
            "year",
            lambda row: row.values["year"],
            lambda row: {"amount": Decimal(str(round(row.values["amount"], 2)))},
        )

    def _apply_commitment_links(
        self, spec: SheetSpec, entity: str, model, second: str, second_of, values_of
    ) -> None:
        """A sheet of rows each linked to a commitment and keyed by (commitment, `second`):
        co-partners (by partner), yearly amounts (by year). Rows are created or updated;
        the stored links of the commitments in the sheet that it no longer lists, deleted."""
        if not self.has(spec):
            return
        scope = self._scope_commitments(spec)
        stored: dict[tuple[int, Any], Any] = {}
        for chunk in _chunks(sorted(scope)):
            for link in self.session.scalars(select(model).where(model.commitment_id.in_(chunk))):
                stored[(link.commitment_id, getattr(link, second))] = link
        wanted = set()
        self._pending_creates = []
        for row in self.rows(spec):
            key = (self.commitments[row.values["commitment"]].id, second_of(row))
            wanted.add(key)
            self._upsert(
                spec,
                entity,
                stored.get(key),
                lambda k=key, **v: model(commitment_id=k[0], **{second: k[1]}, **v),
                values_of(row),
                row,
                self._may_edit(key[0]),
            )
        for key in sorted(set(stored) - wanted):
            if not self._may_edit(key[0]):
                self._forbidden(spec, None)
                continue
            self._delete(spec, entity, stored[key])
        self._flush_creates()

    def _delete(self, spec: SheetSpec, entity: str, row) -> None:
        self._audit("delete", entity, _entity_id(row), snapshot(row), None)
        self.session.delete(row)
        self.report.deleted[spec.name] += 1

    def _apply_indicators(self) -> None:
        self._pending_creates = []
        defaults = {
            "commitment": None,
            "quartier": None,
            "name": None,
            "unit": None,
            "source": "",
            "direction": None,
            "cumulative": False,
            "frequency": "quarterly",
            "tolerance": 0.10,
            "grace_days": 30,
            "baseline_value": None,
            "baseline_date": None,
            "data_owner": None,
        }
        for row, code, stored, values in self._by_code(INDICATORS, self.indicators, defaults):
            values |= self._sheet_values(row, stored)
            if "data_owner" in values:
                owner = values.pop("data_owner")
                values["data_owner_contact_id"] = (
                    self.owner_contacts[owner.lower()] if owner else None
                )
            values["commitment_id"] = self.commitments[values.pop("commitment")].id
            if "quartier" in values:
                quartier = values.pop("quartier")
                values["quartier_id"] = self.quartiers[quartier].id if quartier else None
            self.indicators[code] = self._upsert_coded(
                INDICATORS,
                "indicator",
                Indicator,
                code,
                stored,
                values,
                row,
                self._may_edit(values["commitment_id"])
                and (stored is None or self._may_edit(stored.commitment_id)),
            )
        self._flush_creates()

    def _apply_targets(self) -> None:
        if not self.has(TARGETS):
            return
        codes = {r.values["code"] for r in self.rows(INDICATORS)}
        codes |= {r.values["indicator"] for r in self.rows(TARGETS)}
        wanted: set[tuple[int, date]] = set()
        self._pending_creates = []
        for row in self.rows(TARGETS):
            indicator = self.indicators[row.values["indicator"]]
            day, value = row.values["target_date"], row.values["value"]
            wanted.add((indicator.id, day))
            stored = self.targets.get(indicator.id, {}).get(day)
            allowed = self._may_edit(indicator.commitment_id)
            if stored is not None and stored.value != value:
                if not allowed:
                    self._forbidden(TARGETS, row)
                    continue
                self._revise_target(row, indicator, stored, value)
                continue
            self._upsert(
                TARGETS,
                "target",
                stored,
                lambda i=indicator.id, d=day, **v: Target(indicator_id=i, target_date=d, **v),
                {"value": value},
                row,
                allowed,
            )
        for code in sorted(codes):
            indicator = self.indicators[code]
            for day, target in sorted(self.targets.get(indicator.id, {}).items()):
                if (indicator.id, day) not in wanted:
                    if not self._may_edit(indicator.commitment_id):
                        self._forbidden(TARGETS, None)
                        continue
                    self._delete(TARGETS, "target", target)
        self._flush_creates()

    def _revise_target(self, row: Row, indicator: Indicator, target: Target, value) -> None:
        """A changed target value: a revision by the indicators service (the API's call,
        with `[governance] revision_requires_decision`)."""
        try:
            revise_target(
                self.session,
                self.contract,
                indicator,
                target,
                value=value,
                kind=row.get("revision_kind") or "autre",
                reason=row.get("revision_reason") or TARGET_REVISION_REASON,
                actor_id=self.actor_id,
                decision_id=self.revision_decisions.get(row.number),
                avenant_reference=row.get("avenant_reference") or "",
                require_decision=self.revision_requires_decision,
            )
        except ApiError as exc:
            columns = {
                "decision_id": "revision_decision",
                "kind": "revision_kind",
                "reason": "revision_reason",
            }
            self._service_refusal(TARGETS, row, exc, columns)
            return
        self.report.updated[TARGETS.name] += 1

    def _apply_measurements(self) -> None:
        rows = self.rows(MEASUREMENTS)
        if not rows:
            return
        ids = sorted({self.indicators[r.values["indicator"]].id for r in rows})
        current: dict[tuple[int, date], Measurement] = {}
        for chunk in _chunks(ids):
            for measurement in self.session.scalars(
                select(Measurement).where(
                    Measurement.indicator_id.in_(chunk), Measurement.superseded_by_id.is_(None)
                )
            ):
                current[(measurement.indicator_id, measurement.measured_on)] = measurement
        present = self.sheets[MEASUREMENTS.name].present
        created: list[NewMeasurement] = []
        corrections: list[MeasurementCorrection] = []
        for row in rows:
            indicator = self.indicators[row.values["indicator"]]
            day = row.values["measured_on"]
            old = current.get((indicator.id, day))
            # A column absent from the file keeps the stored value (new readings: default).
            given = {
                key: row.values.get(key, "")
                for key in ("comment", "evidence_url")
                if key in present or old is None
            }
            if (
                old is not None
                and old.value == row.values["value"]
                and all(getattr(old, key) == value for key, value in given.items())
            ):
                self.report.unchanged[MEASUREMENTS.name] += 1
                continue
            if not self._may_edit(indicator.commitment_id, measurement=True):
                self._forbidden(MEASUREMENTS, row)
                continue
            if old is None:
                created.append(NewMeasurement(indicator, day, row.values["value"], **given))
            else:
                reason = row.values.get("correction_reason") or DEFAULT_CORRECTION_REASON
                corrections.append(
                    MeasurementCorrection(indicator, old, row.values["value"], reason, day, **given)
                )
        if not self.report.ok:
            return
        # The service functions of the API and the form: same rules, same audit events.
        who = dict(**self._actor(), today=self.today, validation_required=self.validation_required)
        # Rows checked above are not checked again (`self.checked`); any other is.
        new_rows = create_measurements(
            self.session, self.contract, created, checked=self.checked, **who
        )
        replacements = correct_measurements(self.session, self.contract, corrections, **who)
        self.report.created[MEASUREMENTS.name] += len(created)
        self.report.updated[MEASUREMENTS.name] += len(corrections)
        if self.validate and (new_rows or replacements):
            entered = [self.session.get(Measurement, row["id"]) for row in new_rows]
            imported = [*entered, *replacements]
            for measurement in review.validate_imported(self.session, self.principal, imported):
                self.problem(
                    MEASUREMENTS,
                    None,
                    "measured_on",
                    f"la mesure de l'indicateur {measurement.indicator_id} au "
                    f"{measurement.measured_on.isoformat()} ne peut être validée à l'import : "
                    "seul un valideur du partenaire qui la produit le peut",
                )

    # -- decisions and financial lines: through their domain services -------------------------

    def _service_principal(self):
        """Who the governance service sees: the importing user, or (command line, no
        principal) the operator with an administrator's rights on this contract."""
        if self.principal is not None:
            return self.principal
        from suivi.auth.principal import Principal

        return Principal(
            user_id=self.actor_id,  # type: ignore[arg-type] - None: no user (command line)
            email="",
            full_name=self.actor_label,
            role="admin",
            partner_id=None,
            contract_ids=(self.contract.id,),
        )

    def _service_refusal(self, spec: SheetSpec, row: Row, exc: ApiError, fields: dict) -> None:
        """A refusal of a domain service, on the row and the column of the field at fault."""
        column = fields.get(exc.field, exc.field)
        if column not in spec.by_key:
            column = None
        self.problem(spec, row, column, _problem(exc))

    def _check_decisions(self) -> None:
        if not self.has(DECISIONS):
            return
        self.meetings: dict[tuple[str, date], list[Meeting]] = defaultdict(list)
        for meeting in self.session.scalars(
            select(Meeting).where(Meeting.contract_id == self.contract.id).order_by(Meeting.id)
        ):
            self.meetings[(meeting.kind, meeting.held_on)].append(meeting)
        for row in self.rows(DECISIONS):
            if row.ok("meeting_kind", "meeting_on"):
                kind = MEETING_KIND_CHOICES[row.values["meeting_kind"]]
                found = self.meetings.get((row.values["meeting_kind"], row.values["meeting_on"]))
                if not found:
                    self.refuse(
                        DECISIONS,
                        row,
                        "meeting_on",
                        f"aucune instance {quote(kind)} le {_fr(row.values['meeting_on'])} : "
                        "créez-la d'abord",
                    )
                elif len(found) > 1:
                    self.refuse(
                        DECISIONS,
                        row,
                        "meeting_on",
                        f"plusieurs instances de ce type le {_fr(row.values['meeting_on'])} : "
                        "saisissez cette décision dans Suivi",
                    )
            self._known(DECISIONS, row, "owner", self.partner_codes, "partenaire")
            for column, known, what in (
                ("commitments", self.commitment_codes, "engagement"),
                ("indicators", self.indicator_codes, "indicateur"),
                ("quartiers", self.quartiers, "quartier"),
            ):
                for code in row.get(column) or ():
                    if code not in known:
                        self.refuse(DECISIONS, row, column, f"{what} {quote(code)} inconnu")

    def _apply_decisions(self) -> None:
        """Each row through `suivi.governance.service` (create or update a decision): the
        rules of the API and the pages (a meeting not held yet, a due date before the
        meeting, a text edited after the relevé…)."""
        if not self.has(DECISIONS):
            return
        from suivi.governance import service as governance
        from suivi.governance.models import DecisionLink

        principal = self._service_principal()
        present = self.sheets[DECISIONS.name].present
        stored: dict[tuple[int, int], Decision] = {
            (d.meeting_id, d.number): d
            for d in self.session.scalars(
                select(Decision).where(Decision.contract_id == self.contract.id)
            )
        }
        links: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        for decision_id, kind, target_id in self.session.execute(
            select(DecisionLink.decision_id, DecisionLink.target_kind, DecisionLink.target_id)
            .join(Decision, Decision.id == DecisionLink.decision_id)
            .where(Decision.contract_id == self.contract.id)
        ):
            links[decision_id][kind].add(target_id)
        columns = {
            "text": "text",
            "kind": "kind",
            "status": "status",
            "owner_partner_id": "owner",
            "due_on": "due_on",
            "avenant_reference": "avenant_reference",
            "meeting_id": "meeting_on",
            "number": "number",
            "commitment_ids": "commitments",
            "indicator_ids": "indicators",
            "quartier_ids": "quartiers",
            "links": "commitments",
        }
        for row in self.rows(DECISIONS):
            meeting = self.meetings[(row.values["meeting_kind"], row.values["meeting_on"])][0]
            decision = stored.get((meeting.id, row.values["number"]))
            fields = {
                key: row.get(key, DECISIONS.by_key[key].default)
                for key in ("text", "kind", "status", "due_on", "avenant_reference")
                if key in present or decision is None
            }
            if "owner" in present or decision is None:
                owner = row.get("owner")
                fields["owner_partner_id"] = self.partners[owner].id if owner else None
            wanted = {
                kind: {lookup[code].id for code in row.get(column) or ()}
                for kind, column, lookup in (
                    ("commitment", "commitments", self.commitments),
                    ("indicator", "indicators", self.indicators),
                    ("quartier", "quartiers", self.quartiers),
                )
                if column in present or decision is None
            }
            try:
                if decision is None:
                    governance.create_decision(
                        self.session,
                        principal,
                        meeting,
                        fields={**fields, "number": row.values["number"]},
                        links={kind: sorted(ids) for kind, ids in wanted.items()},
                    )
                    self.report.created[DECISIONS.name] += 1
                    continue
                changed = {k: v for k, v in fields.items() if getattr(decision, k) != v}
                have = links[decision.id]
                new_links = None
                if any(have.get(kind, set()) != ids for kind, ids in wanted.items()):
                    new_links = {
                        kind: sorted(wanted.get(kind, have.get(kind, set())))
                        for kind in ("commitment", "indicator", "quartier")
                    }
                if not changed and new_links is None:
                    self.report.unchanged[DECISIONS.name] += 1
                    continue
                if "owner_partner_id" in changed:
                    changed["owner_contact_id"] = (
                        decision.owner_contact_id
                        if changed["owner_partner_id"] == decision.owner_partner_id
                        else None
                    )
                governance.update_decision(
                    self.session,
                    principal,
                    decision,
                    fields=changed,
                    links=new_links,
                    as_of=self.today,
                )
                self.report.updated[DECISIONS.name] += 1
            except ApiError as exc:
                self._service_refusal(DECISIONS, row, exc, columns)

    def _check_funding(self) -> None:
        for row in self.rows(FUNDING):
            self._known(FUNDING, row, "commitment", self.commitment_codes, "engagement")
            self._known(FUNDING, row, "partner", self.partner_codes, "partenaire")
            if row.ok("payments"):
                try:
                    row.values["payments"] = parse_payments(row.get("payments") or "")
                except CellError as exc:
                    self.refuse(FUNDING, row, "payments", str(exc))

    def _apply_funding(self) -> None:
        """Each row through `suivi.finance.service` (create or update a line, add its new
        payments): paid ≤ voted unless a reason, justified ≤ paid, no payment before the
        vote, SIRET and RNA checked, as for the API and the pages."""
        if not self.has(FUNDING):
            return
        from suivi import scoping
        from suivi.finance import service as finance
        from suivi.finance.models import FundingLine
        from suivi.finance.models import FundingPayment
        from suivi.finance.rules import clean_line_fields

        present = self.sheets[FUNDING.name].present
        lines: dict[tuple[int, int, int, str], FundingLine] = {
            (line.commitment_id, line.partner_id, line.year, line.beneficiary_name): line
            for line in self.session.scalars(
                select(FundingLine).where(FundingLine.contract_id == self.contract.id)
            )
        }
        paid: dict[int, list[tuple[date, Decimal, str]]] = defaultdict(list)
        for payment in self.session.scalars(
            select(FundingPayment)
            .join(FundingLine, FundingLine.id == FundingPayment.funding_line_id)
            .where(FundingLine.contract_id == self.contract.id)
            .order_by(FundingPayment.paid_on, FundingPayment.id)
        ):
            paid[payment.funding_line_id].append(
                (payment.paid_on, payment.amount, payment.reference)
            )
        columns = {
            "partner_id": "partner",
            "paid_on": "payments",
            "amount": "payments",
            "reference": "payments",
            "version": None,
        }
        keys = [
            c.key for c in FUNDING.columns if c.key not in ("commitment", "partner", "payments")
        ]
        for row in self.rows(FUNDING):
            commitment = self.commitments[row.values["commitment"]]
            partner_id = self.partners[row.values["partner"]].id
            beneficiary = (row.get("beneficiary_name") or "").strip()
            line = lines.get((commitment.id, partner_id, row.values["year"], beneficiary))
            fields = {
                key: row.get(key, FUNDING.by_key[key].default)
                for key in keys
                if key in present or line is None
            }
            fields["partner_id"] = partner_id
            payments = row.get("payments", []) if "payments" in present else None
            try:
                if line is None:
                    if self.principal is not None and not scoping.can_create_funding_line(
                        self.session, self.principal, commitment, partner_id
                    ):
                        self._forbidden(FUNDING, row)
                        continue
                    finance.create_line(
                        self.session,
                        commitment,
                        fields=fields,
                        payments=payments or [],
                        **self._actor(),
                    )
                    self.report.created[FUNDING.name] += 1
                    continue
                clean = clean_line_fields(fields)
                changed = {k: v for k, v in clean.items() if getattr(line, k) != v}
                new_payments = self._new_payments(row, paid[line.id], payments)
                if not changed and not new_payments:
                    self.report.unchanged[FUNDING.name] += 1
                    continue
                if self.principal is not None and not scoping.can_write_funding_line(
                    self.session, self.principal, line
                ):
                    self._forbidden(FUNDING, row)
                    continue
                if changed:
                    finance.update_line(
                        self.session,
                        line,
                        version=line.version,
                        fields=changed,
                        **self._actor(),
                    )
                for day, amount, reference in new_payments or []:
                    finance.add_payment(
                        self.session,
                        line,
                        paid_on=day,
                        amount=amount,
                        reference=reference,
                        **self._actor(),
                    )
                self.report.updated[FUNDING.name] += 1
            except ApiError as exc:
                self._service_refusal(FUNDING, row, exc, columns)
            except InputError as exc:
                self.problem(FUNDING, row, None, _row_message(exc))

    def _new_payments(self, row: Row, stored: list, given: list | None) -> list | None:
        """The file's payments not yet recorded; a recorded payment missing from the file is
        refused (payments are never deleted)."""
        if given is None:
            return None
        from suivi.finance.service import clean_payment

        remaining = Counter(stored)
        new = []
        for day, amount, reference in given:
            cleaned = clean_payment(day, amount, reference)
            if remaining[cleaned] > 0:
                remaining[cleaned] -= 1
            else:
                new.append(cleaned)
        gone = sorted(remaining.elements())
        if gone:
            day, amount, _ = gone[0]
            raise Invalid(
                "payments",
                f"Le versement du {_fr(day)} ({amount} €) est enregistré : un versement ne se "
                "retire pas par import.",
            )
        return new


# Texts without a bound of their own in the workbook (descriptions, comments).
MAX_FREE_TEXT = 10_000


def _in_domain(column, value: Any) -> Any:
    """The value within Suivi's input domain (`suivi.validation`, as for the API and the
    forms): links http(s) only, texts without control characters, numbers within ±1e12."""
    if value is None:
        return None
    if column.key == "evidence_url":
        return clean_url(value)
    if column.kind == "text":
        return clean_text(value, column.max_length or MAX_FREE_TEXT, "Le texte")
    if column.kind == "number":
        return clean_number(value)
    return value


def _problem(exc: Invalid) -> str:
    """A service's refusal as a problem of the report: « La date… » → « la date… »."""
    message = exc.detail.rstrip(".")
    return message[:1].lower() + message[1:]


def _row_message(exc: InputError) -> str:
    """« La valeur doit être… » → « la valeur doit être… », as the report's other problems."""
    message = str(exc).rstrip(".")
    return message[:1].lower() + message[1:]


def _nonzero(counts: Counter) -> dict[str, int]:
    return {name: count for name, count in counts.items() if count}


def _entity_id(row) -> str:
    if isinstance(row, CommitmentPartner):
        return f"{row.commitment_id}:{row.partner_id}"
    if isinstance(row, CommitmentAmount):
        return f"{row.commitment_id}:{row.year}"
    return str(row.id)


def _chunks(values: list, size: int = IN_CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _show(value: Any) -> str:
    if isinstance(value, date):
        return _fr(value)
    if isinstance(value, float):
        text = repr(int(value)) if value.is_integer() else repr(value)
        return text.replace(".", ",")
    return str(value)


def _key_part(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value
