"""A project manager records decisions during the meeting in a real browser (Chromium),
keyboard only for the second one (Ctrl+Entrée), and gets a French error next to the field."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from suivi.app import create_app
from tests.support.browser import SCREENSHOTS
from tests.support.browser import chromium_browser
from tests.support.browser import demo_database
from tests.support.browser import served
from tests.support.governance import new_meeting
from tests.support.web_clients import AS_OF
from tests.support.web_clients import EMAILS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(database_factory, tmp_path_factory):
    with demo_database(database_factory, tmp_path_factory, "decisions") as database:
        meeting_id = new_meeting(database)
        with served(create_app(database.settings)) as url:
            yield {"url": url, "meeting_id": meeting_id}


def test_decisions_are_entered_during_the_meeting(site):
    with chromium_browser() as browser:
        context = browser.new_context(locale="fr-FR")
        page = context.new_page()
        page.goto(f"{site['url']}/instances/{site['meeting_id']}?as_of={AS_OF}")
        page.get_by_label("Adresse électronique").fill(EMAILS["chef_de_projet"])
        page.get_by_label("Mot de passe").fill("demo")
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_load_state()
        page.goto(f"{site['url']}/instances/{site['meeting_id']}?as_of={AS_OF}")
        page.get_by_role("button", name="Déclarer l'instance tenue").click()
        page.wait_for_load_state()

        text = page.get_by_label("Texte de la décision")
        expect(text).to_be_focused()  # the form opens ready to type
        text.fill("Relancer le chantier d'insertion de la cité 12")
        page.get_by_label("Pilote").select_option(label="France Travail")
        page.get_by_label("Échéance").fill("2026-09-30")
        page.get_by_role("button", name="Enregistrer la décision").click()
        page.wait_for_load_state()
        expect(page.get_by_role("status")).to_have_text("Décision enregistrée.")

        # Second decision, keyboard only: type, Tab to the due date, Ctrl+Entrée.
        text = page.get_by_label("Texte de la décision")
        expect(text).to_be_focused()
        page.keyboard.type("Présenter le bilan des clauses d'insertion")
        page.get_by_label("Échéance").fill("2024-01-01")
        page.get_by_label("Échéance").press("Control+Enter")
        page.wait_for_load_state()
        error = page.locator("#decision-due-err")
        expect(error).to_contain_text("ne peut pas précéder la réunion")
        expect(page.get_by_label("Échéance")).to_have_attribute("aria-invalid", "true")
        page.get_by_label("Échéance").fill("2026-12-31")
        page.get_by_label("Texte de la décision").press("Control+Enter")
        page.wait_for_load_state()

        rows = page.locator("table.decisions tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("En retard depuis le 30 septembre 2026")
        expect(rows.nth(1)).to_contain_text("Présenter le bilan")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "instance-decisions.png"), full_page=True)

        page.goto(f"{site['url']}/decisions?as_of={AS_OF}")
        page.get_by_label("Pilote").select_option(label="France Travail")
        page.get_by_label("En retard seulement").check()
        page.get_by_role("button", name="Filtrer").click()
        page.wait_for_load_state()
        expect(page.locator("table.decisions tbody tr")).to_have_count(1)
        expect(page.locator("table.decisions tbody tr")).to_contain_text("cité 12")
        page.screenshot(path=str(SCREENSHOTS / "decisions-en-retard.png"), full_page=True)
        context.close()
