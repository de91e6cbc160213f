"""Export → import into an empty (reference-only) database → export gives the same workbook."""

from __future__ import annotations

from openpyxl import load_workbook
from sqlalchemy import func, select

from suivi.audit.models import AuditEvent
from suivi.indicators.models import Indicator, Measurement, Target, TargetRevision
from tests.io.helpers import (
    contract_id,
    database_digest,
    export_to,
    header_index,
    import_from,
    workbook_values,
)


def test_demo_round_trip_xlsx_is_identical(demo_db, reference_db, tmp_path):
    first = export_to(demo_db, tmp_path / "demo.xlsx")

    report = import_from(reference_db, first)
    assert report.ok, [str(p) for p in report.problems]
    assert report.created["Engagements"] == 160
    assert report.created["Mesures"] > 500

    second = export_to(reference_db, tmp_path / "again.xlsx")
    before, after = workbook_values(first), workbook_values(second)
    assert list(before) == list(after)
    for name in before:
        assert before[name] == after[name], f"sheet {name} differs"
    assert len(before["Mesures"]) == report.created["Mesures"] + 1
    # Every accepted change is audited, by the import.
    with reference_db.session(write=False) as session:
        audited = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.actor_label == "import")
        )
    assert audited >= report.changes


def test_demo_round_trip_csv_is_byte_identical(demo_db, reference_db, tmp_path):
    first = export_to(demo_db, tmp_path / "demo.zip", fmt="csv")
    report = import_from(reference_db, first)
    assert report.ok, [str(p) for p in report.problems]
    second = export_to(reference_db, tmp_path / "again.zip", fmt="csv")
    assert first.read_bytes() == second.read_bytes()


def test_reimporting_its_own_export_changes_nothing(demo_db, tmp_path):
    path = export_to(demo_db, tmp_path / "demo.xlsx")
    before = database_digest(demo_db)
    report = import_from(demo_db, path)
    assert report.ok and report.changes == 0
    assert report.unchanged["Mesures"] > 500
    assert database_digest(demo_db) == before


def test_workbook_has_frozen_headers_formats_and_business_keys(demo_db, tmp_path):
    workbook = load_workbook(export_to(demo_db, tmp_path / "demo.xlsx"))
    for name in ("Engagements", "Indicateurs", "Mesures", "Partenaires", "Quartiers"):
        assert workbook[name].freeze_panes == "A2"
    commitments = workbook["Engagements"]
    assert commitments["A1"].value == "Code engagement"
    assert commitments["A2"].value == "ENG-001"
    start = header_index(commitments, "Date de début")
    assert commitments.cell(2, start).number_format == "DD/MM/YYYY"
    status = header_index(commitments, "Statut")
    assert commitments.cell(2, status).value in {
        "Prévu",
        "En cours",
        "Réalisé",
        "Suspendu",
        "Abandonné",
    }
    measurements = workbook["Mesures"]
    assert measurements.cell(2, 1).value.startswith("ENG-")
    assert measurements.cell(2, 3).number_format == "#,##0.###"
    quartiers = workbook["Quartiers"]
    assert quartiers.cell(2, 1).value.startswith("QN")
    assert workbook["Listes"].sheet_state == "hidden"


def test_a_changed_value_is_a_correction_and_a_changed_target_a_revision(demo_db, tmp_path):
    path = export_to(demo_db, tmp_path / "demo.xlsx")
    workbook = load_workbook(path)
    sheet = workbook["Mesures"]
    code, day, old_value = (sheet.cell(2, c).value for c in (1, 2, 3))
    sheet.cell(2, 3).value = old_value + 1000
    sheet.cell(2, header_index(sheet, "Motif de correction")).value = "Erreur de saisie"
    targets = workbook["Cibles"]
    targets.cell(2, 3).value = targets.cell(2, 3).value + 7
    workbook.save(path)

    report = import_from(demo_db, path, actor_label="import")
    assert report.ok, [str(p) for p in report.problems]
    assert report.updated["Mesures"] == 1 and report.updated["Cibles"] == 1
    assert report.changes == 2

    with demo_db.session(write=False) as session:
        indicator_id = session.scalar(
            select(Indicator.id).where(
                Indicator.code == code, Indicator.contract_id == contract_id(demo_db)
            )
        )
        history = session.scalars(
            select(Measurement)
            .where(Measurement.indicator_id == indicator_id, Measurement.measured_on == day.date())
            .order_by(Measurement.id)
        ).all()
        assert len(history) == 2  # the old reading is kept
        old, new = history
        assert old.value == old_value and old.superseded_by_id == new.id
        assert new.value == old_value + 1000 and new.superseded_by_id is None
        assert new.correction_reason == "Erreur de saisie"
        assert session.scalar(select(func.count()).select_from(TargetRevision)) == 1
        event = session.scalars(select(AuditEvent).where(AuditEvent.entity == "measurement")).one()
        assert event.action == "update" and event.actor_label == "import"
        assert event.before["value"] == old_value
        assert session.scalar(select(func.count()).select_from(Target)) > 0
