"""Real browser tests: Playwright drives Debian's chromium against a real uvicorn server on a
loopback port, over a demo database (SQLite). One browser for the whole module.

Skipped when /usr/bin/chromium is missing, unless SUIVI_REQUIRE_BROWSER=1 (then they fail).
Screenshots of the main pages land in test-artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from suivi.app import create_app
from suivi.monitoring.service import check_indicators
from tests.support.browser import demo_database
from tests.support.browser import login
from tests.support.browser import served
from tests.support.browser import shot
from tests.support.databases import DEMO_AS_OF
from tests.support.web_clients import AS_OF
from tests.support.web_clients import EMAILS
from tests.support.web_clients import scope_ids

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(database_factory, tmp_path_factory):
    """A uvicorn server over a fresh demo database, alerts checked as of the demo day."""
    with demo_database(database_factory, tmp_path_factory, "browser") as database:
        with database.session() as session:
            check_indicators(session, contract_id=1, as_of=DEMO_AS_OF)
        # The update form's tests see a figure count at once; the review has its own server below.
        settings = database.settings.model_copy(deep=True)
        settings.validation.required = False
        with served(create_app(settings)) as url:
            yield {"url": url, "ids": scope_ids(database), "db": database}


def test_each_demo_user_logs_in_and_sees_their_pages(browser, site):
    quartier_link = None
    for role in EMAILS:
        context, page = login(browser, site, role)
        heading = page.locator("h1").first.inner_text()
        if role == "copil":
            # The committee reads: its home is the overview, with no edit form anywhere.
            assert "/contrat" in page.url
            assert page.locator("form.update-form").count() == 0
        else:
            assert heading == "Mes mises à jour"
            assert page.locator("form.update-form").count() > 0
        assert page.get_by_text("Données fictives de démonstration").is_visible()
        shot(page, f"accueil-{role}")
        if role == "chef_de_projet":
            for name, path in (
                ("contrat", "/contrat"),
                ("engagement", f"/engagements/{site['ids']['in_commitment']}"),
                ("alertes", "/alertes"),
                ("partenaire", f"/partenaires/{site['ids']['own_partner']}"),
                ("engagements", "/engagements"),
            ):
                page.goto(f"{site['url']}{path}?as_of={AS_OF}")
                assert page.locator("h1").count() == 1
                shot(page, name)
            page.goto(f"{site['url']}/quartiers?as_of={AS_OF}")
            quartier_link = page.locator("table a").first
            quartier_link.click()
            page.wait_for_load_state()
            assert page.locator("svg.qpv-map").count() == 2  # contour + situation
            shot(page, "quartier")
        page.get_by_role("button", name="Se déconnecter").click()
        page.wait_for_load_state()
        assert "/connexion" in page.url
        context.close()


def test_chef_sees_overdue_first_logs_an_update_and_sees_the_status_change(browser, site):
    context, page = login(browser, site, "chef_de_projet")
    first = page.locator("article.card").first
    assert "freshness-overdue" in first.get_attribute("class")
    assert re.search(r"En retard depuis le \d", first.inner_text())
    card_id = first.get_attribute("id")
    card = page.locator(f"#{card_id}")
    card.get_by_label(re.compile("Nouvelle valeur|Valeur pour la période")).fill("42")
    card.get_by_role("button", name="Enregistrer la mise à jour").click()
    saved = page.locator(f"#{card_id} .saved")
    saved.wait_for()
    assert "Mise à jour enregistrée" in saved.inner_text()
    # The swap settles asynchronously: let Playwright retry until the new card is in place.
    expect(page.locator(f"#{card_id}")).not_to_have_class(re.compile(r"\bfreshness-overdue\b"))
    expect(page.locator(f"#{card_id}")).not_to_contain_text("En retard depuis")
    assert page.url.startswith(f"{site['url']}/?")  # never left the page
    shot(page, "mise-a-jour-enregistree")
    context.close()


def test_a_wrong_value_shows_a_french_error_next_to_the_field(browser, site):
    context, page = login(browser, site, "chef_de_projet", viewport={"width": 390, "height": 844})
    card_id = page.locator("article.card").first.get_attribute("id")
    card = page.locator(f"#{card_id}")
    field = card.get_by_label(re.compile("Nouvelle valeur|Valeur pour la période"))
    field.fill("douze")
    card.get_by_role("button", name="Enregistrer la mise à jour").click()
    error = page.locator(f"#{card_id} p.error").first
    error.wait_for()
    assert "Saisissez un nombre" in error.inner_text()
    field = page.locator(f"#{card_id}:not(.htmx-swapping) input[name=value]")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute(
        "aria-describedby", re.compile(re.escape(error.get_attribute("id")))
    )
    # Phone width: nothing wider than the screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shot(page, "erreur-telephone")
    context.close()


def test_partner_cannot_open_another_partners_commitment_nor_post_without_csrf(browser, site):
    context, page = login(browser, site, "partenaire")
    response = page.goto(f"{site['url']}/engagements/{site['ids']['out_commitment']}")
    assert response.status == 404
    assert "introuvable" in page.locator("main").inner_text()
    response = page.goto(f"{site['url']}/engagements/{site['ids']['in_commitment']}?as_of={AS_OF}")
    assert response.status == 200
    # A form posted without its CSRF token (same cookies) is refused.
    refused = page.request.post(
        f"{site['url']}/indicateurs/{site['ids']['in_indicator']}/mesures?as_of={AS_OF}",
        form={"value": "3", "measured_on": AS_OF},
    )
    assert refused.status == 403
    # And the same form stripped of its hidden token in the page, submitted without htmx.
    page.goto(f"{site['url']}/indicateurs/{site['ids']['in_indicator']}?as_of={AS_OF}")
    page.evaluate(
        """() => { const f = document.querySelector('form.update-form');
                   f.querySelector('input[name=csrf_token]').remove();
                   f.querySelector('input[name=value]').value = '3';
                   HTMLFormElement.prototype.submit.call(f); }"""
    )
    page.wait_for_load_state()
    assert "Jeton CSRF absent ou invalide" in page.locator("main").inner_text()
    context.close()


def test_keyboard_only_reaches_the_update_form(browser, site):
    context, page = login(browser, site, "chef_de_projet")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.keyboard.press("Enter")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "value":
            break
    else:
        pytest.fail("the update form cannot be reached with the keyboard")
    page.keyboard.type("7")
    page.keyboard.press("Enter")  # submits the form
    page.locator(".saved").first.wait_for()
    # The focus moves to the confirmation (the focused field was replaced by the new card).
    # (`expect`, not `wait_for_function`: a string predicate polled in the page is an eval,
    # which the page's CSP refuses once the first check is false.)
    expect(page.locator(".saved:focus")).to_have_count(1)
    assert "Mise à jour enregistrée" in page.evaluate("document.activeElement.textContent")
    # The focus ring is visible on the next control (an outline, not removed).
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    context.close()


def test_a_partner_figure_is_returned_corrected_then_validated(browser, site):
    """Issue #18 in the browser: submit → return (with a reason) → correct → validate."""
    from sqlalchemy import select

    from suivi.indicators.models import Measurement
    from tests.support.review import france_travail_indicators

    database = site["db"]
    indicator_id = france_travail_indicators(database)[1]
    with served(create_app(database.settings)) as url:  # `[validation] required` (default)
        review_site = {"url": url}
        admin_context, admin = login(browser, review_site, "admin")
        admin.goto(f"{url}/indicateurs/{indicator_id}?as_of={AS_OF}")
        card = admin.locator("article.card").first
        card.get_by_label(re.compile("Nouvelle valeur|Valeur pour la période")).fill("321")
        card.get_by_label("Date de la mesure").fill("2026-11-06")
        card.get_by_role("button", name="Enregistrer la mise à jour").click()
        admin.wait_for_load_state()
        expect(admin.locator(".saved").first).to_contain_text("en attente de validation")
        expect(admin.locator(".review-pending").first).to_be_visible()

        partner_context, partner = login(browser, review_site, "partenaire")
        partner.goto(f"{url}/a-valider?as_of={AS_OF}")
        row = partner.locator("#a-valider tbody tr", has_text="6 novembre 2026").filter(
            has_text="321"
        )
        expect(row).to_have_count(1)
        row.get_by_label("Motif du renvoi").fill("Périmètre à vérifier")
        row.get_by_role("button", name="Renvoyer").click()
        expect(partner.locator("#a-valider")).to_contain_text(
            "Renvoyée\u00a0: Périmètre à vérifier"
        )

        admin.goto(f"{url}/indicateurs/{indicator_id}?as_of={AS_OF}")
        card = admin.locator("article.card").first
        card.get_by_label(re.compile("Nouvelle valeur|Valeur pour la période")).fill("322")
        card.get_by_label("Date de la mesure").fill("2026-11-06")
        card.locator("summary", has_text="Corriger une valeur").click()
        card.get_by_label("Motif de la correction").fill("Périmètre QPV seul")
        card.get_by_role("button", name="Enregistrer la mise à jour").click()
        admin.wait_for_load_state()
        expect(admin.locator(".saved").first).to_contain_text("en attente de validation")

        partner.goto(f"{url}/a-valider?as_of={AS_OF}")
        row = partner.locator("#a-valider tbody tr", has_text="6 novembre 2026").filter(
            has_text="322"
        )
        row.get_by_role("button", name=re.compile("^Valider")).click()
        expect(partner.locator("#a-valider")).to_contain_text("Validée")
        shot(partner, "a-valider")
        with database.session(write=False) as session:
            current = session.execute(
                select(Measurement).where(
                    Measurement.indicator_id == indicator_id,
                    Measurement.superseded_by_id.is_(None),
                    Measurement.value == 322,
                )
            ).scalar_one()
            assert current.status == "validated"
            assert current.return_reason == ""
        admin.goto(f"{url}/indicateurs/{indicator_id}?as_of={AS_OF}")
        history = admin.locator("table", has_text="Mesures saisies")
        expect(history).to_contain_text("Corrigée : Périmètre QPV seul")
        expect(history).to_contain_text("En attente de validation")  # the demo's pending one
        shot(admin, "indicateur-historique-validation")
        admin_context.close()
        partner_context.close()
