"""The « Décisions » and « Financements » sheets are imported through the governance and
finance services (the API's and the pages' rules), all or nothing, with every refusal named
by its sheet, row and column."""

from __future__ import annotations

from datetime import datetime

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import func
from sqlalchemy import select

from suivi.audit.models import AuditEvent
from suivi.contract.models import Meeting
from suivi.finance.models import FundingPayment
from suivi.governance.models import Decision
from suivi.governance.models import DecisionLink
from suivi.governance.models import DecisionUpdate
from suivi.indicators.models import TargetRevision
from suivi.io.workbook import parse_payments
from suivi.validation import siret_valid
from tests.support.io import database_digest
from tests.support.io import export_to
from tests.support.io import header_index
from tests.support.io import import_from

BAD_SIRET = "12345678901234"


def _rows(sheet):
    headers = [cell.value for cell in sheet[1]]
    for number in range(2, sheet.max_row + 1):
        yield number, dict(zip(headers, (c.value for c in sheet[number]), strict=False))


def _set(sheet, number: int, header: str, value) -> None:
    sheet.cell(number, header_index(sheet, header)).value = value


def _paid(values) -> float:
    return sum(float(amount) for _, amount, _ in parse_payments(values["Versements"] or ""))


def test_import_refuses_a_payment_above_the_vote_without_a_reason_and_a_bad_siret(
    demo_db, tmp_path
):
    """Issue #20: « Import refuses a payment above the vote without a reason, and a bad
    SIRET, with the row numbers, and writes nothing »."""
    assert not siret_valid(BAD_SIRET)
    path = export_to(demo_db, tmp_path / "demo.xlsx")
    workbook = load_workbook(path)
    sheet = workbook["Financements"]
    rows = list(_rows(sheet))
    overrun, values = next(
        (n, v)
        for n, v in rows
        if v["Montant voté (€)"] and v["Versements"] and not v["Motif du dépassement"]
    )
    vote_day = values["Date du vote"].strftime("%d/%m/%Y")
    extra = f"{vote_day}={values['Montant voté (€)']:.2f} (Complément)"
    _set(sheet, overrun, "Versements", f"{values['Versements']}; {extra}")
    bad_siret = next(n for n, v in rows if n != overrun)
    _set(sheet, bad_siret, "SIRET", BAD_SIRET)
    workbook.save(path)
    before = database_digest(demo_db)

    report = import_from(demo_db, path)

    assert not report.ok
    problems = [str(p) for p in report.problems]
    assert any(
        p.startswith(f"Financements, ligne {overrun}, colonne Motif du dépassement : ")
        and "dépasse le montant voté" in p
        for p in problems
    ), problems
    assert any(
        p.startswith(f"Financements, ligne {bad_siret}, colonne SIRET : ")
        and f"« {BAD_SIRET} » est invalide" in p
        for p in problems
    ), problems
    assert len(problems) == 2, problems
    assert database_digest(demo_db) == before


def test_a_new_payment_and_a_vote_are_recorded_by_the_finance_service(demo_db, tmp_path):
    path = export_to(demo_db, tmp_path / "demo.xlsx")
    workbook = load_workbook(path)
    sheet = workbook["Financements"]
    number, values = next(
        (n, v)
        for n, v in _rows(sheet)
        if v["Montant voté (€)"] and v["Versements"] and _paid(v) < v["Montant voté (€)"] - 1
    )
    vote_day = values["Date du vote"].strftime("%d/%m/%Y")
    _set(sheet, number, "Versements", f"{values['Versements']}; {vote_day}=1.00 (Reliquat)")
    _set(sheet, number, "Référence de la décision", "DEL-IMPORT-1")
    workbook.save(path)
    with demo_db.session(write=False) as session:
        payments = session.scalar(select(func.count()).select_from(FundingPayment))

    report = import_from(demo_db, path)

    assert report.ok, [str(p) for p in report.problems]
    assert report.updated["Financements"] == 1 and report.changes == 1
    with demo_db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(FundingPayment)) == payments + 1
        assert session.scalar(select(FundingPayment).where(FundingPayment.reference == "Reliquat"))
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity == "funding_line", AuditEvent.actor_label == "import"
            )
        ).all()
        # The service's audit: one update of the line, one for its payment.
        assert len(events) == 2
        assert events[0].after["vote_reference"] == "DEL-IMPORT-1"
        assert "Reliquat" in [p["reference"] for p in events[1].after["payments"]]
        assert "Reliquat" not in [p["reference"] for p in events[1].before["payments"]]

    # Taking a recorded payment out of the file is refused (payments are never deleted).
    workbook = load_workbook(path)
    sheet = workbook["Financements"]
    _set(sheet, number, "Versements", values["Versements"])
    workbook.save(path)
    report = import_from(demo_db, path)
    assert [str(p) for p in report.problems] == [
        f"Financements, ligne {number}, colonne Versements : le versement du {vote_day} "
        "(1.00 €) est enregistré : un versement ne se retire pas par import"
    ]


def _decision_rows(sheet):
    return [(n, v) for n, v in _rows(sheet) if v["Instance"]]


def _append_decision(sheet, rows, columns: dict) -> int:
    """Write a new decision (n° 1, an action) below the last of `rows`; return its row."""
    new = rows[-1][0] + 1
    for header, value in {"N°": 1, "Type": "Action", **columns}.items():
        _set(sheet, new, header, value)
    return new


def test_decisions_are_refused_by_the_governance_rules_and_nothing_is_written(demo_db, tmp_path):
    path = export_to(demo_db, tmp_path / "demo.xlsx")
    with demo_db.session() as session:  # the relevé of the autumn 2025 COPIL is sent
        meeting = session.scalars(
            select(Meeting).where(Meeting.held_on == datetime(2025, 11, 25).date())
        ).one()
        meeting.status = "releve_diffuse"
    workbook = load_workbook(path)
    sheet = workbook["Décisions"]
    rows = _decision_rows(sheet)
    assert len(rows) == 12
    (early, _), (edited, _) = rows[0], rows[1]
    not_yet_held = {
        "Instance": "Comité de pilotage",
        "Date de l'instance": datetime(2026, 12, 8),
        "Décision": "Décision d'un comité pas encore tenu.",
        "Statut": "Ouverte",
    }
    new = _append_decision(sheet, rows, not_yet_held)
    _set(sheet, early, "Échéance", datetime(2025, 1, 31))
    _set(sheet, edited, "Décision", "Un autre texte que celui du relevé.")
    workbook.save(path)
    before = database_digest(demo_db)

    report = import_from(demo_db, path)

    problems = [str(p) for p in report.problems]
    assert len(problems) == 3, problems
    assert problems[0].startswith(f"Décisions, ligne {early}, colonne Échéance : l'échéance")
    assert "ne peut pas précéder la réunion" in problems[0]
    assert problems[1].startswith(f"Décisions, ligne {edited}, colonne Décision : ")
    assert "relevé de décisions est diffusé" in problems[1]
    assert problems[2].startswith(f"Décisions, ligne {new}, colonne Date de l'instance : ")
    assert "n'est pas encore tenu" in problems[2]
    assert database_digest(demo_db) == before


def test_a_decision_is_followed_up_and_recorded_through_the_governance_service(demo_db, tmp_path):
    path = export_to(demo_db, tmp_path / "demo.xlsx")
    workbook = load_workbook(path)
    sheet = workbook["Décisions"]
    rows = _decision_rows(sheet)
    number, values = next((n, v) for n, v in rows if v["Statut"] == "Ouverte")
    _set(sheet, number, "Statut", "Réalisée")
    follow_up = {
        "Instance": "Comité technique",
        "Date de l'instance": datetime(2026, 5, 20),
        "Décision": "Relancer l'appel à projets « Quartiers d'été ».",
        "Statut": "En cours",
        "Responsable (code partenaire)": values["Responsable (code partenaire)"],
        "Échéance": datetime(2026, 9, 30),
        "Engagements (codes)": "ENG-001; ENG-002",
    }
    _append_decision(sheet, rows, follow_up)
    workbook.save(path)

    report = import_from(demo_db, path)

    assert report.ok, [str(p) for p in report.problems]
    assert report.updated["Décisions"] == 1 and report.created["Décisions"] == 1
    with demo_db.session(write=False) as session:
        done = session.scalars(select(Decision).where(Decision.text == values["Décision"])).one()
        assert done.status == "realisee"
        step = session.scalars(
            select(DecisionUpdate).where(DecisionUpdate.decision_id == done.id)
        ).all()[-1]
        assert (step.old_status, step.new_status, step.author_label) == (
            "ouverte",
            "realisee",
            "import",
        )
        created = session.scalars(
            select(Decision).where(Decision.text.startswith("Relancer"))
        ).one()
        assert (created.number, created.status, created.due_on.isoformat()) == (
            1,
            "en_cours",
            "2026-09-30",
        )
        links = session.scalars(
            select(DecisionLink.target_kind).where(DecisionLink.decision_id == created.id)
        ).all()
        assert links == ["commitment", "commitment"]
        audited = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.entity == "decision", AuditEvent.actor_label == "import"
            )
        ).all()
        assert sorted(audited) == ["create", "update", "update"]
    # The next export carries both, and a re-import changes nothing.
    again = import_from(demo_db, export_to(demo_db, tmp_path / "again.xlsx"))
    assert again.ok and again.changes == 0 and again.unchanged["Décisions"] == 13


def _revise_first_target(path, **cells) -> float:
    workbook = load_workbook(path)
    sheet = workbook["Cibles"]
    new_value = sheet.cell(2, 3).value + 7
    sheet.cell(2, 3).value = new_value
    for header, value in cells.items():
        _set(sheet, 2, header, value)
    workbook.save(path)
    return new_value


def _decision_reference(session, kind: str) -> str:
    decision, held_on = session.execute(
        select(Decision, Meeting.held_on)
        .join(Meeting, Meeting.id == Decision.meeting_id)
        .where(Decision.kind == kind)
        .order_by(Decision.number)
    ).first()
    return f"{held_on.strftime('%d/%m/%Y')} n° {decision.number}"


def test_a_target_revised_by_avenant_needs_its_committee_decision_as_in_the_api(demo_db, tmp_path):
    """`[governance] revision_requires_decision`: the import revises targets through the
    indicators service's `revise_target`, with the API's requirement."""
    path = export_to(demo_db, tmp_path / "demo.xlsx")
    _revise_first_target(path, **{"Type de révision": "Avenant"})
    before = database_digest(demo_db)

    report = import_from(demo_db, path)
    assert [str(p) for p in report.problems] == [
        "Cibles, ligne 2, colonne Décision de révision (date n° numéro) : une révision de "
        "cible par avenant ou revue à mi-parcours doit s'appuyer sur une décision de comité "
        "de type « révision de cible » : indiquez-la"
    ]
    assert database_digest(demo_db) == before

    with demo_db.session(write=False) as session:
        action = _decision_reference(session, "action")
        revision = _decision_reference(session, "revision_cible")
    path = export_to(demo_db, tmp_path / "again.xlsx")
    _revise_first_target(
        path,
        **{"Type de révision": "Avenant", "Décision de révision (date n° numéro)": action},
    )
    report = import_from(demo_db, path)
    assert len(report.problems) == 1
    assert "n'est pas une révision de cible" in str(report.problems[0])
    assert database_digest(demo_db) == before

    path = export_to(demo_db, tmp_path / "third.xlsx")
    value = _revise_first_target(
        path,
        **{
            "Type de révision": "Avenant",
            "Décision de révision (date n° numéro)": revision,
            "Référence d'avenant": "Avenant n° 1",
            "Motif de révision": "Cible revue en COPIL",
        },
    )
    report = import_from(demo_db, path)
    assert report.ok, [str(p) for p in report.problems]
    assert report.updated["Cibles"] == 1 and report.changes == 1
    with demo_db.session(write=False) as session:
        latest = session.scalars(
            select(TargetRevision).order_by(TargetRevision.id.desc()).limit(1)
        ).one()
        decision = session.get(Decision, latest.decision_id)
        assert (latest.new_value, latest.kind, latest.avenant_reference, latest.reason) == (
            value,
            "avenant",
            "Avenant n° 1",
            "Cible revue en COPIL",
        )
        assert decision.kind == "revision_cible"


def test_without_the_requirement_an_avenant_revision_is_accepted(demo_db, tmp_path):
    path = export_to(demo_db, tmp_path / "demo.xlsx")
    _revise_first_target(path, **{"Type de révision": "Avenant"})
    report = import_from(demo_db, path, revision_requires_decision=False)
    assert report.ok, [str(p) for p in report.problems]
    with demo_db.session(write=False) as session:
        latest = session.scalars(
            select(TargetRevision).order_by(TargetRevision.id.desc()).limit(1)
        ).one()
        assert (latest.kind, latest.decision_id) == ("avenant", None)


def test_the_template_offers_the_decision_and_revision_lists(demo_db, tmp_path):
    workbook = load_workbook(export_to(demo_db, tmp_path / "modele.xlsx", template=True))
    assert workbook["Décisions"].max_row == 1 and workbook["Financements"].max_row == 1
    listes = {cell.value for column in workbook["Listes"].iter_cols() for cell in column}
    assert {"Comité technique", "Révision de cible", "Abandonnée", "Avenant"} <= listes
    decisions = workbook["Décisions"]
    validated = {str(v.sqref).split(":")[0][:-1] for v in decisions.data_validations.dataValidation}
    instance, kind, status, owner = (
        header_index(decisions, h)
        for h in ("Instance", "Type", "Statut", "Responsable (code partenaire)")
    )
    assert {get_column_letter(i) for i in (instance, kind, status, owner)} <= validated
