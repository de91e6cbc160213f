"""Export a contract's portfolio to a workbook (xlsx) or to CSV files (a zip, one CSV per
sheet), and the blank template: the very format that `suivi.io.importer` reads back.

Rows are gathered with one query per sheet and written with openpyxl's write-only mode, so
a national portfolio streams to disk instead of building every cell in memory.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment
from openpyxl.styles import Font
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import ColumnElement
from sqlalchemy import select
from sqlalchemy import true
from sqlmodel import Session

from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentAmount
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.models import CommitmentQuartier
from suivi.contract.models import Commune
from suivi.contract.models import Contract
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.contract.models import QuartierCommune
from suivi.contract.models import contract_quartier_ids
from suivi.finance.models import FundingLine
from suivi.finance.models import FundingPayment
from suivi.governance.models import Decision
from suivi.governance.models import DecisionLink
from suivi.governance.service import revision_steps
from suivi.governance.service import target_line
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.io.safe_text import is_formula_like
from suivi.io.safe_text import xlsx_text
from suivi.io.workbook import AMOUNTS
from suivi.io.workbook import CO_PARTNERS
from suivi.io.workbook import COMMITMENTS
from suivi.io.workbook import DECISION_KIND_CHOICES
from suivi.io.workbook import DECISION_STATUS_CHOICES
from suivi.io.workbook import DECISIONS
from suivi.io.workbook import DIRECTION_CHOICES
from suivi.io.workbook import FREQUENCY_CHOICES
from suivi.io.workbook import FUNDING
from suivi.io.workbook import FUNDING_CHOICES
from suivi.io.workbook import INDICATORS
from suivi.io.workbook import LISTS_SHEET
from suivi.io.workbook import MEASUREMENTS
from suivi.io.workbook import MEETING_KIND_CHOICES
from suivi.io.workbook import NO
from suivi.io.workbook import NUMBER_FORMAT
from suivi.io.workbook import PARTNER_KIND_CHOICES
from suivi.io.workbook import PARTNERS
from suivi.io.workbook import PRIORITIES
from suivi.io.workbook import QUARTIERS
from suivi.io.workbook import README_SHEET
from suivi.io.workbook import REVISION_KIND_CHOICES
from suivi.io.workbook import SHEETS
from suivi.io.workbook import STATUS_CHOICES
from suivi.io.workbook import TARGETS
from suivi.io.workbook import YES
from suivi.io.workbook import Column
from suivi.io.workbook import SheetSpec
from suivi.io.workbook import cell_value
from suivi.io.workbook import csv_value
from suivi.io.workbook import payments_text

FORMATS = ("xlsx", "csv")
# Units offered in the template's drop-down besides those already used (free text allowed).
COMMON_UNITS = ("%", "personnes", "ménages", "logements", "euros", "actions", "nombre")
# Rows below the data that still get the drop-down lists, for new entries.
DROPDOWN_SPARE_ROWS = 1000
# Fixed timestamp of the zip entries, so that the same data gives the same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

Progress = Callable[[str, int], None]
Table = list[dict[str, Any]]

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
# Informational columns (grey header) written after a sheet's own: the importer ignores
# headers it does not know, so they never change anything on import.
INFO_FILL = PatternFill("solid", fgColor="7F7F7F")

# « Cibles »: « Valeur » is the target in force (the revised one, which evaluation uses);
# the original contract target, the decision and the avenant that revised it come after,
# for information. A target is revised through a committee decision, not by import.
TARGET_HISTORY_COLUMNS = (
    Column("original_value", "Cible initiale (contrat)", "number", number_format=NUMBER_FORMAT),
    Column("decision", "Décision de révision", "text", width=40),
    Column("avenant", "Avenant", "text", width=40),
)
INFO_COLUMNS: dict[str, tuple[Column, ...]] = {TARGETS.name: TARGET_HISTORY_COLUMNS}


def written_columns(sheet: SheetSpec) -> tuple[Column, ...]:
    """The sheet's columns as exported: its own, then the informational ones."""
    return sheet.columns + INFO_COLUMNS.get(sheet.name, ())


@dataclass(frozen=True)
class ExportSummary:
    format: str
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def contract_of(session: Session, contract_id: int) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise LookupError(f"contract {contract_id} not found")
    return contract


# -- gathering rows --------------------------------------------------------------------------


def collect_tables(session: Session, contract_id: int, principal=None) -> dict[str, Table]:
    """Every sheet's rows (dicts keyed by column key, Python values), in a stable order.
    With a `principal`, only what `suivi.scoping` lets them read."""
    visible, partners = _conditions(principal)
    return {
        PARTNERS.name: _partners(session, contract_id, partners),
        QUARTIERS.name: _quartiers(session, contract_id),
        PRIORITIES.name: _priorities(session, contract_id),
        COMMITMENTS.name: _commitments(session, contract_id, visible),
        CO_PARTNERS.name: _co_partners(session, contract_id, visible),
        AMOUNTS.name: _amounts(session, contract_id, visible),
        INDICATORS.name: _indicators(session, contract_id, visible),
        TARGETS.name: _targets(session, contract_id, visible),
        MEASUREMENTS.name: _measurements(session, contract_id, visible),
        DECISIONS.name: _decisions(session, contract_id, principal),
        FUNDING.name: _funding(session, contract_id, principal),
    }


def _conditions(principal) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """WHERE conditions on Commitment and on Partner for what `principal` may read."""
    if principal is None:
        return true(), true()
    from suivi import scoping

    return scoping.commitment_condition(principal), scoping.partner_condition(principal)


def sheet_row(sheet: SheetSpec, record: object, **given: Any) -> dict[str, Any]:
    """One row of `sheet`: each column's value from `given`, else from `record`'s attribute
    named as the column's key (the sheets name their columns after the models' fields)."""
    return {
        column.key: given[column.key] if column.key in given else getattr(record, column.key)
        for column in sheet.columns
    }


def _rows(session: Session, query, sheet: SheetSpec) -> Table:
    """The rows of a query that selects `sheet`'s columns, in their order."""
    keys = [column.key for column in sheet.columns]
    return [dict(zip(keys, row, strict=True)) for row in session.execute(query)]


def _codes_by_id(session: Session, model, condition) -> dict[int, str]:
    return dict(session.execute(select(model.id, model.code).where(condition)).all())


def _partners(session: Session, contract_id: int, condition) -> Table:
    query = (
        select(Partner, Commune.insee)
        .outerjoin(Commune, Commune.id == Partner.commune_id)
        .where(Partner.contract_id == contract_id, condition)
        .order_by(Partner.code)
    )
    return [
        sheet_row(PARTNERS, partner, commune=insee) for partner, insee in session.execute(query)
    ]


def _quartiers(session: Session, contract_id: int) -> Table:
    communes: dict[int, list[str]] = defaultdict(list)
    for quartier_id, insee in session.execute(
        select(QuartierCommune.quartier_id, Commune.insee)
        .join(Commune, Commune.id == QuartierCommune.commune_id)
        .where(QuartierCommune.quartier_id.in_(contract_quartier_ids(contract_id)))
        .order_by(Commune.insee)
    ):
        communes[quartier_id].append(insee)
    flagged = set(session.scalars(contract_quartier_ids(contract_id, in_contract=True)))
    query = (
        select(Quartier)
        .where(Quartier.id.in_(contract_quartier_ids(contract_id)))
        .order_by(Quartier.code)
    )
    return [
        sheet_row(
            QUARTIERS,
            quartier,
            communes=tuple(communes[quartier.id]),
            in_contract=quartier.id in flagged,
        )
        for quartier in session.scalars(query)
    ]


def _priorities(session: Session, contract_id: int) -> Table:
    rows = list(
        session.scalars(
            select(Priority)
            .where(Priority.contract_id == contract_id)
            .order_by(Priority.position, Priority.code)
        )
    )
    code_of = {priority.id: priority.code for priority in rows}
    return [
        sheet_row(PRIORITIES, priority, parent=code_of.get(priority.parent_id)) for priority in rows
    ]


def _commitments(session: Session, contract_id: int, condition) -> Table:
    quartiers: dict[int, list[str]] = defaultdict(list)
    for commitment_id, code in session.execute(
        select(CommitmentQuartier.commitment_id, Quartier.code)
        .join(Quartier, Quartier.id == CommitmentQuartier.quartier_id)
        .join(Commitment, Commitment.id == CommitmentQuartier.commitment_id)
        .where(Commitment.contract_id == contract_id, condition)
        .order_by(Quartier.code)
    ):
        quartiers[commitment_id].append(code)
    query = (
        select(Commitment, Partner.code, Priority.code)
        .join(Partner, Partner.id == Commitment.lead_partner_id)
        .join(Priority, Priority.id == Commitment.priority_id)
        .where(Commitment.contract_id == contract_id, condition)
        .order_by(Commitment.code)
    )
    return [
        sheet_row(
            COMMITMENTS,
            commitment,
            lead=lead,
            priority=priority,
            quartiers=tuple(quartiers[commitment.id]),
        )
        for commitment, lead, priority in session.execute(query)
    ]


def _co_partners(session: Session, contract_id: int, condition) -> Table:
    query = (
        select(Commitment.code, Partner.code, CommitmentPartner.share)
        .join(Commitment, Commitment.id == CommitmentPartner.commitment_id)
        .join(Partner, Partner.id == CommitmentPartner.partner_id)
    )
    return _commitment_rows(session, CO_PARTNERS, query, Partner.code, contract_id, condition)


def _amounts(session: Session, contract_id: int, condition) -> Table:
    query = select(Commitment.code, CommitmentAmount.year, CommitmentAmount.amount).join(
        Commitment, Commitment.id == CommitmentAmount.commitment_id
    )
    return _commitment_rows(session, AMOUNTS, query, CommitmentAmount.year, contract_id, condition)


def _commitment_rows(session: Session, sheet, query, then_by, contract_id, condition) -> Table:
    """`sheet`'s rows from `query` (a commitment's code, then its rows' columns) for the
    contract's commitments that pass `condition`, by commitment code, then `then_by`."""
    query = query.where(Commitment.contract_id == contract_id, condition)
    return _rows(session, query.order_by(Commitment.code, then_by), sheet)


def _indicators(session: Session, contract_id: int, condition) -> Table:
    query = (
        select(Indicator, Commitment.code, Quartier.code, PartnerContact.email)
        .join(Commitment, Commitment.id == Indicator.commitment_id)
        .outerjoin(Quartier, Quartier.id == Indicator.quartier_id)
        .outerjoin(PartnerContact, PartnerContact.id == Indicator.data_owner_contact_id)
        .where(Indicator.contract_id == contract_id, condition)
        .order_by(Indicator.code)
    )
    return [
        sheet_row(INDICATORS, indicator, commitment=commitment, quartier=quartier, data_owner=owner)
        for indicator, commitment, quartier, owner in session.execute(query)
    ]


def _targets(session: Session, contract_id: int, condition) -> Table:
    query = (
        select(Indicator.code, Target)
        .join(Indicator, Indicator.id == Target.indicator_id)
        .join(Commitment, Commitment.id == Indicator.commitment_id)
        .where(Indicator.contract_id == contract_id, condition)
        .order_by(Indicator.code, Target.target_date)
    )
    steps = revision_steps(session, contract_id=contract_id)
    rows = []
    for code, target in session.execute(query):
        line = target_line(target, steps.get(target.id, []))
        last = line.steps[-1] if line.steps else None
        rows.append(
            {
                "indicator": code,
                "target_date": target.target_date,
                "value": target.value,
                "original_value": line.original,
                "decision": last.decision_label if last else "",
                "avenant": last.avenant if last else "",
            }
        )
    return rows


def _measurements(session: Session, contract_id: int, condition) -> Table:
    # Current readings only: superseded ones stay in the database as history.
    # Columns, not ORM objects (the largest sheet): after the indicator's code, the sheet's
    # columns are the measurement's fields of the same names.
    fields = [getattr(Measurement, column.key) for column in MEASUREMENTS.columns[1:]]
    query = (
        select(Indicator.code, *fields)
        .join(Indicator, Indicator.id == Measurement.indicator_id)
        .join(Commitment, Commitment.id == Indicator.commitment_id)
        .where(
            Indicator.contract_id == contract_id,
            Measurement.superseded_by_id.is_(None),
            condition,
        )
        .order_by(Indicator.code, Measurement.measured_on, Measurement.id)
    )
    return _rows(session, query, MEASUREMENTS)


def _decisions(session: Session, contract_id: int, principal) -> Table:
    """The decisions of the contract's meetings (those `principal` may read), with their
    links by code."""
    condition = true()
    if principal is not None:
        from suivi import scoping

        condition = scoping.decision_condition(principal)
    codes = {
        "commitment": _codes_by_id(session, Commitment, Commitment.contract_id == contract_id),
        "indicator": _codes_by_id(session, Indicator, Indicator.contract_id == contract_id),
        "quartier": _codes_by_id(
            session, Quartier, Quartier.id.in_(contract_quartier_ids(contract_id))
        ),
    }
    links: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for decision_id, kind, target_id in session.execute(
        select(DecisionLink.decision_id, DecisionLink.target_kind, DecisionLink.target_id)
        .join(Decision, Decision.id == DecisionLink.decision_id)
        .where(Decision.contract_id == contract_id)
    ):
        code = codes[kind].get(target_id)
        if code is not None:
            links[decision_id][kind].append(code)
    query = (
        select(Decision, Meeting.kind, Meeting.held_on, Partner.code)
        .join(Meeting, Meeting.id == Decision.meeting_id)
        .outerjoin(Partner, Partner.id == Decision.owner_partner_id)
        .where(Decision.contract_id == contract_id, condition)
        .order_by(Meeting.held_on, Meeting.kind, Decision.number)
    )
    return [
        sheet_row(
            DECISIONS,
            decision,
            meeting_kind=kind,
            meeting_on=held_on,
            owner=owner,
            commitments=tuple(sorted(links[decision.id]["commitment"])),
            indicators=tuple(sorted(links[decision.id]["indicator"])),
            quartiers=tuple(sorted(links[decision.id]["quartier"])),
        )
        for decision, kind, held_on, owner in session.execute(query)
    ]


def _funding(session: Session, contract_id: int, principal) -> Table:
    """The financial lines (those `principal` may read), their payments in one cell."""
    condition = true()
    if principal is not None:
        from suivi import scoping

        condition = scoping.funding_line_condition(principal)
    payments: dict[int, list[FundingPayment]] = defaultdict(list)
    for payment in session.scalars(
        select(FundingPayment)
        .join(FundingLine, FundingLine.id == FundingPayment.funding_line_id)
        .where(FundingLine.contract_id == contract_id)
        .order_by(FundingPayment.paid_on, FundingPayment.id)
    ):
        payments[payment.funding_line_id].append(payment)
    query = (
        select(FundingLine, Commitment.code, Partner.code)
        .join(Commitment, Commitment.id == FundingLine.commitment_id)
        .join(Partner, Partner.id == FundingLine.partner_id)
        .where(FundingLine.contract_id == contract_id, condition)
        .order_by(Commitment.code, Partner.code, FundingLine.year, FundingLine.beneficiary_name)
    )
    return [
        sheet_row(
            FUNDING,
            line,
            commitment=commitment,
            partner=partner,
            payments=payments_text([(p.paid_on, p.amount, p.reference) for p in payments[line.id]]),
        )
        for line, commitment, partner in session.execute(query)
    ]


def dropdown_lists(
    session: Session, contract_id: int, principal=None
) -> dict[str, tuple[str, list[str]]]:
    """The drop-down lists of the « Listes » sheet: name -> (French title, values)."""
    _visible, partner_condition = _conditions(principal)
    partners = session.scalars(
        select(Partner.code)
        .where(Partner.contract_id == contract_id, partner_condition)
        .order_by(Partner.code)
    )
    quartiers = session.scalars(
        select(Quartier.code)
        .where(Quartier.id.in_(contract_quartier_ids(contract_id)))
        .order_by(Quartier.code)
    )
    priorities = session.scalars(
        select(Priority.code)
        .where(Priority.contract_id == contract_id)
        .order_by(Priority.position, Priority.code)
    )
    used_units = session.scalars(
        select(Indicator.unit).where(Indicator.contract_id == contract_id).distinct()
    )
    units = sorted(set(used_units) | set(COMMON_UNITS))
    return {
        "partenaires": ("Partenaires", list(partners)),
        "quartiers": ("Quartiers (QPV)", list(quartiers)),
        "orientations": ("Orientations", list(priorities)),
        "unites": ("Unités", units),
        "sens": ("Sens", list(DIRECTION_CHOICES.values())),
        "frequences": ("Fréquences", list(FREQUENCY_CHOICES.values())),
        "statuts": ("Statuts", list(STATUS_CHOICES.values())),
        "financements": ("Types de financement", list(FUNDING_CHOICES.values())),
        "types": ("Types de partenaire", list(PARTNER_KIND_CHOICES.values())),
        "oui_non": ("Oui / non", [YES, NO]),
        "instances": ("Instances", list(MEETING_KIND_CHOICES.values())),
        "types_decision": ("Types de décision", list(DECISION_KIND_CHOICES.values())),
        "statuts_decision": ("Statuts de décision", list(DECISION_STATUS_CHOICES.values())),
        "revisions": ("Types de révision", list(REVISION_KIND_CHOICES.values())),
    }


# -- writing ---------------------------------------------------------------------------------


def export_portfolio(
    session: Session,
    contract_id: int,
    out: Path | IO[bytes],
    *,
    fmt: str = "xlsx",
    template: bool = False,
    progress: Progress | None = None,
    principal=None,
) -> ExportSummary:
    """Write the contract's portfolio (or, with `template`, the blank template) to `out`:
    an .xlsx workbook, or for `fmt="csv"` a zip holding one UTF-8 CSV per sheet. With a
    `principal` (`suivi.auth.principal.Principal`), only the rows they may read."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {FORMATS}")
    contract = contract_of(session, contract_id)
    tables = collect_tables(session, contract_id, principal)
    if template:
        # The reference sheets stay filled: they are what the drop-downs point to.
        tables = {
            name: rows if name in (PARTNERS.name, QUARTIERS.name, PRIORITIES.name) else []
            for name, rows in tables.items()
        }
    if fmt == "xlsx":
        write_xlsx(tables, out, contract, dropdown_lists(session, contract_id, principal), progress)
    else:
        write_csv_zip(tables, out, progress)
    return ExportSummary(fmt, {name: len(rows) for name, rows in tables.items()})


def write_csv_zip(tables: dict[str, Table], out: Path | IO[bytes], progress=None) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for sheet in SHEETS:
            buffer = io.StringIO(newline="")
            writer = csv.writer(buffer, lineterminator="\r\n")
            columns = written_columns(sheet)
            writer.writerow([column.header for column in columns])
            for row in tables[sheet.name]:
                writer.writerow([csv_value(column, row.get(column.key)) for column in columns])
            info = zipfile.ZipInfo(sheet.csv_name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue().encode("utf-8"))
            if progress:
                progress(sheet.name, len(tables[sheet.name]))


def write_xlsx(
    tables: dict[str, Table],
    out: Path | IO[bytes],
    contract: Contract,
    lists: dict[str, tuple[str, list[str]]],
    progress: Progress | None = None,
) -> None:
    workbook = Workbook(write_only=True)
    _write_readme(workbook, contract)
    list_ranges = _list_ranges(lists)
    for sheet in SHEETS:
        rows = tables[sheet.name]
        _write_sheet(workbook, sheet, rows, list_ranges)
        if progress:
            progress(sheet.name, len(rows))
    _write_lists(workbook, lists)
    workbook.save(out)


def _list_ranges(lists: dict[str, tuple[str, list[str]]]) -> dict[str, str]:
    ranges = {}
    for index, (name, (_title, values)) in enumerate(lists.items(), start=1):
        letter = get_column_letter(index)
        last = max(2, len(values) + 1)
        ranges[name] = f"{LISTS_SHEET}!${letter}$2:${letter}${last}"
    return ranges


def _write_sheet(workbook: Workbook, sheet: SheetSpec, rows: Table, list_ranges) -> None:
    worksheet = workbook.create_sheet(sheet.name)
    worksheet.freeze_panes = "A2"
    columns = written_columns(sheet)
    for index, column in enumerate(columns, start=1):
        worksheet.column_dimensions[get_column_letter(index)].width = column.width
    last_row = len(rows) + 1 + DROPDOWN_SPARE_ROWS
    for index, column in enumerate(sheet.columns, start=1):
        if column.dropdown and sheet.imported:
            validation = DataValidation(
                type="list",
                formula1=f"={list_ranges[column.dropdown]}",
                allow_blank=not column.required,
                showErrorMessage=column.dropdown_strict,
                errorTitle="Valeur non permise",
                error=f"Choisissez une valeur de la liste « {column.header} ».",
            )
            letter = get_column_letter(index)
            validation.add(f"{letter}2:{letter}{last_row}")
            worksheet.data_validations.append(validation)
    header = []
    for column in columns:
        cell = WriteOnlyCell(worksheet, value=column.header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL if column in sheet.columns else INFO_FILL
        header.append(cell)
    worksheet.append(header)
    formats = [column.number_format for column in columns]
    for row in rows:
        worksheet.append(
            [
                _cell(worksheet, cell_value(column, row.get(column.key)), number_format)
                for column, number_format in zip(columns, formats, strict=True)
            ]
        )


def _cell(worksheet, value: Any, number_format: str | None = None) -> Any:
    if isinstance(value, str):
        value = xlsx_text(value)
        if is_formula_like(value):
            cell = WriteOnlyCell(worksheet, value=value)
            cell.data_type = "s"  # openpyxl makes "=…" a formula: text, always
            cell.quotePrefix = True  # and a spreadsheet shows it, and keeps it, as text
            return cell
        return value
    if number_format is None or value is None:
        return value
    cell = WriteOnlyCell(worksheet, value=value)
    cell.number_format = number_format
    return cell


def _write_lists(workbook: Workbook, lists: dict[str, tuple[str, list[str]]]) -> None:
    worksheet = workbook.create_sheet(LISTS_SHEET)
    worksheet.sheet_state = "hidden"
    worksheet.append([_cell(worksheet, title) for title, _values in lists.values()])
    columns = [values for _title, values in lists.values()]
    depth = max(len(values) for values in columns)
    for index in range(depth):
        worksheet.append(
            [_cell(worksheet, values[index]) if index < len(values) else None for values in columns]
        )


def _write_readme(workbook: Workbook, contract: Contract) -> None:
    worksheet = workbook.create_sheet(README_SHEET)
    worksheet.column_dimensions["A"].width = 22
    worksheet.column_dimensions["B"].width = 100
    title = WriteOnlyCell(worksheet, value=xlsx_text(contract.name))
    title.font = Font(bold=True, size=14)
    worksheet.append([title])
    worksheet.append([_cell(worksheet, contract.territory)])
    worksheet.append([])
    for line in README_LINES:
        worksheet.append(list(line))
    worksheet.append([])
    for sheet in SHEETS:
        name = WriteOnlyCell(worksheet, value=sheet.name)
        name.font = Font(bold=True)
        text = WriteOnlyCell(worksheet, value=sheet.description)
        text.alignment = Alignment(wrap_text=True)
        worksheet.append([name, text])


README_LINES: tuple[tuple[str, ...], ...] = (
    ("Format", "Une feuille par type de données ; la première ligne porte les en-têtes."),
    (
        "Clés",
        "Les lignes sont reconnues par leurs codes (engagement, indicateur, partenaire, "
        "orientation, code QPV, code INSEE), jamais par un identifiant interne.",
    ),
    ("Dates", "JJ/MM/AAAA (ou AAAA-MM-JJ)."),
    ("Nombres", "Nombres décimaux ; les parts et tolérances sont des pourcentages."),
    (
        "Import",
        "Tout ou rien : au moindre problème, rien n'est enregistré et chaque erreur "
        "est signalée avec sa feuille, sa ligne et sa colonne. Les lignes absentes du fichier "
        "ne sont pas supprimées ; pour un engagement ou un indicateur présent, les feuilles "
        "Co-partenaires, Montants et Cibles (si elles sont présentes) donnent la liste complète.",
    ),
    (
        "Cibles révisées",
        "Dans la feuille Cibles, « Valeur » est la cible en vigueur (révisée, celle de "
        "l'évaluation). Les colonnes grises « Cible initiale (contrat) », « Décision de "
        "révision » et « Avenant » sont données pour information et ignorées à l'import : "
        "une cible se révise par une décision du comité.",
    ),
    (
        "Listes",
        "Les listes déroulantes proposent les partenaires, quartiers, orientations, "
        "unités, fréquences, sens, statuts et types de financement.",
    ),
)
