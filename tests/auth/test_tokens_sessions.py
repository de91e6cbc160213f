"""Bearer tokens (expiry, revocation, personal tokens), web sessions (timeouts, CSRF),
login (same answer for an unknown user, lockout)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy import update

from suivi.app import create_app
from suivi.auth.deps import SESSION_COOKIE
from suivi.auth.deps import create_web_session
from suivi.auth.deps import get_current_principal
from suivi.auth.deps import revoke_web_session
from suivi.auth.models import ApiToken
from suivi.auth.models import AuthSession
from suivi.auth.models import User
from suivi.auth.principal import load_principal
from suivi.auth.service import hash_secret
from suivi.db import utcnow
from tests.support.api_clients import login


def _client(db):
    return TestClient(create_app(db.settings))


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_login_token_works_then_expires(demo_db):
    client = _client(demo_db)
    token = login(client, "copil@example.org")
    assert client.get("/api/auth/me", headers=_bearer(token)).json()["role"] == "copil"
    with demo_db.session() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == hash_secret(token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = client.get("/api/auth/me", headers=_bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_token_is_stored_hashed_and_revocable(demo_db):
    client = _client(demo_db)
    token = login(client, "admin@example.org")
    with demo_db.session(write=False) as session:
        hashes = list(session.execute(select(ApiToken.token_hash)).scalars())
    assert token not in hashes and hash_secret(token) in hashes
    assert client.delete("/api/auth/token", headers=_bearer(token)).status_code == 204
    assert client.get("/api/auth/me", headers=_bearer(token)).status_code == 401
    assert client.get("/api/auth/me", headers=_bearer("not-a-token")).status_code == 401


def test_personal_tokens_create_list_revoke(demo_db):
    client = _client(demo_db)
    login_token = login(client, "chef@example.org")
    created = client.post(
        "/api/tokens", json={"name": "tableur", "expires_in_days": 30}, headers=_bearer(login_token)
    )
    assert created.status_code == 201
    personal = created.json()["token"]
    assert client.get("/api/commitments", headers=_bearer(personal)).status_code == 200
    listed = client.get("/api/tokens", headers=_bearer(login_token)).json()
    assert [t["name"] for t in listed] == ["tableur"] and "token" not in listed[0]
    token_id = created.json()["id"]
    assert client.delete(f"/api/tokens/{token_id}", headers=_bearer(login_token)).status_code == 204
    assert client.get("/api/commitments", headers=_bearer(personal)).status_code == 401
    # Someone else's token cannot be revoked (nor seen).
    other = login(client, "copil@example.org")
    assert client.delete(f"/api/tokens/{token_id}", headers=_bearer(other)).status_code == 404


def test_disabled_account_loses_its_tokens(demo_db):
    client = _client(demo_db)
    admin = login(client, "admin@example.org")
    copil = login(client, "copil@example.org")
    copil_id = client.get("/api/auth/me", headers=_bearer(copil)).json()["id"]
    response = client.patch(
        f"/api/users/{copil_id}", json={"is_active": False}, headers=_bearer(admin)
    )
    assert response.status_code == 200
    assert client.get("/api/auth/me", headers=_bearer(copil)).status_code == 401
    refused = client.post(
        "/api/auth/token", data={"username": "copil@example.org", "password": "demo"}
    )
    assert refused.status_code == 400


def test_unknown_user_and_wrong_password_get_the_same_answer(demo_db):
    client = _client(demo_db)
    unknown = client.post("/api/auth/token", data={"username": "x@example.org", "password": "a"})
    wrong = client.post("/api/auth/token", data={"username": "copil@example.org", "password": "a"})
    assert unknown.status_code == wrong.status_code == 400
    assert unknown.json() == wrong.json()


def _session_cookie(db, email):
    with db.session() as session:
        user = session.execute(select(User).where(User.email == email)).scalar_one()
        return create_web_session(session, user, "pytest")


def _measurement_url(client, cookie):
    items = client.get("/api/indicators?size=1", cookies={SESSION_COOKIE: cookie}).json()["items"]
    return f"/api/indicators/{items[0]['id']}/measurements"


def test_cookie_session_needs_csrf_on_writes(demo_db):
    client = _client(demo_db)
    cookie, csrf = _session_cookie(demo_db, "partenaire@example.org")
    url = _measurement_url(client, cookie)
    body = {"measured_on": "2026-10-31", "value": 5}
    client.cookies.set(SESSION_COOKIE, cookie)
    refused = client.post(url, json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = client.post(url, json=body, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    accepted = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 201
    # Bearer-authenticated writes need no CSRF token (no ambient credential).
    client.cookies.clear()


def test_cookie_session_timeouts_and_logout(demo_db):
    client = _client(demo_db)
    cookie, _ = _session_cookie(demo_db, "copil@example.org")
    assert client.get("/api/auth/me", cookies={SESSION_COOKIE: cookie}).status_code == 200
    idle = demo_db.settings.web.session_idle_minutes
    with demo_db.session() as session:
        session.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == hash_secret(cookie))
            .values(last_seen_at=utcnow() - timedelta(minutes=idle + 1))
        )
    assert client.get("/api/auth/me", cookies={SESSION_COOKIE: cookie}).status_code == 401

    cookie, _ = _session_cookie(demo_db, "copil@example.org")
    absolute = demo_db.settings.web.session_absolute_hours
    with demo_db.session() as session:
        session.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == hash_secret(cookie))
            .values(created_at=utcnow() - timedelta(hours=absolute, minutes=1))
        )
    assert client.get("/api/auth/me", cookies={SESSION_COOKIE: cookie}).status_code == 401

    cookie, _ = _session_cookie(demo_db, "copil@example.org")
    with demo_db.session() as session:
        assert revoke_web_session(session, cookie)
    assert client.get("/api/auth/me", cookies={SESSION_COOKIE: cookie}).status_code == 401


def test_bearer_principal_is_the_users_contracts_and_scope(demo_db):
    """The bearer path reads the token, its user and the memberships in one query: it must
    give the same principal as `load_principal`, and refuse an inactive account."""
    client = _client(demo_db)
    token = login(client, "chef@example.org")
    request = SimpleNamespace(method="POST", headers={}, state=SimpleNamespace())
    with demo_db.session() as session:
        user = session.execute(select(User).where(User.email == "chef@example.org")).scalar_one()
        expected = load_principal(session, user)
        assert expected.scope_quartier_ids  # the demo project manager has a scope
        principal = get_current_principal(request, session, token)
        assert principal.via == "token" and principal.credential_id is not None
        assert (principal.contract_ids, principal.scope_partner_ids) == (
            expected.contract_ids,
            expected.scope_partner_ids,
        )
        assert principal.scope_quartier_ids == expected.scope_quartier_ids
        assert (principal.user_id, principal.role) == (user.id, user.role)
        user.is_active = False
    response = client.get("/api/auth/me", headers=_bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"] == "Compte désactivé."
