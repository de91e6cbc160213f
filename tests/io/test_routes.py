"""The API: export download, template, import upload (dry run, refusal, scopes), open data."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.support.io import database_digest
from tests.support.io import header_index

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(client, headers, url="/api/io/export"):
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return load_workbook(io.BytesIO(response.content))


def _upload(client, headers, workbook, **params):
    buffer = io.BytesIO()
    workbook.save(buffer)
    files = {"file": ("portefeuille.xlsx", buffer.getvalue(), XLSX)}
    return client.post("/api/io/import", headers=headers, files=files, params=params)


def test_export_download_and_template(api):
    client, headers = api
    response = client.get("/api/io/export", headers=headers["admin"])
    assert response.headers["content-type"] == XLSX
    assert "attachment" in response.headers["content-disposition"]
    workbook = _download(client, headers["copil"])
    assert workbook["Engagements"].max_row == 161
    response = client.get("/api/io/export", params={"format": "csv"}, headers=headers["admin"])
    assert response.status_code == 200 and response.content.startswith(b"PK")
    template = _download(client, headers["chef_de_projet"], "/api/io/template")
    assert template["Engagements"].max_row == 1
    assert client.get("/api/io/export").status_code == 401


def test_partner_exports_only_its_commitments(api):
    client, headers = api
    workbook = _download(client, headers["partenaire"])
    partners = [row[0] for row in workbook["Partenaires"].iter_rows(min_row=2, values_only=True)]
    assert partners == ["france-travail"]
    commitments = workbook["Engagements"].max_row - 1
    assert 0 < commitments < 160


def test_import_refused_with_rows_named_and_nothing_written(api, demo_db):
    client, headers = api
    workbook = _download(client, headers["admin"])
    workbook["Mesures"]["C12"] = "abc"
    workbook["Engagements"]["B2"] = "Titre modifié"
    before = database_digest(demo_db)
    response = _upload(client, headers["admin"], workbook)
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == [
        {"field": "Mesures, ligne 12, colonne Valeur", "message": "« abc » n'est pas un nombre"}
    ]
    assert "rien n'a été enregistré" in body["detail"]
    # Counts and content, except the login tokens' last use.
    assert database_digest(demo_db)[0] == before[0]


def test_import_dry_run_then_for_real(api, demo_db):
    client, headers = api
    workbook = _download(client, headers["admin"])
    workbook["Engagements"]["B2"] = "Titre modifié"
    response = _upload(client, headers["admin"], workbook, dry_run="true")
    assert response.status_code == 200, response.text
    assert response.json()["dry_run"] is True and response.json()["updated"] == {"Engagements": 1}
    assert "Titre modifié" not in _download(client, headers["admin"])["Engagements"]["B2"].value
    response = _upload(client, headers["admin"], workbook)
    assert response.status_code == 200 and response.json()["updated"] == {"Engagements": 1}
    assert _download(client, headers["admin"])["Engagements"]["B2"].value == "Titre modifié"


def test_partner_may_correct_its_measurements_but_not_change_commitments(api):
    client, headers = api
    workbook = _download(client, headers["partenaire"])
    measurements = workbook["Mesures"]
    measurements["C2"] = measurements["C2"].value + 1
    response = _upload(client, headers["partenaire"], workbook)
    assert response.status_code == 200, response.text
    assert response.json()["updated"] == {"Mesures": 1}

    commitments = workbook["Engagements"]
    commitments.cell(2, header_index(commitments, "Intitulé")).value = "Détourné"
    response = _upload(client, headers["partenaire"], workbook)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Engagements, ligne 2"
    assert "modification refusée" in response.json()["errors"][0]["message"]
    fresh = _download(client, headers["partenaire"])["Engagements"]
    assert fresh.cell(2, header_index(fresh, "Intitulé")).value != "Détourné"


def test_copil_cannot_import(api):
    client, headers = api
    workbook = _download(client, headers["copil"])
    assert _upload(client, headers["copil"], workbook).status_code == 403


def test_open_data_download(api):
    client, headers = api
    response = client.get(
        "/api/io/opendata", params={"as_of": "2026-11-15"}, headers=headers["copil"]
    )
    assert response.status_code == 200
    assert response.text.splitlines()[0].startswith("code_contrat,donnees_fictives,")
    schema = client.get("/api/io/opendata/schema", headers=headers["admin"]).json()
    assert schema["fields"][0]["name"] == "code_contrat"
    assert client.get("/api/io/opendata", headers=headers["partenaire"]).status_code == 403
