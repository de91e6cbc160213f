"""Text that a spreadsheet would run as a formula, and control characters, in every export:
xlsx (text cells, never formulas; no character XML refuses), the CSV archive, the open-data
CSV and the reports' figures CSV (quoted, numbers left alone) — and the round trips."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy import update

from suivi.commitments.models import Commitment
from suivi.indicators.models import Measurement
from suivi.io.opendata import write_opendata
from suivi.io.safe_text import csv_text
from suivi.io.safe_text import csv_text_read
from suivi.reports.context import CSV_COLUMNS
from suivi.reports.context import figures_csv
from tests.support.io import contract_id
from tests.support.io import database_digest
from tests.support.io import export_to
from tests.support.io import import_from

TITLE = "=1+1"
COMMENT = '=HYPERLINK("http://example.com/x","Cliquez")'


@pytest.fixture
def formulas(demo_db):
    """A commitment titled like a formula; a measurement of -3.5 commented with one."""
    with demo_db.session() as session:
        commitment_id = session.scalar(select(Commitment.id).order_by(Commitment.id).limit(1))
        measurement_id = session.scalar(
            select(Measurement.id)
            .where(Measurement.superseded_by_id.is_(None))
            .order_by(Measurement.id)
            .limit(1)
        )
        session.execute(
            update(Commitment).where(Commitment.id == commitment_id).values(title=TITLE)
        )
        session.execute(
            update(Measurement)
            .where(Measurement.id == measurement_id)
            .values(comment=COMMENT, value=-3.5)
        )
    return demo_db


def test_csv_quoting_rule_gives_every_text_back():
    for text in ("=1+1", "+33 6", "-x", "@SUM(A1)", "\tx", "\rx", "'=x", "''=x", "'abc", "a=b", ""):
        assert csv_text_read(csv_text(text)) == text
    assert csv_text("=1+1") == "'=1+1" and csv_text("'abc") == "'abc"
    assert csv_text("-3,5 €") == "'-3,5 €"


def test_xlsx_export_writes_text_not_formulas_and_round_trips(formulas, tmp_path):
    path = export_to(formulas, tmp_path / "portefeuille.xlsx")
    with zipfile.ZipFile(path) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert not any(b"<f>" in archive.read(name) for name in sheets)
    workbook = load_workbook(path)  # formulas would be read as such here
    titles = [row[1] for row in workbook["Engagements"].iter_rows(values_only=True)]
    assert TITLE in titles
    cell = next(c for row in workbook["Engagements"].iter_rows() for c in row if c.value == TITLE)
    assert cell.data_type == "s" and cell.quotePrefix
    measurements = list(workbook["Mesures"].iter_rows(values_only=True))
    header = measurements[0]
    row = next(r for r in measurements if r[header.index("Commentaire")] == COMMENT)
    assert row[header.index("Valeur")] == -3.5

    before = database_digest(formulas)
    report = import_from(formulas, path)
    assert report.ok and report.changes == 0, report.problems
    assert database_digest(formulas) == before


def test_csv_export_quotes_formulas_keeps_numbers_and_round_trips(formulas, tmp_path):
    path = export_to(formulas, tmp_path / "portefeuille.zip", fmt="csv")
    with zipfile.ZipFile(path) as archive:
        commitments = list(csv.reader(io.StringIO(archive.read("engagements.csv").decode())))
        measurements = list(csv.reader(io.StringIO(archive.read("mesures.csv").decode())))
    assert "'=1+1" in [row[1] for row in commitments]
    header = measurements[0]
    row = next(r for r in measurements if r[header.index("Commentaire")] == "'" + COMMENT)
    assert row[header.index("Valeur")] == "-3.5"

    before = database_digest(formulas)
    report = import_from(formulas, path)
    assert report.ok and report.changes == 0, report.problems
    assert database_digest(formulas) == before


def test_opendata_csv_quotes_formulas(formulas, tmp_path):
    out = tmp_path / "engagements-qpv.csv"
    with formulas.session(write=False) as session:
        write_opendata(session, contract_id(formulas), out, date(2026, 11, 15))
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    titles = {row["intitule_engagement"] for row in rows}
    assert "'=1+1" in titles and "=1+1" not in titles


def test_report_figures_csv_quotes_text_not_numbers():
    row = dict.fromkeys(CSV_COLUMNS, "")
    row.update(nom='=HYPERLINK("x")', unite="@u", valeur_actuelle="-3.5", progression="-0.25")
    data = figures_csv([row]).decode("utf-8-sig")
    read = next(csv.DictReader(io.StringIO(data)))
    assert read["nom"] == '\'=HYPERLINK("x")' and read["unite"] == "'@u"
    assert read["valeur_actuelle"] == "-3.5" and read["progression"] == "-0.25"


def test_control_characters_never_break_an_export(api, demo_db):
    client, headers = api
    with demo_db.session() as session:
        session.execute(
            update(Measurement)
            .where(
                Measurement.id
                == select(Measurement.id)
                .where(Measurement.superseded_by_id.is_(None))
                .order_by(Measurement.id)
                .limit(1)
                .scalar_subquery()
            )
            .values(comment="a\x01b\x1bc")
        )
        session.execute(update(Commitment).values(title=Commitment.title + "\x0b"))
    for role in ("admin", "copil"):
        response = client.get("/api/io/export", headers=headers[role])
        assert response.status_code == 200, response.text
        workbook = load_workbook(io.BytesIO(response.content))
        rows = list(workbook["Mesures"].iter_rows(values_only=True))
        comments = [row[rows[0].index("Commentaire")] for row in rows]
        if role == "admin":
            assert "abc" in comments
        response = client.get("/api/io/export", params={"format": "csv"}, headers=headers[role])
        assert response.status_code == 200
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            assert archive.testzip() is None
