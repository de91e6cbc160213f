"""The pages without login (SQLite and PostgreSQL): they answer, link the quartiers, the
published reports and the open data, say the demo is a demo, leak nothing personal (every
demo email and person name is looked for in every answer), are cached, and can be turned off."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from suivi.annual.models import ConseilCitoyenContact
from suivi.app import create_app
from suivi.auth.models import User
from suivi.contract.models import PartnerContact


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
