"""Generating a report from the reports page: archived, downloadable, scoped, CSRF-checked."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from suivi.reports.models import ReportFile
from tests.support.web_clients import AS_OF


def _reports(db) -> list[ReportFile]:
    with db.session(write=False) as session:
        return list(session.execute(select(ReportFile).order_by(ReportFile.id)).scalars())


def test_chef_generates_a_quartier_report_and_downloads_it(web):
    chef = web["chef_de_projet"]
    response = chef.post(
        f"/rapports?as_of={AS_OF}", {"type": "quartier", "quartier": "QN06231M"}, htmx=False
    )
    assert response.status_code == 303
    [report] = _reports(web.db)
    assert (report.kind, report.scope, report.as_of.isoformat()) == ("quartier", "QN06231M", AS_OF)
    assert f"genere={report.id}" in response.headers["location"]
    listing = chef.get(response.headers["location"])
    assert "Rapport généré et archivé" in listing.text and "3 Cités" in listing.text
    pdf = chef.get(f"/rapports/{report.id}/telecharger")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_missing_scope_is_shown_next_to_the_field(web):
    response = web["admin"].post(f"/rapports?as_of={AS_OF}", {"type": "partner"}, htmx=False)
    assert response.status_code == 422
    assert 'id="gen-partenaire-err">Choisissez le partenaire.' in response.text
    assert _reports(web.db) == []


def test_partner_only_gets_its_own_partner_report(web):
    own = web.ids["own_partner"]
    response = web["partenaire"].post(
        f"/rapports?as_of={AS_OF}",
        {"type": "copil", "partenaire": str(web.ids["other_partner"])},
        htmx=False,
    )
    assert response.status_code == 303
    [report] = _reports(web.db)
    assert (report.kind, report.scope) == ("partner", str(own))


def test_generation_without_csrf_token_is_refused(web):
    response = web["admin"].post(
        f"/rapports?as_of={AS_OF}", {"type": "copil"}, csrf=False, htmx=False
    )
    assert response.status_code == 403
    with web.db.session(write=False) as session:
        assert session.execute(select(func.count()).select_from(ReportFile)).scalar_one() == 0
