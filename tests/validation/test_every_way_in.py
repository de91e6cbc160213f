"""One input domain, whatever the way in: the API, the update form, the spreadsheet import
(API upload, page, CLI) refuse the same payloads, with a French message, and write nothing.

Payloads: a `javascript:` evidence link (stored XSS: the link is shown to every reader), a
text with an ESC control character (a spreadsheet export cannot hold it), a number beyond
1e12 (sums overflow), a date after today (the page's `as_of` must not open the door)."""

from __future__ import annotations

import io
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import func
from sqlalchemy import select
from typer.testing import CliRunner

from suivi.cli import app as cli_app
from suivi.clock import frozen_at
from suivi.db import dispose_engines
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.validation import InputError
from suivi.validation import clean_number
from suivi.validation import clean_text
from suivi.validation import clean_url
from tests.support.databases import DEMO_AS_OF

# The demo's day, mid-afternoon in Paris: "today" for every write in these tests.
NOW = datetime.combine(DEMO_AS_OF, datetime.min.time().replace(hour=15), ZoneInfo("Europe/Paris"))
DAY = DEMO_AS_OF - timedelta(days=1)

BAD_URLS = [
    "javascript:alert(document.cookie)",
    " JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "https://user:secret@example.org/doc.pdf",
    "http:///no-host",
    "ftp://example.org/file",
    "https://exa mple.org/",
]
# (field, value, what the French message says)
PAYLOADS = [
    ("evidence_url", "javascript:alert(document.cookie)", "http:// ou https://"),
    ("comment", "valeur \x1b[31m rouge", "caractère de contrôle"),
    ("value", 1e13, "1e12"),
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_clean_url_refuses_what_is_not_a_plain_web_link(url):
    with pytest.raises(InputError):
        clean_url(url)


def test_clean_url_text_and_number_accept_the_ordinary():
    assert clean_url("  https://www.example.org/rapport.pdf?page=2#x ") == (
        "https://www.example.org/rapport.pdf?page=2#x"
    )
    assert clean_url("") == ""
    assert clean_text("ligne 1\r\nligne 2\tfin", 100) == "ligne 1\nligne 2\tfin"
    assert clean_number("12.5") == 12.5 and clean_number(-1e12) == -1e12
    for bad in (float("nan"), float("inf"), 1e12 * 1.0000001, True):
        with pytest.raises(InputError):
            clean_number(bad)
    with pytest.raises(InputError):
        clean_text("x" * 11, 10)
    with pytest.raises(InputError):
        clean_text("nul\x00", 10)


def _measurements(db) -> int:
    with db.session(write=False) as session:
        return session.scalar(select(func.count()).select_from(Measurement))


def _body(field, value) -> dict:
    body = {"measured_on": DAY.isoformat(), "value": 12.0, "comment": "", "evidence_url": ""}
    body[field] = value
    return body


@pytest.mark.parametrize(("field", "value", "said"), PAYLOADS)
def test_api_refuses_with_422_and_a_french_message(api, field, value, said):
    indicator = api.ids["in"]["indicator_id"]
    measurement = api.ids["in"]["measurement_id"]
    before = _measurements(api.db)
    with frozen_at(NOW):
        created = api.post(
            "chef_de_projet",
            f"/api/indicators/{indicator}/measurements",
            json=_body(field, value),
        )
        correction = {"value": 3.0, "reason": "erreur", field: value}
        corrected = api.post(
            "chef_de_projet",
            f"/api/indicators/{indicator}/measurements/{measurement}/correction",
            json=correction,
        )
    for response in (created, corrected):
        assert response.status_code == 422, response.text
        assert said in response.json()["detail"]
    assert _measurements(api.db) == before


def test_api_refuses_a_measurement_dated_after_today(api):
    indicator = api.ids["in"]["indicator_id"]
    with frozen_at(NOW):
        response = api.post(
            "chef_de_projet",
            f"/api/indicators/{indicator}/measurements?as_of=2030-01-01",
            json=_body("measured_on", (DEMO_AS_OF + timedelta(days=1)).isoformat()),
        )
        today = api.post(
            "chef_de_projet",
            f"/api/indicators/{indicator}/measurements",
            json=_body("measured_on", DEMO_AS_OF.isoformat()),
        )
    assert response.status_code == 422
    assert "postérieure à aujourd'hui" in response.json()["detail"]
    assert today.status_code in (201, 409), today.text  # today itself is fine


def _form(field, value) -> dict:
    form = {"value": "12", "measured_on": DAY.isoformat(), "comment": "", "evidence_url": ""}
    form["reason"] = "vérification"
    form[field] = str(value) if field != "value" else "10000000000000"
    return form


@pytest.mark.parametrize(("field", "value", "said"), PAYLOADS)
def test_form_refuses_with_the_same_message(web, field, value, said):
    indicator = web.ids["in_indicator"]
    before = _measurements(web.db)
    with frozen_at(NOW):
        response = web["chef_de_projet"].post(
            f"/indicateurs/{indicator}/mesures", _form(field, value)
        )
    assert response.status_code == 422
    assert said in response.text or (field == "value" and "1e12" in response.text)
    assert _measurements(web.db) == before


def test_form_date_check_uses_the_real_today_not_as_of(web):
    indicator = web.ids["in_indicator"]
    tomorrow = DEMO_AS_OF + timedelta(days=1)
    with frozen_at(NOW):
        response = web["chef_de_projet"].post(
            f"/indicateurs/{indicator}/mesures?as_of=2030-01-01",
            _form("measured_on", tomorrow.isoformat()),
        )
    assert response.status_code == 422
    assert "postérieure à aujourd" in response.text


def _workbook(indicator_code: str, field: str, value) -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Mesures"
    sheet.append(["Code indicateur", "Date", "Valeur", "Commentaire", "Lien justificatif"])
    row = {"value": 12.0, "comment": "", "evidence_url": ""}
    row[field] = value
    sheet.append([indicator_code, DAY, row["value"], row["comment"], row["evidence_url"]])
    return workbook


def _indicator_code(db, indicator_id: int) -> str:
    with db.session(write=False) as session:
        return session.get(Indicator, indicator_id).code


@pytest.mark.parametrize(("field", "value", "said"), PAYLOADS)
def test_import_refuses_the_row_by_api_page_and_cli(api, tmp_path, monkeypatch, field, value, said):
    code = _indicator_code(api.db, api.ids["in"]["indicator_id"])
    if field == "comment":  # openpyxl cannot even write it: a CSV file holds it
        path = tmp_path / "mesures.csv"
        path.write_text(
            "Code indicateur;Date;Valeur;Commentaire;Lien justificatif\n"
            f"{code};{DAY.isoformat()};12;{value};\n",
            encoding="utf-8",
        )
    else:
        path = tmp_path / "mesures.xlsx"
        _workbook(code, field, value).save(path)
    before = _measurements(api.db)
    with frozen_at(NOW):
        content = path.read_bytes()
        media = "text/csv" if path.suffix == ".csv" else "application/octet-stream"
        uploaded = api.post(
            "chef_de_projet",
            "/api/io/import",
            files={"file": (path.name, io.BytesIO(content), media)},
        )
    assert uploaded.status_code == 422, uploaded.text
    problems = " ".join(f"{e['field']} : {e['message']}" for e in uploaded.json()["errors"])
    assert "Mesures, ligne 2" in problems and said in problems

    config = tmp_path / "config.toml"
    config.write_text("[app]\nmode = 'dev'\n", encoding="utf-8")
    monkeypatch.setenv("SUIVI_DATABASE_URL", api.db.url)
    try:
        result = CliRunner().invoke(cli_app, ["--config", str(config), "import", str(path)])
    finally:
        dispose_engines()
    assert result.exit_code == 1
    assert "Mesures, ligne 2" in result.output and said in result.output
    assert _measurements(api.db) == before


def test_page_ids_and_as_of_out_of_range_are_refused_not_500(web):
    chef = web["chef_de_projet"]
    for url in (
        "/engagements/99999999999999999999",
        "/indicateurs/99999999999999999999",
        "/partenaires/99999999999999999999",
        "/orientations/99999999999999999999",
        "/rapports/99999999999999999999/telecharger",
        "/contrat?as_of=9999-12-31",
    ):
        response = chef.get(url)
        assert response.status_code in (404, 422), (url, response.status_code)
    report = chef.post("/rapports?as_of=9999-12-31", {"type": "copil"}, htmx=False)
    assert report.status_code == 422


def test_import_refuses_a_measurement_dated_after_today_by_api_and_cli(api, tmp_path, monkeypatch):
    code = _indicator_code(api.db, api.ids["in"]["indicator_id"])
    tomorrow = DEMO_AS_OF + timedelta(days=1)
    workbook = _workbook(code, "value", 12.0)
    workbook.active.cell(row=2, column=2, value=tomorrow)
    path = tmp_path / "mesures.xlsx"
    workbook.save(path)
    before = _measurements(api.db)
    config = tmp_path / "config.toml"
    config.write_text("[app]\nmode = 'dev'\n", encoding="utf-8")
    monkeypatch.setenv("SUIVI_DATABASE_URL", api.db.url)
    with frozen_at(NOW):
        uploaded = api.post(
            "chef_de_projet",
            "/api/io/import",
            files={"file": (path.name, io.BytesIO(path.read_bytes()), "application/octet-stream")},
        )
        try:
            result = CliRunner().invoke(cli_app, ["--config", str(config), "import", str(path)])
        finally:
            dispose_engines()
    assert uploaded.status_code == 422, uploaded.text
    problems = " ".join(f"{e['field']} : {e['message']}" for e in uploaded.json()["errors"])
    assert "Mesures, ligne 2" in problems and "postérieure à aujourd'hui" in problems
    assert result.exit_code == 1
    assert "Mesures, ligne 2" in result.output and "postérieure à aujourd'hui" in result.output
    assert _measurements(api.db) == before
