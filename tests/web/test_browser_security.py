"""In a real browser (chromium): a `javascript:` evidence link stored in the database (as an
old base could hold) is never rendered as a link, the Content-Security-Policy blocks an
injected inline script, and the main pages and /docs load without any policy violation
(htmx, charts and Swagger UI included). Screenshots land in test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy import update

from suivi.app import create_app
from suivi.contract.models import Quartier
from suivi.indicators.models import Measurement
from suivi.monitoring.service import check_indicators
from tests.support.browser import demo_database
from tests.support.browser import login
from tests.support.browser import served
from tests.support.browser import shot
from tests.support.databases import DEMO_AS_OF
from tests.support.web_clients import AS_OF
from tests.support.web_clients import scope_ids

pytestmark = pytest.mark.browser

EVIL = "javascript:alert(document.cookie)"
GOOD = "https://www.example.org/preuve.pdf"
INJECT = """() => new Promise((resolve) => {
  document.addEventListener("securitypolicyviolation",
    (event) => resolve(event.violatedDirective), {once: true});
  const script = document.createElement("script");
  script.textContent = "window.__pwned = 1;";
  document.body.appendChild(script);
  setTimeout(() => resolve(null), 3000);
})"""


@pytest.fixture(scope="module")
def site(database_factory, tmp_path_factory):
    """The demo over uvicorn, with two evidence links written straight into the database:
    a `javascript:` one (past every validator) and an ordinary one."""
    with demo_database(database_factory, tmp_path_factory, "csp") as database:
        ids = scope_ids(database)
        with database.session() as session:
            check_indicators(session, contract_id=1, as_of=DEMO_AS_OF)
            evil, good = (
                session.execute(
                    select(Measurement.id)
                    .where(
                        Measurement.indicator_id == ids["in_indicator"],
                        Measurement.superseded_by_id.is_(None),
                    )
                    .order_by(Measurement.measured_on.desc())
                    .limit(2)
                )
                .scalars()
                .all()
            )
            session.execute(
                update(Measurement).where(Measurement.id == evil).values(evidence_url=EVIL)
            )
            session.execute(
                update(Measurement).where(Measurement.id == good).values(evidence_url=GOOD)
            )
            quartier = (
                session.execute(select(Quartier.code).order_by(Quartier.id)).scalars().first()
            )
        with served(create_app(database.settings)) as url:
            yield {"url": url, "ids": ids, "quartier": quartier}


def _violations(page) -> list[str]:
    messages: list[str] = []
    page.on(
        "console",
        lambda message: (
            messages.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return messages


def test_stored_javascript_link_is_never_clickable(browser, site):
    context, page = login(browser, site, "chef_de_projet")
    ids = site["ids"]
    for path in (f"/indicateurs/{ids['in_indicator']}", f"/engagements/{ids['in_commitment']}"):
        page.goto(f"{site['url']}{path}?as_of={AS_OF}")
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        assert not [href for href in hrefs if href.lower().startswith("javascript:")]
        assert GOOD in hrefs  # an ordinary link is still a link
    context.close()


def test_policy_blocks_an_injected_inline_script(browser, site):
    context, page = login(browser, site, "chef_de_projet")
    response = page.goto(f"{site['url']}/contrat?as_of={AS_OF}")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert page.evaluate(INJECT) in ("script-src-elem", "script-src")
    assert page.evaluate("window.__pwned") is None
    context.close()


def test_main_pages_and_docs_load_without_policy_violations(browser, site):
    context, page = login(browser, site, "chef_de_projet")
    violations = _violations(page)
    ids = site["ids"]
    for name, path in (
        ("csp-accueil", "/"),
        ("csp-engagement", f"/engagements/{ids['in_commitment']}"),
        ("csp-quartier", f"/quartiers/{site['quartier']}"),
        ("csp-indicateur", f"/indicateurs/{ids['in_indicator']}"),
    ):
        page.goto(f"{site['url']}{path}?as_of={AS_OF}")
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").count() == 1
        shot(page, name)
    # htmx still works under the policy: an update through the card's form.
    page.goto(f"{site['url']}/?as_of={AS_OF}")
    card = page.locator("article.card").first
    card_id = card.get_attribute("id")
    card.locator("input[name=value]").fill("42")
    card.get_by_role("button", name="Enregistrer la mise à jour").click()
    page.locator(f"#{card_id} .saved").wait_for()
    page.goto(f"{site['url']}/docs")
    page.locator(".swagger-ui .info").wait_for(timeout=20_000)
    assert page.locator(".opblock").count() > 10
    shot(page, "csp-docs")
    assert violations == []
    context.close()
