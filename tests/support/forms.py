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
