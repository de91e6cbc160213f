"""The mid-term review report (`suivi report mi-parcours`): original vs revised target of
every indicator, with the decision and avenant, and the revisions per partner and priority;
archived like the other reports (PDF/A-3a, hash, CSV attached), from the CLI and the API."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import subprocess

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from suivi.app import create_app
from suivi.formatting import format_number
from suivi.indicators.models import Indicator
from suivi.reports.models import ReportFile
from tests.support.api_clients import ROLES
from tests.support.api_clients import login
from tests.support.cli import run_cli
from tests.support.databases import DEMO_AS_OF
from tests.support.governance import avenant_revisions
from tests.support.reports import pdftotext
from tests.support.web_clients import AS_OF
from tests.support.web_clients import login as web_login


def _flat(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def test_cli_report_compares_original_and_revised_targets(demo_db, monkeypatch):
    revisions = avenant_revisions(demo_db)
    assert len(revisions) == 2
    assert all(r["original"] != r["revised"] for r in revisions)
    monkeypatch.setenv("SUIVI_REPORTS_DIR", str(demo_db.settings.reports.dir))
    monkeypatch.setenv("SUIVI_REPORTS_TEMPLATES_DIR", str(demo_db.settings.reports.templates_dir))
    (demo_db.work_dir / "none.toml").write_text("", encoding="utf-8")
    out = demo_db.work_dir / "mi-parcours.pdf"
    result = run_cli(
        monkeypatch,
        demo_db,
        "report",
        "mi-parcours",
        "--as-of",
        DEMO_AS_OF.isoformat(),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "Rapport mi_parcours" in result.output

    # Archived once, with the hash of its bytes.
    with demo_db.session(write=False) as session:
        (row,) = session.execute(
            select(ReportFile).where(ReportFile.kind == "mi_parcours")
        ).scalars()
    pdf = out.read_bytes()
    assert row.sha256 == hashlib.sha256(pdf).hexdigest()
    assert row.as_of == DEMO_AS_OF

    # PDF/A-3a, its table attached as CSV.
    reader = PdfReader(out)
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r'pdfaid:part(="|>)3', xmp) and re.search(r'pdfaid:conformance(="|>)A', xmp)
    (name,) = reader.attachments
    assert name == f"chiffres-mi_parcours-{DEMO_AS_OF.isoformat()}.csv"
    table = list(csv.DictReader(io.StringIO(reader.attachments[name][0].decode("utf-8-sig"))))
    revised = {line["indicateur"]: line for line in table if line["revisee"] == "oui"}
    assert set(revised) == {r["code"] for r in revisions}
    for r in revisions:
        line = revised[r["code"]]
        assert float(line["cible_initiale"]) == r["original"]
        assert float(line["cible_revisee"]) == r["revised"]
        assert line["sens_revision"] == ("hausse" if r["revised"] > r["original"] else "baisse")
        assert line["decision"].startswith(f"décision n\u00a0{r['number']} du ")
        assert line["avenant"].startswith("Avenant n° 1")
    with demo_db.session(write=False) as session:
        assert len(table) == len(session.execute(select(Indicator.id)).all())

    # The text read back: each revised indicator with both targets, its decision and avenant.
    text = _flat(pdftotext(out))
    assert "Revue à mi-parcours : cibles initiales et cibles révisées" in text
    assert "dont 2 à la cible révisée" in text
    section = text[text.index("Cibles révisées", text.index("Avenants")) :]
    section = section[: section.index("Révisions par partenaire pilote")]
    for r in revisions:
        start = section.index(r["code"])
        line = section[start : start + 400]
        assert _flat(format_number(r["original"])) in line
        assert _flat(format_number(r["revised"])) in line
        assert f"décision n {r['number']} du" in line
        assert "Avenant n° 1" in line
    tallies = text[text.index("Révisions par partenaire pilote") :]
    assert "Révisions par priorité" in tallies

    # A page as a PNG, for a look (and proof it renders).
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(out), str(out.with_suffix(""))],
        check=True,
    )
    assert list(demo_db.work_dir.glob("mi-parcours*.png"))


def test_api_generates_the_midterm_report_and_the_committee_may_not(demo_db):
    client = TestClient(create_app(demo_db.settings))
    headers = {r: {"Authorization": f"Bearer {login(client, e)}"} for r, e in ROLES.items()}
    body = {"kind": "mi_parcours", "scope": "ignored", "as_of": DEMO_AS_OF.isoformat()}
    made = client.post("/api/reports", json=body, headers=headers["chef_de_projet"])
    assert made.status_code == 201, made.text
    assert made.json()["kind"] == "mi_parcours" and made.json()["scope"] == ""
    assert client.post("/api/reports", json=body, headers=headers["copil"]).status_code == 403
    assert client.post("/api/reports", json=body, headers=headers["partenaire"]).status_code == 403
    listed = client.get(
        "/api/reports", params={"kind": "mi_parcours"}, headers=headers["copil"]
    ).json()
    assert [item["id"] for item in listed["items"]] == [made.json()["id"]]
    pdf = client.get(made.json()["download_url"], headers=headers["copil"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_reports_page_generates_the_midterm_report(demo_db):
    chef = web_login(create_app(demo_db.settings), "chef_de_projet")
    form = chef.get(f"/rapports?as_of={AS_OF}").text
    assert 'value="mi_parcours"' in form and "Revue à mi-parcours" in form
    made = chef.post(f"/rapports?as_of={AS_OF}", {"type": "mi_parcours"}, htmx=False)
    assert made.status_code == 303, made.text
    with demo_db.session(write=False) as session:
        (row,) = session.execute(
            select(ReportFile).where(ReportFile.kind == "mi_parcours")
        ).scalars()
    listed = chef.get(f"/rapports?as_of={AS_OF}&type=mi_parcours").text
    assert f"/rapports/{row.id}/telecharger" in listed
    assert "Tout le contrat" in listed
