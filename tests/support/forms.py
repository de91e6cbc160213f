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
