"""The import page: roles, CSRF, every problem listed with nothing written, the dry run, a
real import with its confirmation after the redirect, the size limit, links to the export."""

from __future__ import annotations

import io
import re
from datetime import date
from datetime import timedelta

from openpyxl import Workbook
from sqlalchemy import func
from sqlalchemy import select

from suivi.audit.models import AuditEvent
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from tests.support.indicators import measurements
from tests.support.web_clients import AS_OF

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _workbook(rows: list[list]) -> bytes:
    """A « Mesures » sheet only, in the export's format."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Mesures"
    sheet.append(["Code indicateur", "Date", "Valeur", "Commentaire"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _free_day(db, indicator_id: int) -> tuple[str, date]:
    """The indicator's code and a day before the demo's date with no reading yet."""
    with db.session(write=False) as session:
        indicator = session.get(Indicator, indicator_id)
        code = indicator.code
    taken = {m.measured_on for m in measurements(db, indicator_id)}
    day = date.fromisoformat(AS_OF) - timedelta(days=1)
    while day in taken:
        day -= timedelta(days=1)
    return code, day


def _counts(db) -> tuple[int, int]:
    with db.session(write=False) as session:
        return (
            session.scalar(select(func.count()).select_from(Measurement)),
            session.scalar(select(func.count()).select_from(AuditEvent)),
        )


def _upload(client, content: bytes, *, name="mesures.xlsx", dry_run=False, **kw):
    data = {"essai": "1"} if dry_run else {}
    return client.post(
        f"/import?as_of={AS_OF}",
        data,
        htmx=False,
        files={"fichier": (name, content, XLSX)},
        **kw,
    )


def test_import_page_is_for_editors_only(web):
    assert web.anonymous().get("/import", follow_redirects=False).status_code == 303
    copil = web["copil"]
    assert copil.get(f"/import?as_of={AS_OF}").status_code == 403
    assert _upload(copil, _workbook([])).status_code == 403
    assert 'href="/import' not in copil.get(f"/contrat?as_of={AS_OF}").text
    for role in ("admin", "chef_de_projet", "partenaire"):
        assert 'href="/import?as_of=' in web[role].get(f"/contrat?as_of={AS_OF}").text
        response = web[role].get(f"/import?as_of={AS_OF}")
        assert response.status_code == 200, role
        html = response.text
        assert 'enctype="multipart/form-data"' in html
        assert re.search(r'<label for="essai">Vérifier seulement \(essai à blanc\)</label>', html)
        assert 'name="csrf_token"' in html
        assert "/api/io/export?format=xlsx&amp;contract_id=1" in html
        assert "/api/io/template?contract_id=1" in html


def test_every_problem_is_listed_and_nothing_is_written(web):
    code, day = _free_day(web.db, web.ids["in_indicator"])
    content = _workbook(
        [
            [code, day, 12.5, "bonne ligne"],  # valid, yet not written because of the others
            [code, day - timedelta(days=1), "abc", ""],
            ["INCONNU-99", day, 3, ""],
        ]
    )
    client = web["admin"]
    before = _counts(web.db)
    response = _upload(client, content)
    assert response.status_code == 422
    html = response.text
    assert "Import refusé : 2 problèmes, rien n'a été enregistré" in html
    rows = re.findall(
        r'<tr><th scope="row">(\w+)</th><td class="num">(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>',
        html,
    )
    assert rows == [
        ("Mesures", "3", "Valeur", "« abc » n&#39;est pas un nombre"),
        ("Mesures", "4", "Code indicateur", "indicateur « INCONNU-99 » inconnu"),
    ]
    assert _counts(web.db) == before


def test_a_file_that_is_no_workbook_is_a_problem_too(web):
    client = web["chef_de_projet"]
    before = _counts(web.db)
    response = _upload(client, b"bonjour", name="notes.txt")
    assert response.status_code == 422
    assert "ni un classeur .xlsx" in response.text
    assert _counts(web.db) == before


def test_dry_run_shows_what_would_change_and_writes_nothing(web):
    code, day = _free_day(web.db, web.ids["in_indicator"])
    client = web["chef_de_projet"]
    before = _counts(web.db)
    response = _upload(client, _workbook([[code, day, 7, ""]]), dry_run=True)
    assert response.status_code == 200
    assert "Vérification réussie" in response.text
    assert "Mesures : 1 créé(s)" in response.text
    assert _counts(web.db) == before


def test_import_redirects_to_its_confirmation_and_is_saved(web):
    code, day = _free_day(web.db, web.ids["in_indicator"])
    client = web["partenaire"]
    response = _upload(client, _workbook([[code, day, 7, "par import"]]))
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.match(r"/import\?importe=\d+&as_of=", location)
    confirmation = client.get(location)
    assert "Import enregistré." in confirmation.text
    assert "Mesures : 1 créé(s)" in confirmation.text
    saved = [m for m in measurements(web.db, web.ids["in_indicator"]) if m.measured_on == day]
    assert [(m.value, m.comment) for m in saved] == [(7, "par import")]
    # Another user cannot read this confirmation back.
    other = web["admin"].get(location)
    assert "Mesures : 1 créé(s)" not in other.text


def test_partner_cannot_import_outside_its_commitments(web):
    code, day = _free_day(web.db, web.ids["out_indicator"])
    client = web["partenaire"]
    before = _counts(web.db)
    response = _upload(client, _workbook([[code, day, 7, ""]]))
    assert response.status_code == 422
    assert "Import refusé" in response.text
    assert _counts(web.db) == before


def test_upload_without_csrf_or_file_or_too_large_is_refused(web, monkeypatch):
    client = web["chef_de_projet"]
    content = _workbook([])
    assert _upload(client, content, csrf=False).status_code == 403
    response = client.post(f"/import?as_of={AS_OF}", {}, htmx=False)
    assert response.status_code == 422
    assert '<p class="error" id="fichier-err">Choisissez le fichier à importer.</p>' in (
        response.text
    )
    monkeypatch.setattr(web.app.state.settings.io, "max_upload_bytes", 1024 * 1024)
    response = _upload(client, b"PK" + b"0" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert "Fichier trop volumineux (limite : 1 Mo)." in response.text
