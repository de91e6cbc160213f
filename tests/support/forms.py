"""The login form as a browser fills it: first the page (its CSRF cookie and hidden field)."""

from __future__ import annotations

import re

LOGIN_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def login_form_token(client) -> str:
    """GET /connexion (sets the pre-session cookie) and return the form's hidden token."""
    page = client.get("/connexion")
    assert page.status_code == 200, page.text
    return LOGIN_CSRF_RE.search(page.text).group(1)


def post_login_form(client, email: str, password: str, **fields):
    """Submit the login form with its token, without following the redirect."""
    data = {"email": email, "password": password, "csrf_token": login_form_token(client)}
    return client.post("/connexion", data={**data, **fields}, follow_redirects=False)


def post_token_request(client, email: str, password: str):
    """`POST /api/auth/token` (OAuth2 password form)."""
    return client.post("/api/auth/token", data={"username": email, "password": password})


def app_with_login_limits(db, *, refused_pause_seconds: float = 0, **login):
    """The app with `[login]` settings changed; a refused address gets its 429 at once unless
    the test asks for the pause."""
    from suivi.app import create_app

    settings = db.settings
    settings.login.refused_pause_seconds = refused_pause_seconds
    for key, value in login.items():
        setattr(settings.login, key, value)
    return create_app(settings)


def app_with_account_spent(db, email: str, *, attempts: int):
    """The app allowing `attempts` logins a minute per account, all of them already spent on
    `email` by wrong passwords, each from its own address (so no address limit is reached)."""
    from fastapi.testclient import TestClient

    app = app_with_login_limits(
        db,
        attempts_per_minute_per_address=100,
        attempts_per_minute_per_account=attempts,
        backoff_after_failures=100,
    )
    for n in range(attempts):
        client = TestClient(app, client=(f"203.0.113.{n + 1}", 4000))
        assert post_token_request(client, email, "x").status_code == 400
    return app
