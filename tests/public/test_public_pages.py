"""The pages without login (SQLite and PostgreSQL): they answer, link the quartiers, the
published reports and the open data, say the demo is a demo, leak nothing personal (every
demo email and person name is looked for in every answer), are cached, and can be turned off."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from suivi.annual.models import ConseilCitoyenContact
from suivi.app import create_app
from suivi.auth.models import User
from suivi.contract.models import PartnerContact
from suivi.finance.scdl import scdl_field_names
from tests.support.api_clients import login
from tests.support.finance import add_subsidies


def _personal_strings(db) -> set[str]:
    with db.session(write=False) as session:
        found = set()
        for model, columns in (
            (User, ("email", "full_name")),
            (PartnerContact, ("email", "name")),
            (ConseilCitoyenContact, ("email", "name")),
        ):
            for row in session.execute(select(model)).scalars():
                found.update(getattr(row, c) for c in columns if getattr(row, c))
    return found


def _walk(client: TestClient) -> dict[str, str]:
    """Every public answer reachable from /public."""
    pages = {"/public": client.get("/public")}
    for link in sorted(
        set(re.findall(r'href="(/(?:public|api/public)[^"]*)"', pages["/public"].text))
    ):
        pages[link] = client.get(link)
    for link in list(pages):
        if link.startswith("/public/quartiers/"):
            pages["/api/public/quartiers/" + link.rsplit("/", 1)[1]] = client.get(
                "/api/public/quartiers/" + link.rsplit("/", 1)[1]
            )
    return {path: response for path, response in pages.items()}


def test_public_pages_answer_and_leak_nothing_personal(demo_db):
    personal = _personal_strings(demo_db)
    assert "citoyen@example.org" in personal and "Nadia Citoyenne" in personal
    client = TestClient(create_app(demo_db.settings))
    pages = _walk(client)
    quartier_pages = [p for p in pages if p.startswith("/public/quartiers/")]
    assert len(quartier_pages) >= 20
    assert "/public/donnees-ouvertes.csv" in pages
    for path, response in pages.items():
        assert response.status_code == 200, path
        body = response.text
        leaked = [s for s in personal if s.lower() in body.lower()]
        assert leaked == [], f"{path} shows {leaked}"
        assert "@" not in body or path.endswith(".csv"), path
    home = pages["/public"].text
    assert "Données fictives de démonstration" in home
    assert "Aucun rapport annuel n’est encore publié." in home
    quartier = pages[quartier_pages[0]].text
    assert "Les engagements" in quartier and "<td>" in quartier
    data = pages["/api/public/quartiers/" + quartier_pages[0].rsplit("/", 1)[1]].json()
    assert data["is_demo"] is True and data["commitments"]
    assert set(data["commitments"][0]) >= {"code", "status", "mean_progress", "performance"}


def test_public_answers_are_cached_and_public(demo_db):
    app = create_app(demo_db.settings)
    client = TestClient(app)
    first = client.get("/public")
    assert first.headers["cache-control"] == "public, max-age=60"
    builds = app.state.public_cache.builds
    for _ in range(5):
        assert client.get("/public").status_code == 200
    assert app.state.public_cache.builds == builds  # served from memory, no database read
    assert client.get("/public/quartiers/INCONNU").status_code == 404
    missing = client.get("/api/public/quartiers/INCONNU")
    assert missing.status_code == 404 and missing.json() == {"detail": "Quartier introuvable."}


def test_public_pages_can_be_turned_off(demo_db):
    settings = demo_db.settings
    settings.public.enabled = False
    client = TestClient(create_app(settings))
    assert client.get("/public").status_code == 404
    assert client.get("/api/public/contract").status_code == 404


def test_public_pages_link_the_scdl_subsidies_served_without_login(demo_db):
    """#20: the SCDL « subventions » file is linked from the public pages. The API route
    needs a login, so the public pages serve the same file (same writer) under /public."""
    app = create_app(demo_db.settings)
    client = TestClient(app)
    assert "format SCDL" not in client.get("/public").text  # no funder has a SIRET yet
    add_subsidies(demo_db)
    app.state.public_cache.clear()
    home = client.get("/public").text
    years = client.get("/api/public/contract").json()["open_data"]["subsidies"]
    # The funder's demo lines of 2025 become publishable too, latest year first.
    assert [s["year"] for s in years] == [2026, 2025]
    assert years[0]["csv"] == "/public/subventions/2026.csv"
    assert '<a href="/public/subventions/2026.csv">2026</a>' in home
    assert "format SCDL" in home

    assert client.get("/api/io/opendata/subventions?year=2026").status_code == 401
    public = client.get("/public/subventions/2026.csv")
    assert public.status_code == 200
    assert public.headers["cache-control"] == "public, max-age=60"
    assert 'filename="subventions-' in public.headers["content-disposition"]
    token = login(client, "admin@example.org")
    private = client.get(
        "/api/io/opendata/subventions?year=2026", headers={"Authorization": f"Bearer {token}"}
    )
    assert public.content == private.content
    assert [s for s in _personal_strings(demo_db) if s.lower() in public.text.lower()] == []
    header, *rows = list(csv.reader(io.StringIO(public.text)))
    assert header == scdl_field_names() and rows
    assert {"48000.50", "23000.01"} <= {row[header.index("montant")] for row in rows}
    assert client.get("/public/subventions/1999.csv").status_code == 404
