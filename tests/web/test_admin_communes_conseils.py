"""Administration of what the annual report consults: the communes holding a QPV (DSU flag,
conseil municipal's address) and the conseils citoyens (list, creation) — admins only,
through `suivi.annual.service` (audited), errors in French next to the field, CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from suivi.annual.models import ConseilCitoyen
from suivi.audit.models import AuditEvent
from suivi.contract.models import Commune
from suivi.contract.models import Quartier
from suivi.contract.models import contract_quartier_ids
from tests.support.api_clients import login as api_login
from tests.support.web_clients import AS_OF

COMMUNES = f"/administration/communes?as_of={AS_OF}"
CONSEILS = f"/administration/conseils-citoyens?as_of={AS_OF}"


def _communes(db) -> list[Commune]:
    """The demo's communes holding a quartier of the contract (the demo gives each of them
    its conseil municipal's address), by name."""
    with db.session(write=False) as session:
        query = select(Commune).where(Commune.council_email != "").order_by(Commune.name)
        return list(session.execute(query).scalars())


def _commune(db, commune_id: int) -> Commune:
    with db.session(write=False) as session:
        return session.get(Commune, commune_id)


def _commune_audits(db, commune_id: int) -> list[AuditEvent]:
    with db.session(write=False) as session:
        query = select(AuditEvent).where(
            AuditEvent.entity == "commune", AuditEvent.entity_id == str(commune_id)
        )
        return list(session.execute(query.order_by(AuditEvent.id)).scalars())


def _conseil(db, code: str) -> ConseilCitoyen | None:
    with db.session(write=False) as session:
        query = select(ConseilCitoyen).where(ConseilCitoyen.code == code)
        return session.execute(query).scalar_one_or_none()


def _quartiers(db) -> list[Quartier]:
    with db.session(write=False) as session:
        query = select(Quartier).where(Quartier.id.in_(contract_quartier_ids(1)))
        return list(session.execute(query.order_by(Quartier.code)).scalars())


def test_admin_toggles_the_dsu_and_sets_the_council_address(web):
    client = web["admin"]
    listing = client.get(COMMUNES)
    assert listing.status_code == 200
    assert 'aria-current="page">Communes</a>' in listing.text
    commune = next(c for c in _communes(web.db) if not c.receives_dsu)
    assert f'id="commune-{commune.id}"' in listing.text
    assert commune.council_email in listing.text

    url = f"/administration/communes/{commune.id}?as_of={AS_OF}"
    saved = client.post(
        url, {"receives_dsu": "1", "council_email": "Mairie@Example.ORG"}, htmx=False
    )
    assert saved.status_code == 303
    assert f"modifie={commune.id}" in saved.headers["location"]
    assert saved.headers["location"].endswith(f"#commune-{commune.id}")
    assert "Commune modifiée." in client.get(saved.headers["location"]).text
    after = _commune(web.db, commune.id)
    assert after.receives_dsu is True and after.council_email == "Mairie@example.org"
    (audit,) = _commune_audits(web.db, commune.id)
    assert audit.action == "update" and audit.actor_id is not None
    assert audit.before["receives_dsu"] is False and audit.after["receives_dsu"] is True
    assert audit.after["council_email"] == "Mairie@example.org"

    # The checkbox left unchecked takes the flag off again.
    off = client.post(url, {"council_email": "Mairie@example.org"}, htmx=False)
    assert off.status_code == 303
    assert _commune(web.db, commune.id).receives_dsu is False


def test_a_bad_council_address_is_refused_in_french_and_nothing_changes(web):
    client = web["admin"]
    commune = next(c for c in _communes(web.db) if not c.receives_dsu)
    url = f"/administration/communes/{commune.id}?as_of={AS_OF}"
    bad = client.post(url, {"receives_dsu": "1", "council_email": "pas-une-adresse"})
    assert bad.status_code == 422
    assert (
        f'<p class="error" id="commune-{commune.id}-email-err">Adresse électronique invalide.</p>'
        in bad.text
    )
    assert 'value="pas-une-adresse"' in bad.text  # what was typed is kept
    after = _commune(web.db, commune.id)
    assert after.receives_dsu is False and after.council_email == commune.council_email
    assert _commune_audits(web.db, commune.id) == []

    missing_csrf = client.post(url, {"receives_dsu": "1", "council_email": ""}, csrf=False)
    assert missing_csrf.status_code == 403
    assert _commune(web.db, commune.id).receives_dsu is False

    # A commune holding no quartier of the contract is not this page's to change.
    with web.db.session() as session:
        elsewhere = Commune(insee="99999", name="Ailleurs", epci="Autre EPCI")
        session.add(elsewhere)
        session.flush()
        elsewhere_id = elsewhere.id
    outside = client.post(f"/administration/communes/{elsewhere_id}", {"receives_dsu": "1"})
    assert outside.status_code == 404
    assert _commune(web.db, elsewhere_id).receives_dsu is False


def test_admin_creates_a_conseil_over_two_quartiers(web):
    client = web["admin"]
    listing = client.get(CONSEILS)
    assert listing.status_code == 200
    assert "Conseil citoyen des cités minières" in listing.text
    assert "nadia.citoyenne@example.org" in listing.text
    first, second = _quartiers(web.db)[-2:]
    form = {
        "code": "CC-9",
        "name": "Conseil citoyen des deux rives",
        "quartier_ids": [str(first.id), str(second.id)],
        "contact_name": "Inès Riveraine",
        "contact_email": "Ines.Riveraine@Example.ORG",
        "contact_role": "Présidente",
    }
    created = client.post(CONSEILS, form, htmx=False)
    assert created.status_code == 303, created.text
    conseil = _conseil(web.db, "CC-9")
    assert conseil is not None and conseil.contract_id == 1
    assert created.headers["location"].endswith(f"#conseil-{conseil.id}")
    page = client.get(created.headers["location"]).text
    assert "Conseil citoyen créé." in page
    row = page.split(f'id="conseil-{conseil.id}"', 1)[1].split("</tr>", 1)[0]
    assert first.name in row and second.name in row
    assert "Inès Riveraine — Ines.Riveraine@example.org (Présidente)" in row
    with web.db.session(write=False) as session:
        audit = session.execute(
            select(AuditEvent).where(
                AuditEvent.entity == "conseil_citoyen", AuditEvent.entity_id == str(conseil.id)
            )
        ).scalar_one()
    assert audit.after["quartier_ids"] == sorted([first.id, second.id])

    api = web.anonymous()
    headers = {"Authorization": f"Bearer {api_login(api, 'admin@example.org')}"}
    listed = api.get("/api/conseils-citoyens", headers=headers).json()
    (shown,) = [c for c in listed if c["code"] == "CC-9"]
    assert shown["quartier_ids"] == sorted([first.id, second.id])
    assert shown["contacts"] == [
        {"name": "Inès Riveraine", "email": "Ines.Riveraine@example.org", "role": "Présidente"}
    ]

    duplicate = client.post(CONSEILS, {**form, "name": "Un autre"})
    assert duplicate.status_code == 409
    assert (
        '<p class="error" id="conseil-code-err">Un conseil citoyen porte déjà le code CC-9.</p>'
        in duplicate.text
    )
    assert 'value="Un autre"' in duplicate.text
    with web.db.session(write=False) as session:
        names = list(session.execute(select(ConseilCitoyen.name)).scalars())
    assert "Un autre" not in names


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"code": ""}, "code", "Le code est obligatoire."),
        ({"name": "x" * 201}, "name", "Le nom est trop long (200 caractères au plus)."),
        ({"quartier_ids": []}, "quartier_ids", "Choisissez un ou plusieurs quartiers du contrat."),
        ({"contact_email": ""}, "contact_email", "Indiquez le nom et l&#39;adresse électronique"),
        ({"contact_email": "pas-une-adresse"}, "contact_email", "Adresse électronique invalide."),
    ],
)
def test_a_refused_conseil_says_why_and_is_not_created(web, changes, field, message):
    client = web["admin"]
    form = {
        "code": "CC-8",
        "name": "Conseil refusé",
        "quartier_ids": [str(_quartiers(web.db)[0].id)],
        "contact_name": "Personne",
        "contact_email": "personne@example.org",
        **changes,
    }
    refused = client.post(CONSEILS, form)
    assert refused.status_code == 422
    assert f'<p class="error" id="conseil-{field}-err">{message}' in refused.text
    assert "Le conseil citoyen n'a pas été créé" in refused.text
    assert _conseil(web.db, "CC-8") is None


def test_a_conseil_needs_the_csrf_token(web):
    form = {"code": "CC-7", "name": "Sans jeton", "quartier_ids": [str(_quartiers(web.db)[0].id)]}
    assert web["admin"].post(CONSEILS, form, csrf=False).status_code == 403
    assert _conseil(web.db, "CC-7") is None


@pytest.mark.parametrize("role", ["chef_de_projet", "partenaire"])
def test_communes_and_conseils_are_for_admins_only(web, role):
    client = web[role]
    commune = _communes(web.db)[0]
    for path in (COMMUNES, CONSEILS):
        assert client.get(path).status_code == 403, path
    refused = client.post(
        f"/administration/communes/{commune.id}", {"receives_dsu": "1", "council_email": ""}
    )
    assert refused.status_code == 403
    form = {"code": "CC-6", "name": "Interdit", "quartier_ids": [str(_quartiers(web.db)[0].id)]}
    assert client.post(CONSEILS, form).status_code == 403
    assert _commune(web.db, commune.id).council_email == commune.council_email
    assert _conseil(web.db, "CC-6") is None
    # No link to the administration at all (its menu is where the two pages are listed).
    home = client.get(f"/contrat?as_of={AS_OF}").text
    assert "/administration" not in home
