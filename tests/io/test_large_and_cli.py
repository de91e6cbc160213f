"""A 10,000-row measurements file, the blank template, and the CLI's exit codes."""

from __future__ import annotations

from openpyxl import load_workbook
from sqlalchemy import func
from sqlalchemy import select

from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from tests.support.io import contract_id
from tests.support.io import database_digest
from tests.support.io import export_to
from tests.support.io import import_from
from tests.support.io import workbook_values
from tests.support.io import write_measurements


def test_ten_thousand_measurements_import(demo_db, tmp_path):
    with demo_db.session(write=False) as session:
        codes = list(
            session.scalars(
                select(Indicator.code)
                .where(Indicator.contract_id == contract_id(demo_db))
                .order_by(Indicator.code)
                .limit(5)
            )
        )
    path = tmp_path / "mesures.xlsx"
    assert write_measurements(path, codes, 2000) == 10_000

    report = import_from(demo_db, path)

    assert report.ok, [str(p) for p in report.problems[:5]]
    assert report.rows_read == {"Mesures": 10_000}
    assert report.created["Mesures"] + report.updated["Mesures"] == 10_000
    with demo_db.session(write=False) as session:
        current = session.scalar(
            select(func.count())
            .select_from(Measurement)
            .join(Indicator, Indicator.id == Measurement.indicator_id)
            .where(Indicator.code.in_(codes), Measurement.superseded_by_id.is_(None))
        )
    assert current >= 10_000


def test_blank_template_has_drop_down_lists_and_imports_as_nothing(demo_db, tmp_path):
    path = export_to(demo_db, tmp_path / "modele.xlsx", template=True)
    workbook = load_workbook(path)
    assert workbook["Engagements"].max_row == 1
    assert workbook["Mesures"].max_row == 1
    listes = workbook["Listes"]
    values = {cell.value for column in listes.iter_cols() for cell in column}
    assert {
        "france-travail",
        "QN06202M",
        "O1.1",
        "En cours",
        "Droit commun",
        "Trimestrielle",
        "Hausse",
        "Bailleur social",
        "personnes",
    } <= values
    formulas = {
        (sheet, str(validation.sqref).split(":")[0], validation.formula1)
        for sheet in ("Engagements", "Indicateurs", "Co-partenaires")
        for validation in workbook[sheet].data_validations.dataValidation
    }
    columns = {(sheet, ref[:-1]) for sheet, ref, _formula in formulas}
    # Partners, priorities, statuses, funding types; quartier, unit, direction, frequency.
    assert {
        ("Engagements", "D"),
        ("Engagements", "E"),
        ("Engagements", "H"),
        ("Engagements", "I"),
        ("Indicateurs", "C"),
        ("Indicateurs", "E"),
        ("Indicateurs", "G"),
        ("Indicateurs", "I"),
        ("Co-partenaires", "B"),
    } <= columns
    assert all(formula.startswith("=Listes!$") for _s, _r, formula in formulas)
    before = database_digest(demo_db)
    report = import_from(demo_db, path)
    assert report.ok and report.changes == 0
    assert database_digest(demo_db) == before


def test_cli_export_import_and_exit_codes(cli, demo_db, tmp_path):
    xlsx, archive = tmp_path / "out" / "suivi.xlsx", tmp_path / "out" / "suivi.zip"
    result = cli("export", "--format", "xlsx", "--out", str(xlsx))
    assert result.exit_code == 0, result.output
    assert "Export écrit" in result.output and xlsx.exists()
    result = cli("export", "--format", "csv", "--out", str(archive))
    assert result.exit_code == 0, result.output
    assert cli("export", "--format", "ods", "--out", str(xlsx)).exit_code == 2

    result = cli("import", str(archive), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "rien n'a été enregistré" in result.output

    workbook = load_workbook(xlsx)
    workbook["Mesures"]["C12"] = "abc"
    workbook.save(xlsx)
    before = database_digest(demo_db)
    result = cli("import", str(xlsx))
    assert result.exit_code == 1
    assert "Mesures, ligne 12, colonne Valeur : « abc » n'est pas un nombre" in result.output
    assert "rien n'a été enregistré" in result.output
    assert database_digest(demo_db) == before
    assert cli("import", str(tmp_path / "absent.xlsx")).exit_code == 1

    template = tmp_path / "out" / "modele.xlsx"
    assert cli("export", "--template", "--out", str(template)).exit_code == 0
    assert workbook_values(template)["Engagements"] == [workbook_values(xlsx)["Engagements"][0]]


def test_cli_opendata(cli, tmp_path):
    out = tmp_path / "open" / "engagements.csv"
    result = cli("opendata", "--out", str(out), "--as-of", "2026-11-15")
    assert result.exit_code == 0, result.output
    assert out.exists() and (tmp_path / "open" / "engagements.schema.json").exists()
