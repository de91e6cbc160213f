"""In a real browser (chromium): a project manager enters a vote and two payments on a
financial line; the partner's « Financements » page then shows planned / voted / paid /
justified equal, to the cent, to the API roll-up. Screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from suivi.app import create_app
from suivi.commitments.models import Commitment
from suivi.finance import service
from suivi.formatting import format_euros
from tests.support.api_clients import login as api_login
from tests.support.browser import demo_database
from tests.support.browser import login as browser_login
from tests.support.browser import served
from tests.support.browser import shot
from tests.support.web_clients import AS_OF
from tests.support.web_clients import scope_ids

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(database_factory, tmp_path_factory):
    with demo_database(database_factory, tmp_path_factory, "money") as database:
        ids = scope_ids(database)
        with database.session() as session:
            commitment = session.get(Commitment, ids["in_commitment"])
            line = service.create_line(
                session,
                commitment,
                fields={"partner_id": commitment.lead_partner_id, "year": 2026,
                        "amount_requested": "18000", "beneficiary_name": "Association Rebond",
                        "beneficiary_rna": "W623004321"},
                actor_id=None,
            )  # fmt: skip
            ids.update(line_id=line.id, funder_id=commitment.lead_partner_id)
        app = create_app(database.settings)
        with served(app) as url:
            yield {"url": url, "ids": ids, "app": app}


def test_a_vote_and_two_payments_reach_the_partner_page_to_the_cent(browser, site):
    context, page = browser_login(browser, site, "chef_de_projet")
    ids = site["ids"]
    page.goto(f"{site['url']}/financements/lignes/{ids['line_id']}?as_of={AS_OF}")
    page.get_by_label("Montant voté (€)").fill("16 500,50")
    page.get_by_label("Date de la décision").fill("2026-04-14")
    page.get_by_label("Référence de la décision").fill("Délibération CP 2026-041")
    page.get_by_role("button", name="Enregistrer la décision").click()
    page.wait_for_load_state()
    assert page.locator("p.saved").inner_text() == "Enregistré."
    for paid_on, amount in (("2026-05-06", "9 900,30"), ("2026-10-21", "6 600,20")):
        page.get_by_label("Date du versement").fill(paid_on)
        page.get_by_label("Montant versé (€)").fill(amount)
        page.get_by_role("button", name="Enregistrer le versement").click()
        page.wait_for_load_state()
    assert page.locator("#montant-vote").inner_text() == format_euros(Decimal("16500.50"))
    assert page.locator("#montant-verse").inner_text() == format_euros(Decimal("16500.50"))
    shot(page, "financement-ligne")

    # A payment before the vote: refused next to its field, in French.
    page.get_by_label("Date du versement").fill("2026-04-01")
    page.get_by_label("Montant versé (€)").fill("10")
    page.get_by_role("button", name="Enregistrer le versement").click()
    page.wait_for_load_state()
    assert "précède le vote" in page.locator("#f-paid_on-err").inner_text()

    page.goto(f"{site['url']}/partenaires/{ids['funder_id']}/financements?annee=2026&as_of={AS_OF}")
    shown = {
        key: page.locator(f'[data-measure="{key}"]').inner_text()
        for key in ("planned", "voted", "paid", "justified")
    }
    shot(page, "financements-partenaire")
    context.close()

    api = TestClient(site["app"])
    token = api_login(api, "chef@example.org")
    rollup = api.get(
        f"/api/rollups/funding?year=2026&partner_id={ids['funder_id']}&as_of={AS_OF}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert shown == {key: format_euros(Decimal(rollup["total"][key])) for key in shown}
    assert Decimal(rollup["total"]["paid"]) >= Decimal("16500.50")
