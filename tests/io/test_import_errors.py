"""A bad workbook is refused whole: every problem named with its sheet, row and column, in
French, and the database left exactly as it was."""

from __future__ import annotations

from datetime import date

import pytest
from openpyxl import load_workbook

from tests.support.io import database_digest
from tests.support.io import export_to
from tests.support.io import header_index
from tests.support.io import import_from


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


# (edit, sheet, row, column, words of the French message)
CASES = {
    "not a number": (
        _set("Mesures", 12, "Valeur", "abc"),
        "Mesures, ligne 12, colonne Valeur : « abc » n'est pas un nombre",
    ),
    "not a date": (
        _set("Mesures", 7, "Date", "31/02/2026"),
        "Mesures, ligne 7, colonne Date : « 31/02/2026 » n'est pas une date",
    ),
    "unknown status": (
        _set("Engagements", 4, "Statut", "Fini"),
        "Engagements, ligne 4, colonne Statut : « Fini » n'est pas une valeur permise",
    ),
    "unknown partner": (
        _set("Engagements", 5, "Partenaire pilote (code)", "mairie-inconnue"),
        "Engagements, ligne 5, colonne Partenaire pilote (code) : partenaire "
        "« mairie-inconnue » inconnu",
    ),
    "unknown quartier": (
        _set("Engagements", 6, "Quartiers (codes QPV)", "QN06202M; QN99999Z"),
        "Engagements, ligne 6, colonne Quartiers (codes QPV) : quartier « QN99999Z » inconnu",
    ),
    "unknown priority": (
        _set("Engagements", 8, "Orientation (code)", "O9.9"),
        "Engagements, ligne 8, colonne Orientation (code) : orientation « O9.9 » inconnu",
    ),
    "unknown indicator": (
        _set("Mesures", 3, "Code indicateur", "ENG-999-I9"),
        "Mesures, ligne 3, colonne Code indicateur : indicateur « ENG-999-I9 » inconnu",
    ),
    "measurement outside the term": (
        _set("Mesures", 9, "Date", date(2023, 3, 31)),
        "Mesures, ligne 9, colonne Date : la date du 31/03/2023 est hors de la durée du contrat",
    ),
    "commitment ending before it starts": (
        _set("Engagements", 3, "Date de fin", date(2024, 12, 1)),
        "Engagements, ligne 3, colonne Date de fin : la date de fin (01/12/2024) précède",
    ),
    "target before the baseline": (
        _set("Cibles", 2, "Date", date(2024, 10, 31)),
        "Cibles, ligne 2, colonne Date : la cible du 31/10/2024",
    ),
    "duplicated key": (
        _duplicate_row("Engagements", 2, 20),
        "Engagements, ligne 20, colonne Code engagement : doublon : « ENG-001 » figure déjà "
        "à la ligne 2",
    ),
    "required value missing": (
        _set("Indicateurs", 10, "Intitulé", None),
        "Indicateurs, ligne 10, colonne Intitulé : valeur obligatoire manquante",
    ),
    "share above 100 %": (
        _set("Co-partenaires", 2, "Part", 1.5),
        "Co-partenaires, ligne 2, colonne Part : « 1,5 » : la part doit être comprise",
    ),
    "negative amount": (
        _set("Montants", 3, "Montant (€)", -10),
        "Montants, ligne 3, colonne Montant (€) : « -10 » est négatif",
    ),
    "tolerance out of range": (
        _set("Indicateurs", 2, "Tolérance", 1.2),
        "Indicateurs, ligne 2, colonne Tolérance : « 1,2 » : la tolérance",
    ),
    "not yes or no": (
        _set("Indicateurs", 2, "Cumulatif", "peut-être"),
        "Indicateurs, ligne 2, colonne Cumulatif : « peut-être » n'est pas « oui » ou « non »",
    ),
    "bad siren": (
        _set("Partenaires", 2, "SIREN", "12345"),
        "Partenaires, ligne 2, colonne SIREN : « 12345 » : le SIREN doit compter exactement 9 "
        "chiffres",
    ),
    "new quartier": (
        _set("Quartiers", 2, "Code QPV", "QN06999Z"),
        "Quartiers, ligne 2, colonne Code QPV : quartier « QN06999Z » inconnu",
    ),
    "missing column": (
        _drop_header("Mesures", "Valeur"),
        "Mesures, ligne 1, colonne Valeur : colonne obligatoire absente",
    ),
}


@pytest.fixture
def demo_export(demo_db, tmp_path):
    return export_to(demo_db, tmp_path / "demo.xlsx")


@pytest.mark.parametrize("case", list(CASES))
def test_bad_cell_or_row_is_refused_with_its_row_and_nothing_written(case, demo_db, demo_export):
    edit, expected = CASES[case]
    workbook = load_workbook(demo_export)
    edit(workbook)
    # Something the import would otherwise change, to prove it is not written either.
    _set("Engagements", 2, "Intitulé", "Titre modifié")(workbook)
    workbook.save(demo_export)
    before = database_digest(demo_db)

    report = import_from(demo_db, demo_export)

    assert not report.ok
    texts = [str(problem) for problem in report.problems]
    assert any(text.startswith(expected) for text in texts), texts
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
        CASES[name][0](workbook)
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
