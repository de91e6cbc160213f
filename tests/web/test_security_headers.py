"""Security headers on every response, /docs without a CDN, /healthz without database error
text for anonymous callers."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient
from sqlalchemy import select

from suivi.app import CONTENT_SECURITY_POLICY
from suivi.app import create_app
from suivi.contract.models import PartnerContact
from suivi.db import dispose_engines
from tests.support.databases import make_settings
from tests.support.web_clients import AS_OF

EXPECTED_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _assert_common(response) -> None:
    assert response.headers["content-security-policy"] == EXPECTED_POLICY
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_headers_on_pages_api_errors_and_static(web):
    assert CONTENT_SECURITY_POLICY == EXPECTED_POLICY
    chef = web["chef_de_projet"]
    anonymous = web.anonymous()
    for response in (
        chef.get(f"/contrat?as_of={AS_OF}"),
        chef.get(f"/api/rollups?as_of={AS_OF}"),
        chef.get("/engagements/999999"),  # an error page too
        anonymous.get("/connexion"),
        anonymous.get("/api/commitments"),  # 401
    ):
        _assert_common(response)
        assert response.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in response.headers  # http base_url
    static = anonymous.get("/static/suivi.css")
    assert static.status_code == 200
    _assert_common(static)
    assert "no-store" not in static.headers.get("cache-control", "")


def test_hsts_when_the_base_url_is_https(demo_db):
    settings = demo_db.settings
    settings.app.base_url = "https://suivi.example.org"
    client = TestClient(create_app(settings))
    response = client.get("/connexion")
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_docs_use_local_swagger_assets(web):
    client = web.anonymous()
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "<script>" not in page.text
    for asset in (
        "/static/swagger-ui/swagger-ui-bundle.js",
        "/static/swagger-ui/swagger-ui.css",
        "/static/swagger-init.js",
    ):
        assert asset in page.text
        assert client.get(asset).status_code == 200, asset
    assert client.get("/redoc").status_code == 404  # ReDoc needs inline styles


def test_healthz_hides_database_errors_from_callers(tmp_path, caplog):
    settings = make_settings(f"sqlite:///{tmp_path}/missing/nowhere.db", tmp_path)
    client = TestClient(create_app(settings))
    with caplog.at_level(logging.ERROR, logger="suivi.app"):
        response = client.get("/healthz")
    dispose_engines()
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "error" and "error" not in body
    assert "nowhere.db" not in response.text and "unable to open" not in response.text
    assert any("database unreachable" in record.getMessage() for record in caplog.records)


def test_email_preview_page_alone_allows_inline_styles_for_its_frame(web):
    with web.db.session(write=False) as session:
        contact_id = session.execute(select(PartnerContact.id).limit(1)).scalar_one()
    response = web["admin"].get(f"/administration/contacts/{contact_id}/apercu?as_of={AS_OF}")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy and "script-src 'self';" in policy
    assert 'sandbox srcdoc="' in response.text  # the email's HTML, in a frame without scripts
