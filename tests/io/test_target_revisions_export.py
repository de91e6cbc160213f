"""Original vs revised targets in the exports: the workbook's « Cibles » (xlsx and CSV)
and the open-data CSV show the contract's original target next to the one in force, with
the decision and avenant that revised it; the workbook's informational columns are
ignored on import."""

from __future__ import annotations

import csv

from openpyxl import load_workbook

from suivi.io.opendata import write_opendata
from tests.support.databases import DEMO_AS_OF
from tests.support.governance import avenant_revisions
from tests.support.io import contract_id
from tests.support.io import csv_members
from tests.support.io import database_digest
from tests.support.io import export_to
from tests.support.io import import_from
from tests.support.io import workbook_values

INFO_HEADERS = ["Cible initiale (contrat)", "Décision de révision", "Avenant"]


def _by_target(rows: list[list]) -> dict[tuple, dict]:
    header, *lines = rows
    return {(line[0], str(line[1])[:10]): dict(zip(header, line, strict=True)) for line in lines}


def _check(line: dict, revision: dict) -> None:
    assert float(line["Valeur"]) == revision["revised"]
    assert float(line["Cible initiale (contrat)"]) == revision["original"]
    assert line["Décision de révision"].startswith(f"décision n\u00a0{revision['number']} du ")
    assert line["Avenant"].startswith("Avenant n° 1")


def test_workbook_targets_show_original_and_revised(demo_db, tmp_path):
    revisions = avenant_revisions(demo_db)
    assert len(revisions) == 2

    path = export_to(demo_db, tmp_path / "demo.xlsx")
    sheet = workbook_values(path)["Cibles"]
    # The input columns first (a new revision's kind, decision, avenant, reason), then the
    # informational ones.
    assert sheet[0][:3] == ["Code indicateur", "Date", "Valeur"]
    assert sheet[0][-3:] == INFO_HEADERS
    targets = _by_target(sheet)
    for revision in revisions:
        _check(targets[(revision["code"], revision["target_date"].isoformat())], revision)
    revised = {(r["code"], r["target_date"].isoformat()) for r in revisions}
    untouched = [line for key, line in targets.items() if key not in revised]
    assert untouched and all(
        line["Cible initiale (contrat)"] == line["Valeur"] and line["Décision de révision"] is None
        for line in untouched
    )
    # The informational columns stand apart (grey header), so nobody takes them for input.
    header = load_workbook(path)["Cibles"][1]
    first_info = sheet[0].index(INFO_HEADERS[0])
    assert header[2].fill.fgColor.rgb != header[first_info].fill.fgColor.rgb

    zipped = export_to(demo_db, tmp_path / "demo.zip", fmt="csv")
    targets = _by_target(csv_members(zipped)["cibles.csv"])
    for revision in revisions:
        _check(targets[(revision["code"], revision["target_date"].isoformat())], revision)


def test_informational_columns_are_ignored_on_import(demo_db, tmp_path):
    path = export_to(demo_db, tmp_path / "demo.xlsx")
    workbook = load_workbook(path)
    sheet = workbook["Cibles"]
    headers = [cell.value for cell in sheet[1]]
    original, decision, avenant = (headers.index(name) for name in INFO_HEADERS)
    for row in sheet.iter_rows(min_row=2):
        row[original].value = 1.0  # a made-up original target
        row[decision].value = '=HYPERLINK("http://example.org")'
        row[avenant].value = "Avenant imaginaire"
    workbook.save(path)
    before = database_digest(demo_db)
    report = import_from(demo_db, path)
    assert report.ok, [str(p) for p in report.problems]
    assert report.changes == 0
    assert database_digest(demo_db) == before


def test_open_data_shows_the_original_final_target(demo_db, tmp_path):
    revisions = avenant_revisions(demo_db)
    out = tmp_path / "opendata.csv"
    with demo_db.session(write=False) as session:
        write_opendata(session, contract_id(demo_db), out, DEMO_AS_OF)
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for revision in revisions:
        lines = [row for row in rows if row["code_indicateur"] == revision["code"]]
        assert lines
        for line in lines:
            assert float(line["cible_finale"]) == revision["revised"]
            assert float(line["cible_finale_initiale"]) == revision["original"]
            assert line["date_cible_finale"] == revision["target_date"].isoformat()
            assert line["decision_revision_cible"].startswith(
                f"décision n\u00a0{revision['number']} du "
            )
            assert line["avenant_revision_cible"].startswith("Avenant n° 1")
    codes = {r["code"] for r in revisions}
    others = [row for row in rows if row["code_indicateur"] and row["code_indicateur"] not in codes]
    assert others and all(
        row["cible_finale_initiale"] == row["cible_finale"] and not row["decision_revision_cible"]
        for row in others
    )
