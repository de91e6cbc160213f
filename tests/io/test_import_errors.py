"""A bad workbook is refused whole: every problem named with its sheet, row and column, in
French, and the database left exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from openpyxl import Workbook
from openpyxl import load_workbook

from tests.support.io import database_digest
from tests.support.io import export_to
from tests.support.io import header_index
from tests.support.io import import_from


@dataclass(frozen=True)
class Bad:
    """One bad cell or row: where the import must point, and the rest of its French message."""

    sheet: str
    row: int
    column: str
    says: str
    value: object = None
    # How the workbook is spoilt; by default `value` is written at (row, column).
    spoil: Callable[[Workbook], None] | None = None

    @property
    def expected(self) -> str:
        return f"{self.sheet}, ligne {self.row}, colonne {self.column} : {self.says}"

    def apply(self, workbook: Workbook) -> None:
        if self.spoil is not None:
            self.spoil(workbook)
        else:
            _set(self.sheet, self.row, self.column, self.value)(workbook)


def _set(sheet_name: str, row: int, header: str, value):
    def edit(workbook):
        sheet = workbook[sheet_name]
        sheet.cell(row, header_index(sheet, header)).value = value

    return edit


def _duplicate_row(sheet_name: str, source: int, target: int):
    def edit(workbook):
        sheet = workbook[sheet_name]
        for cell in sheet[source]:
            sheet.cell(target, cell.column).value = cell.value

    return edit


def _drop_header(sheet_name: str, header: str):
    def edit(workbook):
        sheet = workbook[sheet_name]
        sheet.cell(1, header_index(sheet, header)).value = None

    return edit


CASES = {
    "not a number": Bad("Mesures", 12, "Valeur", "« abc » n'est pas un nombre", "abc"),
    "not a date": Bad("Mesures", 7, "Date", "« 31/02/2026 » n'est pas une date", "31/02/2026"),
    "unknown status": Bad(
        "Engagements", 4, "Statut", "« Fini » n'est pas une valeur permise", "Fini"
    ),
    "unknown partner": Bad(
        "Engagements",
        5,
        "Partenaire pilote (code)",
        "partenaire « mairie-inconnue » inconnu",
        "mairie-inconnue",
    ),
    "unknown quartier": Bad(
        "Engagements",
        6,
        "Quartiers (codes QPV)",
        "quartier « QN99999Z » inconnu",
        "QN06202M; QN99999Z",
    ),
    "unknown priority": Bad(
        "Engagements", 8, "Orientation (code)", "orientation « O9.9 » inconnu", "O9.9"
    ),
    "unknown indicator": Bad(
        "Mesures", 3, "Code indicateur", "indicateur « ENG-999-I9 » inconnu", "ENG-999-I9"
    ),
    "measurement outside the term": Bad(
        "Mesures",
        9,
        "Date",
        "la date du 31/03/2023 est hors de la durée du contrat",
        date(2023, 3, 31),
    ),
    "commitment ending before it starts": Bad(
        "Engagements", 3, "Date de fin", "la date de fin (01/12/2024) précède", date(2024, 12, 1)
    ),
    "target before the baseline": Bad(
        "Cibles", 2, "Date", "la cible du 31/10/2024", date(2024, 10, 31)
    ),
    "duplicated key": Bad(
        "Engagements",
        20,
        "Code engagement",
        "doublon : « ENG-001 » figure déjà à la ligne 2",
        spoil=_duplicate_row("Engagements", 2, 20),
    ),
    "required value missing": Bad("Indicateurs", 10, "Intitulé", "valeur obligatoire manquante"),
    "share above 100 %": Bad(
        "Co-partenaires", 2, "Part", "« 1,5 » : la part doit être comprise", 1.5
    ),
    "negative amount": Bad("Montants", 3, "Montant (€)", "« -10 » est négatif", -10),
    "tolerance out of range": Bad("Indicateurs", 2, "Tolérance", "« 1,2 » : la tolérance", 1.2),
    "not yes or no": Bad(
        "Indicateurs",
        2,
        "Cumulatif",
        "« peut-être » n'est pas « oui » ou « non »",
        "peut-être",
    ),
    "bad siren": Bad(
        "Partenaires",
        2,
        "SIREN",
        "« 12345 » : le SIREN doit compter exactement 9 chiffres",
        "12345",
    ),
    "new quartier": Bad("Quartiers", 2, "Code QPV", "quartier « QN06999Z » inconnu", "QN06999Z"),
    "missing column": Bad(
        "Mesures",
        1,
        "Valeur",
        "colonne obligatoire absente",
        spoil=_drop_header("Mesures", "Valeur"),
    ),
}


@pytest.fixture
def demo_export(demo_db, tmp_path):
    return export_to(demo_db, tmp_path / "demo.xlsx")


@pytest.mark.parametrize("case", list(CASES))
def test_bad_cell_or_row_is_refused_with_its_row_and_nothing_written(case, demo_db, demo_export):
    bad = CASES[case]
    workbook = load_workbook(demo_export)
    bad.apply(workbook)
    # Something the import would otherwise change, to prove it is not written either.
    _set("Engagements", 2, "Intitulé", "Titre modifié")(workbook)
    workbook.save(demo_export)
    before = database_digest(demo_db)

    report = import_from(demo_db, demo_export)

    assert not report.ok
    texts = [str(problem) for problem in report.problems]
    assert any(text.startswith(bad.expected) for text in texts), texts
    assert database_digest(demo_db) == before


def test_every_problem_is_reported_at_once(demo_db, demo_export):
    workbook = load_workbook(demo_export)
    for name in (
        "not a number",
        "unknown partner",
        "target before the baseline",
        "duplicated key",
        "measurement outside the term",
    ):
        CASES[name].apply(workbook)
    workbook.save(demo_export)
    before = database_digest(demo_db)

    report = import_from(demo_db, demo_export)

    texts = [str(problem) for problem in report.problems]
    assert len(texts) == 5, texts
    assert {(p.sheet, p.row) for p in report.problems} == {
        ("Mesures", 12),
        ("Engagements", 5),
        ("Cibles", 2),
        ("Engagements", 20),
        ("Mesures", 9),
    }
    assert database_digest(demo_db) == before


def test_final_target_against_the_direction_is_refused(demo_db, demo_export):
    workbook = load_workbook(demo_export)
    indicators = workbook["Indicateurs"]
    # An indicator whose baseline is raised above every target while it must increase.
    for row in range(2, indicators.max_row + 1):
        if indicators.cell(row, header_index(indicators, "Sens")).value == "Hausse":
            indicators.cell(row, header_index(indicators, "Valeur de référence")).value = 1e9
            code = indicators.cell(row, 1).value
            break
    workbook.save(demo_export)
    before = database_digest(demo_db)
    report = import_from(demo_db, demo_export)
    assert [str(p) for p in report.problems] == [
        f"Indicateurs, ligne {row}, colonne Valeur de référence : la cible finale de « {code} » "
        + report.problems[0].message.split(f"« {code} » ", 1)[1]
    ]
    assert "doit être supérieure à la valeur de référence" in report.problems[0].message
    assert database_digest(demo_db) == before


def test_unknown_partner_is_accepted_when_the_file_declares_it(demo_db, demo_export):
    workbook = load_workbook(demo_export)
    partners = workbook["Partenaires"]
    new_row = partners.max_row + 1
    for header, value in (
        ("Code partenaire", "asso-quartier"),
        ("Nom", "Association du quartier"),
        ("Type", "Opérateur"),
        ("Signataire", "non"),
    ):
        partners.cell(new_row, header_index(partners, header)).value = value
    _set("Engagements", 5, "Partenaire pilote (code)", "asso-quartier")(workbook)
    workbook.save(demo_export)
    report = import_from(demo_db, demo_export)
    assert report.ok, [str(p) for p in report.problems]
    assert report.created["Partenaires"] == 1 and report.updated["Engagements"] == 1


def test_corrupted_file_is_refused(demo_db, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a workbook")
    before = database_digest(demo_db)
    report = import_from(demo_db, path)
    assert not report.ok
    assert report.problems[0].sheet == "Fichier"
    assert "endommagé" in report.problems[0].message
    assert database_digest(demo_db) == before


def test_dry_run_changes_nothing_but_counts(demo_db, demo_export):
    workbook = load_workbook(demo_export)
    _set("Engagements", 2, "Intitulé", "Titre modifié")(workbook)
    measurements = workbook["Mesures"]
    measurements.cell(2, 3).value = measurements.cell(2, 3).value + 1
    workbook.save(demo_export)
    before = database_digest(demo_db)

    report = import_from(demo_db, demo_export, dry_run=True)

    assert report.ok and report.dry_run
    assert report.updated["Engagements"] == 1 and report.updated["Mesures"] == 1
    assert database_digest(demo_db) == before
    # The same file for real does change the database.
    assert import_from(demo_db, demo_export).changes == 2
    assert database_digest(demo_db) != before
