"""One write path: the import refuses, corrects and audits exactly as the services behind the
API and the forms do, because it calls them (issue 16).

The three divergences measured before the importer called the services: a SIREN with a bad
control key accepted by the import; an import correction whose reason sat on the new reading
(the page showed an empty « Corrigée : ») ; one audit event per import correction instead of
the service's two. Then the same bad measurement row, through the API, the form and the
import, gets the same refusal, word for word."""

from __future__ import annotations

import html
import re
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from openpyxl import load_workbook
from sqlalchemy import func
from sqlalchemy import select

from suivi.audit.models import AuditEvent
from suivi.clock import frozen_at
from suivi.contract.models import Contract
from suivi.contract.models import Partner
from suivi.contract.service import check_siren
from suivi.errors import Invalid
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from tests.support.databases import DEMO_AS_OF
from tests.support.io import export_to
from tests.support.io import header_index
from tests.support.io import import_from

NOW = datetime.combine(DEMO_AS_OF, datetime.min.time().replace(hour=15), ZoneInfo("Europe/Paris"))
BAD_SIREN = "123456788"  # 9 digits, wrong Luhn key


def _as_problem(detail: str) -> str:
    """How the import report words a service's refusal: « La date… » → « la date… »."""
    detail = detail.rstrip(".")
    return detail[:1].lower() + detail[1:]


def _count(db, model, *where) -> int:
    with db.session(write=False) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_siren_with_a_bad_control_key_is_refused_by_the_import_as_by_the_api(api, tmp_path):
    partner = {"code": "bailleur-x", "name": "Bailleur X", "kind": "bailleur", "siren": BAD_SIREN}
    response = api.post("admin", "/api/partners", json=partner)
    assert response.status_code == 422, response.text
    with pytest.raises(Invalid) as refused:
        check_siren(BAD_SIREN)  # the reference-data service's rule
    detail = refused.value.detail
    assert "clé de contrôle" in detail and detail in response.json()["detail"]

    path = export_to(api.db, tmp_path / "demo.xlsx")
    workbook = load_workbook(path)
    sheet = workbook["Partenaires"]
    code = sheet.cell(2, header_index(sheet, "Code partenaire")).value
    sheet.cell(2, header_index(sheet, "SIREN")).value = BAD_SIREN
    workbook.save(path)

    report = import_from(api.db, path, today=DEMO_AS_OF)

    assert not report.ok
    [problem] = report.problems
    assert (problem.sheet, problem.row, problem.column) == ("Partenaires", 2, "SIREN")
    assert problem.message == f"« {BAD_SIREN} » : {_as_problem(detail)}"
    assert _count(api.db, Partner, Partner.siren == BAD_SIREN) == 0
    assert _count(api.db, Partner, Partner.code == code) == 1


def _correct_first_reading(db, tmp_path, reason: str) -> tuple[str, date]:
    """Export, change the first reading's value with `reason`, import: (indicator code, day)."""
    path = export_to(db, tmp_path / "demo.xlsx")
    workbook = load_workbook(path)
    sheet = workbook["Mesures"]
    code, day, value = (sheet.cell(2, column).value for column in (1, 2, 3))
    sheet.cell(2, 3).value = value + 1000
    sheet.cell(2, header_index(sheet, "Motif de correction")).value = reason
    workbook.save(path)
    report = import_from(db, path, actor_label="import", today=DEMO_AS_OF)
    assert report.ok, [str(p) for p in report.problems]
    assert report.updated["Mesures"] == 1
    return code, day.date()


def _history(db, code: str, day: date) -> tuple[int, list[Measurement]]:
    with db.session(write=False) as session:
        indicator_id = session.scalar(select(Indicator.id).where(Indicator.code == code))
        readings = session.scalars(
            select(Measurement)
            .where(Measurement.indicator_id == indicator_id, Measurement.measured_on == day)
            .order_by(Measurement.id)
        ).all()
        session.expunge_all()
        return indicator_id, list(readings)


def test_an_import_correction_puts_its_reason_on_the_replaced_reading_shown_by_the_page(
    web, tmp_path
):
    code, day = _correct_first_reading(web.db, tmp_path, "Erreur de saisie")

    indicator_id, (old, new) = _history(web.db, code, day)
    # As `correct_measurement` (API, form): the replaced reading carries the reason.
    assert old.superseded_by_id == new.id and old.correction_reason == "Erreur de saisie"
    assert new.superseded_by_id is None and new.correction_reason == ""
    page = web["admin"].get(f"/indicateurs/{indicator_id}?as_of={DEMO_AS_OF.isoformat()}")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", html.unescape(page.text))
    assert "Corrigée : Erreur de saisie" in text


def _events(db, *where) -> list[AuditEvent]:
    with db.session(write=False) as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "measurement", *where)
            .order_by(AuditEvent.id)
        ).all()
        session.expunge_all()
        return list(events)


def _shape(events: list[AuditEvent], old_id: int, new_id: int) -> list[tuple]:
    """What an audit trail says about one correction, whoever made it."""
    return [
        (
            event.action,
            {str(old_id): "old", str(new_id): "new"}[event.entity_id],
            sorted(event.before or {}),
            sorted(event.after or {}),
            (event.after or {}).get("correction_reason"),
        )
        for event in events
    ]


def test_an_import_correction_writes_the_two_audit_events_of_the_service(api, tmp_path):
    code, day = _correct_first_reading(api.db, tmp_path, "Erreur de saisie")
    _, (old, new) = _history(api.db, code, day)
    by_import = _events(api.db, AuditEvent.actor_label == "import")

    indicator = api.ids["in"]["indicator_id"]
    measurement = api.ids["in"]["measurement_id"]
    with frozen_at(NOW):
        response = api.post(
            "chef_de_projet",
            f"/api/indicators/{indicator}/measurements/{measurement}/correction",
            json={"value": 3.0, "reason": "Erreur de saisie"},
        )
    assert response.status_code == 201, response.text
    by_api = _events(api.db, AuditEvent.actor_id == api.user_ids["chef_de_projet"])

    assert len(by_import) == 2
    assert _shape(by_import, old.id, new.id) == _shape(by_api, measurement, response.json()["id"])
    assert _shape(by_import, old.id, new.id)[0][::4] == ("update", "Erreur de saisie")


def _baseline_of(db, indicator_id: int) -> tuple[str, date, date]:
    with db.session(write=False) as session:
        indicator = session.get(Indicator, indicator_id)
        contract = session.get(Contract, indicator.contract_id)
        return indicator.code, indicator.baseline_date, contract.term_start


def _bad_days(db, indicator_id: int) -> dict[str, date]:
    _, baseline, term_start = _baseline_of(db, indicator_id)
    assert term_start < baseline, "the demo's baselines follow the contract's start"
    return {
        "before the baseline": baseline - timedelta(days=1),
        "before the contract": term_start - timedelta(days=1),
        "after today": DEMO_AS_OF + timedelta(days=1),
    }


@pytest.mark.parametrize("case", ["before the baseline", "before the contract", "after today"])
def test_the_same_bad_row_gets_the_same_refusal_by_api_form_and_import(api, web, tmp_path, case):
    indicator_id = api.ids["in"]["indicator_id"]
    day = _bad_days(api.db, indicator_id)[case]
    code = _baseline_of(api.db, indicator_id)[0]
    before = _count(api.db, Measurement)
    with frozen_at(NOW):
        by_api = api.post(
            "chef_de_projet",
            f"/api/indicators/{indicator_id}/measurements",
            json={"measured_on": day.isoformat(), "value": 12.0},
        )
        by_form = web["chef_de_projet"].post(
            f"/indicateurs/{indicator_id}/mesures",
            {"value": "12", "measured_on": day.isoformat(), "comment": "", "evidence_url": ""},
        )
    assert by_api.status_code == 422, by_api.text
    detail = by_api.json()["detail"]
    assert by_form.status_code == 422
    assert detail in html.unescape(by_form.text)

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Mesures"
    sheet.append(["Code indicateur", "Date", "Valeur"])
    sheet.append([code, day, 12.0])
    path = tmp_path / "mesures.xlsx"
    workbook.save(path)
    report = import_from(api.db, path, today=DEMO_AS_OF)

    assert [str(p) for p in report.problems] == [
        f"Mesures, ligne 2, colonne Date : {_as_problem(detail)}"
    ]
    assert _count(api.db, Measurement) == before
