"""Pages without a browser: login, role and scope checks on every page, the update form
(htmx), CSRF, French errors next to the field, corrections with a reason."""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select

from suivi.audit.models import AuditEvent
from suivi.clock import frozen_at
from suivi.contract.models import ContractQuartier
from suivi.contract.models import Quartier
from suivi.monitoring.service import check_indicators
from tests.support.databases import DEMO_AS_OF
from tests.support.forms import post_login_form
from tests.support.indicators import measurements
from tests.support.reports import archived_report
from tests.support.web_clients import AS_OF
from tests.support.web_clients import EMAILS

ROLES = tuple(EMAILS)
PAGES = (
    "/",
    "/contrat",
    "/engagements",
    "/quartiers",
    "/partenaires",
    "/alertes",
    "/rapports",
    "/orientations/1",
)


def _quartier_code(db) -> str:
    with db.session(write=False) as session:
        return (
            session.execute(
                select(Quartier.code)
                .where(Quartier.id.in_(select(ContractQuartier.quartier_id)))
                .order_by(Quartier.code)
            )
            .scalars()
            .first()
        )


def _error_of(html: str, field_suffix: str) -> str:
    match = re.search(rf'<p class="error" id="m\d+-{field_suffix}-err">([^<]+)</p>', html)
    return match.group(1) if match else ""


@pytest.mark.parametrize("path", [*PAGES, "/engagements/1", "/indicateurs/1", "/partenaires/1"])
def test_anonymous_visits_go_to_the_login_form(web, path):
    response = web.anonymous().get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/connexion")


def test_wrong_password_is_refused_in_french(web):
    response = post_login_form(web.anonymous(), "chef@example.org", "faux")
    assert response.status_code == 401
    assert "mot de passe incorrect" in response.text
    assert 'lang="fr"' in response.text


def test_login_redirects_only_to_local_paths(web):
    response = post_login_form(
        web.anonymous(), EMAILS["chef_de_projet"], "demo", suivant="//evil.test/"
    )
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("role", ROLES)
def test_every_page_renders_for_every_role(web, role):
    client = web[role]
    quartier = _quartier_code(web.db)
    for path in [
        *PAGES,
        f"/quartiers/{quartier}",
        f"/partenaires/{web.ids['own_partner']}",
        f"/engagements/{web.ids['in_commitment']}",
        f"/indicateurs/{web.ids['in_indicator']}",
    ]:
        response = client.get(f"{path}{'&' if '?' in path else '?'}as_of={AS_OF}")
        if path == "/" and role == "copil":
            assert response.status_code == 303 and response.headers["location"].startswith(
                "/contrat"
            )
            continue
        assert response.status_code == 200, (path, response.text[:500])
        assert 'lang="fr"' in response.text
        assert "Données fictives de démonstration" in response.text
        assert 'href="#contenu"' in response.text


def test_partner_cannot_open_what_is_not_its_own(web):
    client = web["partenaire"]
    ids = web.ids
    assert client.get(f"/engagements/{ids['out_commitment']}").status_code == 404
    assert client.get(f"/indicateurs/{ids['out_indicator']}").status_code == 404
    assert client.get(f"/partenaires/{ids['other_partner']}").status_code == 404
    response = client.post(
        f"/indicateurs/{ids['out_indicator']}/mesures?as_of={AS_OF}",
        {"value": "1", "measured_on": AS_OF},
    )
    assert response.status_code == 404
    listing = client.get("/engagements?as_of=" + AS_OF).text
    assert f'href="/engagements/{ids["out_commitment"]}?' not in listing
    assert f'href="/engagements/{ids["in_commitment"]}?' in listing


def test_unknown_objects_are_404(web):
    client = web["admin"]
    for path in (
        "/engagements/999999",
        "/indicateurs/999999",
        "/partenaires/999999",
        "/orientations/999999",
        "/quartiers/QN00000X",
        "/rapports/999/telecharger",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "introuvable" in response.text


def _assert_figure_refused(web, client, indicator_id: int) -> None:
    """Posting a figure on the indicator is refused (403) and writes nothing."""
    before = len(measurements(web.db, indicator_id))
    response = client.post(
        f"/indicateurs/{indicator_id}/mesures?as_of={AS_OF}", {"value": "1", "measured_on": AS_OF}
    )
    assert response.status_code == 403
    assert len(measurements(web.db, indicator_id)) == before


def test_copil_sees_no_edit_form_and_cannot_post(web):
    client = web["copil"]
    page = client.get(f"/engagements/{web.ids['in_commitment']}?as_of={AS_OF}")
    assert page.status_code == 200
    assert "update-form" not in page.text
    assert "update-form" not in client.get(f"/indicateurs/{web.ids['in_indicator']}").text
    _assert_figure_refused(web, client, web.ids["in_indicator"])


def test_chef_reads_everything_but_logs_only_in_scope(web):
    client = web["chef_de_projet"]
    page = client.get(f"/engagements/{web.ids['out_commitment']}?as_of={AS_OF}")
    assert page.status_code == 200
    assert "update-form" not in page.text
    _assert_figure_refused(web, client, web.ids["out_indicator"])


def test_home_lists_overdue_first_with_french_dates(web):
    html = web["chef_de_projet"].get(f"/?as_of={AS_OF}").text
    classes = re.findall(r'<article class="card freshness-(\w+)"', html)
    assert classes, "the home page shows the chef's indicators"
    order = {"overdue": 0, "due_soon": 1, "up_to_date": 2}
    ranks = [order.get(c, 3) for c in classes]
    assert ranks == sorted(ranks)
    if "overdue" in classes:
        assert re.search(r"En retard depuis le \d{1,2}(er)? \w+ \d{4}", html)


def test_home_search_and_filter(web):
    client = web["chef_de_projet"]
    overdue = client.get(f"/?as_of={AS_OF}&etat=retard").text
    assert set(re.findall(r'card freshness-(\w+)"', overdue)) <= {"overdue"}
    nothing = client.get(f"/?as_of={AS_OF}&q=zzzzzz-introuvable").text
    assert "Aucun indicateur à renseigner pour ces critères" in nothing


def test_update_is_saved_audited_and_shows_the_new_status(web):
    client = web["partenaire"]
    indicator = web.ids["in_indicator"]
    before = len(measurements(web.db, indicator))
    response = client.post(
        f"/indicateurs/{indicator}/mesures?as_of={AS_OF}",
        {
            "value": "1 234,5",
            "measured_on": AS_OF,
            "comment": "Relevé du mois",
            "evidence_url": "https://example.org/source",
        },
    )
    assert response.status_code == 200, response.text
    assert "Mise à jour enregistrée" in response.text
    assert response.text.lstrip().startswith("<article")  # the card alone (htmx partial)
    rows = measurements(web.db, indicator)
    assert len(rows) == before + 1
    assert rows[-1].value == 1234.5 and rows[-1].measured_on == DEMO_AS_OF
    with web.db.session(write=False) as session:
        audited = session.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity == "measurement", AuditEvent.entity_id == str(rows[-1].id))
        ).scalar_one()
    assert audited == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"value": "beaucoup", "measured_on": AS_OF}, "value", "Saisissez un nombre"),
        ({"value": "", "measured_on": AS_OF}, "value", "Indiquez la valeur"),
        ({"value": "3", "measured_on": "31/02/2026"}, "date", "Date invalide"),
        ({"value": "3", "measured_on": "2030-01-01"}, "date", "postérieure à aujourd"),
        ({"value": "3", "measured_on": AS_OF, "evidence_url": "ftp://x"}, "url", "http"),
    ],
)
def test_bad_input_shows_a_french_error_next_to_the_field(web, data, field, message):
    indicator = web.ids["in_indicator"]
    before = len(measurements(web.db, indicator))
    # Writes are judged against the real today: pinned on the demo's day, whatever the
    # machine's date (2030-01-01 is then in the future).
    with frozen_at(datetime(2026, 11, 15, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))):
        response = web["chef_de_projet"].post(
            f"/indicateurs/{indicator}/mesures?as_of={AS_OF}", data
        )
    assert response.status_code == 422
    assert message in _error_of(response.text, field)
    assert 'aria-invalid="true"' in response.text
    assert len(measurements(web.db, indicator)) == before


def test_without_htmx_a_bad_value_renders_the_indicator_page(web):
    indicator = web.ids["in_indicator"]
    response = web["chef_de_projet"].post(
        f"/indicateurs/{indicator}/mesures?as_of={AS_OF}",
        {"value": "abc", "measured_on": AS_OF},
        htmx=False,
    )
    assert response.status_code == 422
    assert "<html" in response.text and "Saisissez un nombre" in response.text
    ok = web["chef_de_projet"].post(
        f"/indicateurs/{indicator}/mesures?as_of={AS_OF}",
        {"value": "2", "measured_on": AS_OF},
        htmx=False,
    )
    assert ok.status_code == 303 and "enregistre=1" in ok.headers["location"]


def test_a_form_without_its_csrf_token_is_refused(web):
    indicator = web.ids["in_indicator"]
    client = web["chef_de_projet"]
    before = len(measurements(web.db, indicator))
    response = client.post(
        f"/indicateurs/{indicator}/mesures?as_of={AS_OF}",
        {"value": "5", "measured_on": AS_OF},
        csrf=False,
    )
    assert response.status_code == 403
    assert "CSRF" in response.text
    wrong = client.client.post(
        f"/indicateurs/{indicator}/mesures?as_of={AS_OF}",
        data={"value": "5", "measured_on": AS_OF, "csrf_token": "faux"},
        follow_redirects=False,
    )
    assert wrong.status_code == 403
    # The htmx header carries the token too (hx-headers on <body>).
    header = client.client.post(
        f"/indicateurs/{indicator}/mesures?as_of={AS_OF}",
        data={"value": "5", "measured_on": AS_OF},
        headers={"HX-Request": "true", "X-CSRF-Token": client.csrf},
    )
    assert header.status_code == 200
    assert len(measurements(web.db, indicator)) == before + 1
    logout = client.client.post("/deconnexion", follow_redirects=False)
    assert logout.status_code == 403


def test_correcting_a_value_asks_for_a_reason(web):
    indicator = web.ids["in_indicator"]
    client = web["chef_de_projet"]
    url = f"/indicateurs/{indicator}/mesures?as_of={AS_OF}"
    assert client.post(url, {"value": "10", "measured_on": AS_OF}).status_code == 200
    again = client.post(url, {"value": "12", "measured_on": AS_OF})
    assert again.status_code == 422
    assert "motif de la correction" in _error_of(again.text, "reason")
    fixed = client.post(url, {"value": "12", "measured_on": AS_OF, "reason": "Erreur de saisie"})
    assert fixed.status_code == 200
    current = [m for m in measurements(web.db, indicator) if m.measured_on == DEMO_AS_OF]
    old, new = current[-2], current[-1]
    assert old.superseded_by_id == new.id and old.correction_reason == "Erreur de saisie"
    assert new.value == 12


def test_logout_ends_the_session(web):
    client = web["copil"]
    response = client.post("/deconnexion", {}, htmx=False)
    assert response.status_code == 303
    assert client.get("/contrat").status_code == 303


def test_alerts_are_scoped(web):
    with web.db.session() as session:
        result = check_indicators(session, contract_id=1, as_of=DEMO_AS_OF)
    assert result.open > 0
    admin = web["admin"].get(f"/alertes?as_of={AS_OF}").text
    partner = web["partenaire"].get(f"/alertes?as_of={AS_OF}").text
    count = lambda html: int(re.search(r"<caption>(\d+) alerte", html).group(1))  # noqa: E731
    assert count(admin) == result.open
    assert count(partner) < count(admin)
    assert f"/indicateurs/{web.ids['out_indicator']}?" not in partner


def test_reports_are_listed_and_downloaded_within_scope(web, tmp_path):
    settings = web.db.settings
    folder = tmp_path / "reports"
    folder.mkdir(exist_ok=True)
    (folder / "copil.pdf").write_bytes(b"%PDF-1.7 test")
    with web.db.session() as session:
        report = archived_report(
            contract_id=1,
            kind="copil",
            as_of=date(2026, 11, 15),
            path="copil.pdf",
            size_bytes=13,
            is_demo=True,
        )
        session.add(report)
        session.flush()
        report_id = report.id
    assert Path(settings.reports.dir) == folder
    chef = web["chef_de_projet"]
    assert f"/rapports/{report_id}/telecharger" in chef.get("/rapports").text
    download = chef.get(f"/rapports/{report_id}/telecharger")
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    partner = web["partenaire"]
    assert f"/rapports/{report_id}/telecharger" not in partner.get("/rapports").text
    assert partner.get(f"/rapports/{report_id}/telecharger").status_code == 404


def test_the_indicator_page_shows_its_reference_sheet(web):
    from suivi.contract.models import PartnerContact
    from suivi.indicators.models import Indicator

    indicator_id = web.ids["in_indicator"]
    with web.db.session() as session:
        contact = session.execute(select(PartnerContact).order_by(PartnerContact.id)).scalar()
        indicator = session.get(Indicator, indicator_id)
        indicator.definition = "Part des jeunes accompagnés vers l'emploi."
        indicator.is_rate, indicator.denominator = True, "jeunes de 16-25 ans suivis"
        indicator.aggregation, indicator.aggregation_weight = "weighted_mean", "jeunes suivis"
        indicator.comparability, indicator.forecast = "statistique_non_comparable", False
        indicator.margin, indicator.margin_justification = 0.5, "Arrondi au demi-point."
        indicator.data_owner_contact_id = contact.id
        contact_name = contact.name
    html = web["copil"].get(f"/indicateurs/{indicator_id}?as_of={AS_OF}").text
    assert "Fiche indicateur" in html
    for text in (
        "Part des jeunes accompagnés vers l&#39;emploi.",
        "jeunes de 16-25 ans suivis",
        "Moyenne pondérée des quartiers, pondérée par : jeunes suivis",
        "Statistique non comparable d&#39;une année sur l&#39;autre — pas de projection",
        "± 0,5",
        "Arrondi au demi-point.",
        contact_name,
    ):
        assert text in html, text
