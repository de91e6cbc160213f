"""Real browser (Playwright + chromium) on a demo server: the public page of the contract and
of a quartier without login, and a conseil citoyen entering its opinion on the 2026 report
with a PDF attachment through the form. Screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from suivi.annual.models import AnnualReportOpinion
from suivi.app import create_app
from tests.support.annual import open_2026
from tests.support.browser import demo_database
from tests.support.browser import served
from tests.support.browser import shot

pytestmark = pytest.mark.browser
SMALL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def site(database_factory, tmp_path_factory):
    with demo_database(database_factory, tmp_path_factory, "annual") as database:
        report_id = open_2026(database)
        with served(create_app(database.settings)) as url:
            yield {"url": url, "db": database, "report_id": report_id}


def test_public_pages_without_login(browser, site):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    response = page.goto(f"{site['url']}/public")
    assert response.status == 200
    assert page.get_by_text("Données fictives de démonstration").is_visible()
    assert page.get_by_role("button", name="Se déconnecter").count() == 0
    shot(page, "public-contrat")
    page.locator("#quartiers ~ ul a, section a[href^='/public/quartiers/']").first.click()
    page.wait_for_load_state()
    assert "/public/quartiers/" in page.url
    assert page.locator("h1").count() == 1
    assert page.locator("table tbody tr").count() >= 1
    assert (
        page.get_by_role("link", name="Engagements et indicateurs par quartier (CSV)").count() == 1
    )
    shot(page, "public-quartier")
    context.close()


def test_conseil_citoyen_enters_its_opinion_with_a_pdf(browser, site, tmp_path):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{site['url']}/connexion")
    page.get_by_label("Adresse électronique").fill("citoyen@example.org")
    page.get_by_label("Mot de passe").fill("demo")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    assert "/contrat" in page.url  # reads, never sees the update forms
    page.goto(f"{site['url']}/rapport-annuel/{site['report_id']}")
    forms = page.locator("form.opinion-form")
    assert forms.count() == 1  # its own conseil only
    form = forms.first
    form.get_by_label("Réservé").check()
    form.get_by_label("Observations").fill("Le conseil citoyen demande un calendrier des travaux.")
    form.get_by_label("Date de l’avis").fill("2026-11-20")  # not today: the test reads no clock
    attachment = tmp_path / "avis-conseil-citoyen.pdf"
    attachment.write_bytes(SMALL_PDF)
    form.get_by_label("Délibération ou avis signé (PDF, facultatif)").set_input_files(
        str(attachment)
    )
    form.get_by_role("button", name="Enregistrer l’avis").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "Avis enregistré."
    assert page.locator("table").get_by_text("Réservé").count() == 1
    shot(page, "avis-conseil-citoyen")
    # A file that is not a PDF: refused with the French message next to the form.
    bad = tmp_path / "avis.pdf"
    bad.write_bytes(b"MZ not a pdf")
    form = page.locator("form.opinion-form").first
    form.get_by_label("Favorable", exact=True).check()
    form.get_by_label("Date de l’avis").fill("2026-11-21")
    form.get_by_label("Délibération ou avis signé (PDF, facultatif)").set_input_files(str(bad))
    form.get_by_role("button", name="Enregistrer l’avis").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").inner_text() == "La pièce jointe doit être un fichier PDF."
    context.close()
    with site["db"].session(write=False) as session:
        stored = (
            session.execute(
                select(AnnualReportOpinion).where(AnnualReportOpinion.verdict.is_not(None))
            )
            .scalars()
            .all()
        )
    assert [(o.verdict, o.attachment_name, o.given_on.isoformat()) for o in stored] == [
        ("reserve", "avis-conseil-citoyen.pdf", "2026-11-20")
    ]
