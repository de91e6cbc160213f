"""The login form carries a CSRF token before any session; cookies are Secure behind an
https base_url; production refuses plain http (issue 15, item 21)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from suivi.app import create_app
from suivi.config import ConfigError
from suivi.config import Settings
from tests.support.forms import login_form_token
from tests.support.forms import post_login_form


def _settings(db, **app):
    data = db.settings.model_dump()
    data["app"].update(app)
    settings = Settings.model_validate(data)
    settings.source = "<tests>"
    return settings


def test_login_form_without_or_with_a_foreign_token_is_refused(demo_db):
    app = create_app(demo_db.settings)
    victim = TestClient(app)
    # A form posted from another site: no token, or the attacker's own (valid for the
    # attacker's cookie, not for the victim's).
    attacker = TestClient(app)
    foreign = login_form_token(attacker)
    login_form_token(victim)  # the victim has a login cookie of their own
    for data in (
        {"email": "admin@example.org", "password": "demo"},
        {"email": "admin@example.org", "password": "demo", "csrf_token": foreign},
        {"email": "admin@example.org", "password": "demo", "csrf_token": ""},
    ):
        response = victim.post("/connexion", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "La page de connexion a expiré" in response.text
        assert "suivi_session" not in response.cookies
    # No login cookie at all (first visit is the POST): refused too.
    fresh = TestClient(app)
    response = fresh.post(
        "/connexion",
        data={"email": "admin@example.org", "password": "demo", "csrf_token": foreign},
        follow_redirects=False,
    )
    assert response.status_code == 403
    # The page sent back carries a fresh valid token: submitting it works.
    assert post_login_form(victim, "admin@example.org", "demo").status_code == 303


def test_login_page_token_is_bound_to_the_secret(demo_db):
    client = TestClient(create_app(demo_db.settings))
    token = login_form_token(client)
    other_secret = TestClient(
        create_app(_settings(demo_db, secret_key="another-secret-of-some-length"))
    )
    other_secret.cookies.set("suivi_login_csrf", client.cookies.get("suivi_login_csrf"))
    response = other_secret.post(
        "/connexion",
        data={"email": "admin@example.org", "password": "demo", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_cookies_are_secure_when_the_base_url_is_https(demo_db):
    settings = _settings(demo_db, base_url="https://suivi.example.org")
    assert settings.web.secure_cookies is True
    client = TestClient(create_app(settings), base_url="https://testserver")
    page = client.get("/connexion")
    assert "secure" in page.headers["set-cookie"].lower()
    response = post_login_form(client, "admin@example.org", "demo")
    assert response.status_code == 303
    session_cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("suivi_session=")
    )
    assert "secure" in session_cookie.lower() and "httponly" in session_cookie.lower()


def test_cookies_are_not_secure_over_http_in_dev(demo_db):
    client = TestClient(create_app(demo_db.settings))
    response = post_login_form(client, "admin@example.org", "demo")
    session_cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("suivi_session=")
    )
    assert "secure" not in session_cookie.lower()


def test_production_refuses_plain_http(demo_db):
    settings = _settings(
        demo_db, mode="production", secret_key="a-long-random-secret-value", base_url=""
    )
    for base_url in ("http://suivi.example.org", "suivi.example.org"):
        settings.app.base_url = base_url
        with pytest.raises(ConfigError, match=r"\[app\] base_url") as error:
            create_app(settings)
        assert "https" in str(error.value)
    settings = _settings(
        demo_db,
        mode="production",
        secret_key="a-long-random-secret-value",
        base_url="https://suivi.example.org",
    )
    assert create_app(settings).state.settings.web.secure_cookies is True
