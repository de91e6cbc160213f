"""Export → import into an empty (reference-only) database → export gives the same workbook."""

from __future__ import annotations

from openpyxl import load_workbook
from sqlalchemy import func
from sqlalchemy import select

from suivi.audit.models import AuditEvent
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.indicators.models import TargetRevision
from tests.support.io import contract_id
from tests.support.io import copy_meetings
from tests.support.io import csv_members
from tests.support.io import database_digest
from tests.support.io import export_to
from tests.support.io import header_index
from tests.support.io import import_from
from tests.support.io import workbook_values


def copy_contacts(source, target) -> None:
    """Partner contacts are kept on the admin pages, not in the workbook: the reference
    database gets the demo's, so that the indicators' data owners (given by e-mail) exist."""
    from suivi.contract.models import Partner
    from suivi.contract.models import PartnerContact

    with source.session(write=False) as session:
        contacts = session.execute(
            select(Partner.code, PartnerContact).join(
                Partner, Partner.id == PartnerContact.partner_id
            )
        ).all()
        copies = [
            (code, contact.model_dump(exclude={"id", "partner_id"})) for code, contact in contacts
        ]
    with target.session() as session:
        partners = {p.code: p.id for p in session.execute(select(Partner)).scalars()}
        for code, fields in copies:
            session.add(PartnerContact(partner_id=partners[code], **fields))


def test_demo_round_trip_xlsx_is_identical(demo_db, reference_db, tmp_path):
    first = export_to(demo_db, tmp_path / "demo.xlsx")
    copy_contacts(demo_db, reference_db)
    copy_meetings(demo_db, reference_db)

    report = import_from(reference_db, first)
    assert report.ok, [str(p) for p in report.problems]
    assert report.created["Engagements"] == 160
    assert report.created["Mesures"] > 500
    # The committee's decisions and the financial lines travel too (#19, #20).
    assert report.created["Décisions"] == 12
    assert report.created["Financements"] > 100

    second = export_to(reference_db, tmp_path / "again.xlsx")
    # The columns the import reads; the informational ones (original target, decision,
    # avenant) show revision history that the workbook does not carry.
    before = workbook_values(first, imported_only=True)
    after = workbook_values(second, imported_only=True)
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
    copy_contacts(demo_db, reference_db)
    copy_meetings(demo_db, reference_db)
    report = import_from(reference_db, first)
    assert report.ok, [str(p) for p in report.problems]
    second = export_to(reference_db, tmp_path / "again.zip", fmt="csv")
    # Byte for byte, but for the informational columns of « Cibles » (revision history).
    before, after = csv_members(first), csv_members(second)
    assert [name for name in before if before[name] != after[name]] == ["cibles.csv"]
    assert csv_members(first, imported_only=True) == csv_members(second, imported_only=True)


def test_reimporting_its_own_export_changes_nothing(demo_db, tmp_path):
    path = export_to(demo_db, tmp_path / "demo.xlsx")
    before = database_digest(demo_db)
    report = import_from(demo_db, path)
    assert report.ok and report.changes == 0
    assert report.unchanged["Mesures"] > 500
    assert report.unchanged["Décisions"] == 12 and report.unchanged["Financements"] > 100
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
        # As the service's corrections: the reason on the replaced reading (the pages show it).
        assert old.correction_reason == "Erreur de saisie" and new.correction_reason == ""
        # The demo's own revisions carry a committee decision; the import's does not.
        imported = select(func.count()).where(TargetRevision.decision_id.is_(None))
        assert session.scalar(imported.select_from(TargetRevision)) == 1
        update, create = session.scalars(
            select(AuditEvent).where(AuditEvent.entity == "measurement").order_by(AuditEvent.id)
        ).all()
        assert update.action == "update" and update.actor_label == "import"
        assert update.before["value"] == old_value and update.entity_id == str(old.id)
        assert create.action == "create" and create.entity_id == str(new.id)
        assert session.scalar(select(func.count()).select_from(Target)) > 0


def _indicator_cells(workbook, code: str) -> tuple:
    sheet = workbook["Indicateurs"]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == code)
    return sheet, row


def test_the_indicator_sheet_travels_in_the_workbook(demo_db, tmp_path):
    path = export_to(demo_db, tmp_path / "demo.xlsx")
    workbook = load_workbook(path)
    sheet, row = _indicator_cells(workbook, "ENG-008-I2")  # Part du droit commun
    cell = {
        header: sheet.cell(row, header_index(sheet, header)).value
        for header in (
            "Taux",
            "Dénominateur",
            "Agrégation entre quartiers",
            "Pondération",
            "Comparabilité",
            "Projection",
            "Marge",
            "Justification de la marge",
            "Responsable de la donnée (e-mail)",
        )
    }
    assert cell["Taux"] == "oui" and cell["Dénominateur"] == "Financements totaux"
    assert cell["Agrégation entre quartiers"] == "Moyenne pondérée des quartiers"
    assert cell["Pondération"] == "financements totaux"
    assert cell["Comparabilité"] == "Comparable d'une période à l'autre"
    assert (cell["Projection"], cell["Marge"]) == ("oui", 1.0)
    assert cell["Justification de la marge"].startswith("Montants déclarés")
    assert cell["Responsable de la donnée (e-mail)"] == "contact.region@example.org"

    # Edited in the spreadsheet: a wider margin and a non-comparable statistic.
    sheet.cell(row, header_index(sheet, "Marge")).value = 2.5
    sheet.cell(row, header_index(sheet, "Comparabilité")).value = "statistique_non_comparable"
    sheet.cell(row, header_index(sheet, "Projection")).value = "non"
    workbook.save(path)
    report = import_from(demo_db, path)
    assert report.ok, [str(p) for p in report.problems]
    assert report.updated["Indicateurs"] == 1
    with demo_db.session(write=False) as session:
        indicator = session.scalars(select(Indicator).where(Indicator.code == "ENG-008-I2")).one()
        assert (indicator.margin, indicator.comparability, indicator.forecast) == (
            2.5,
            "statistique_non_comparable",
            False,
        )


def test_an_inconsistent_sheet_in_the_workbook_is_refused_in_french(demo_db, tmp_path):
    path = export_to(demo_db, tmp_path / "demo.xlsx")
    workbook = load_workbook(path)
    sheet, row = _indicator_cells(workbook, "ENG-008-I2")
    sheet.cell(row, header_index(sheet, "Agrégation entre quartiers")).value = "sum"
    sheet.cell(row, header_index(sheet, "Marge")).value = -1
    sheet, other = _indicator_cells(workbook, "ENG-033-I1")
    sheet.cell(other, header_index(sheet, "Dénominateur")).value = None
    sheet.cell(other, header_index(sheet, "Taux")).value = "oui"
    sheet.cell(
        other, header_index(sheet, "Responsable de la donnée (e-mail)")
    ).value = "inconnu@example.org"
    workbook.save(path)
    before = database_digest(demo_db)
    report = import_from(demo_db, path)
    assert not report.ok
    problems = [str(p) for p in report.problems]
    assert any("Marge" in p and "positif ou nul" in p for p in problems), problems
    assert any(
        "Dénominateur" in p and "un taux doit indiquer son dénominateur" in p for p in problems
    ), problems
    assert any("« inconnu@example.org » n'est le contact d'aucun partenaire" in p for p in problems)
    assert database_digest(demo_db) == before
