"""Failed logins slow down the address that fails, not the account (issue 15, item 7):
anyone could lock any account, admins included, by failing 5 times. Now, after
`[login] backoff_after_failures` failures for an email from one address, that address waits
2^k seconds (capped); a right password from another address still works; an admin lifts
the waits (`suivi users unlock`, POST /api/users/{id}/unlock). The form and the API refuse
the same way."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from suivi import clock
from suivi.auth.models import LoginFailure
from suivi.auth.models import User
from suivi.auth.service import backoff_seconds
from suivi.config import LoginSettings
from tests.support.api_clients import login
from tests.support.cli import run_cli
from tests.support.forms import app_with_login_limits
from tests.support.forms import post_login_form
from tests.support.forms import post_token_request

ADMIN = "admin@example.org"
T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def _fail(client, email, times):
    for _ in range(times):
        assert post_token_request(client, email, "mauvais").status_code == 400


def test_backoff_doubles_and_is_capped():
    settings = LoginSettings(backoff_after_failures=5, backoff_max_seconds=900)
    assert [backoff_seconds(n, settings) for n in (0, 4, 5, 6, 7, 10)] == [0, 0, 1, 2, 4, 32]
    assert backoff_seconds(15, settings) == 900
    assert backoff_seconds(10_000, settings) == 900


def test_failures_from_one_address_do_not_lock_the_admin_elsewhere(demo_db):
    app = app_with_login_limits(demo_db)
    attacker = TestClient(app, client=("203.0.113.9", 4000))
    admin = TestClient(app, client=("198.51.100.7", 4000))
    with clock.frozen_at(T0):
        _fail(attacker, ADMIN, 5)
        # The attacker's address waits, even with the right password…
        refused = post_token_request(attacker, ADMIN, "demo")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["detail"].startswith("Trop de tentatives")
        # …the admin, from their own address, is not blocked.
        assert post_token_request(admin, ADMIN, "demo").status_code == 200
    with clock.frozen_at(T0 + timedelta(seconds=1)):
        _fail(attacker, ADMIN, 1)  # the 6th failure: 2 seconds now
        assert post_token_request(attacker, ADMIN, "demo").headers["retry-after"] == "2"
    with clock.frozen_at(T0 + timedelta(seconds=3)):
        # Waited long enough: the right password works and clears that address.
        assert post_token_request(attacker, ADMIN, "demo").status_code == 200
    with demo_db.session(write=False) as session:
        assert session.execute(select(LoginFailure)).first() is None
        assert (
            session.execute(select(User.failed_logins).where(User.email == ADMIN)).scalar_one() == 0
        )


def test_the_form_refuses_the_same_way(demo_db):
    app = app_with_login_limits(demo_db)
    attacker = TestClient(app, client=("203.0.113.9", 4000))
    other = TestClient(app, client=("198.51.100.7", 4000))
    with clock.frozen_at(T0):
        for _ in range(5):
            assert post_login_form(attacker, ADMIN, "mauvais").status_code == 401
        refused = post_login_form(attacker, ADMIN, "demo")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert "Trop de tentatives" in refused.text
        assert "suivi_session" not in refused.cookies
        # The failures of the form and of the API are the same count.
        assert post_token_request(attacker, ADMIN, "demo").status_code == 429
        assert post_login_form(other, ADMIN, "demo").status_code == 303


def test_unknown_email_gets_the_same_backoff(demo_db):
    """Otherwise the backoff would tell which emails have an account."""
    app = app_with_login_limits(demo_db)
    first = TestClient(app, client=("203.0.113.9", 4000))
    second = TestClient(app, client=("203.0.113.10", 4000))
    with clock.frozen_at(T0):
        _fail(first, "personne@example.org", 5)
        _fail(second, "copil@example.org", 5)
        unknown = post_token_request(first, "personne@example.org", "x")
        known = post_token_request(second, "copil@example.org", "x")
    assert known.status_code == unknown.status_code == 429
    assert known.json() == unknown.json()


def test_admin_unlocks_by_cli(demo_db, monkeypatch):
    (demo_db.work_dir / "none.toml").write_text("", encoding="utf-8")
    client = TestClient(app_with_login_limits(demo_db), client=("203.0.113.9", 4000))
    with clock.frozen_at(T0):
        _fail(client, "copil@example.org", 5)
        assert post_token_request(client, "copil@example.org", "demo").status_code == 429
        result = run_cli(monkeypatch, demo_db, "users", "unlock", "copil@example.org")
        assert result.exit_code == 0, result.output
        assert "1 adresse" in result.output
        assert post_token_request(client, "copil@example.org", "demo").status_code == 200
    unknown = run_cli(monkeypatch, demo_db, "users", "unlock", "personne@example.org")
    assert unknown.exit_code == 2 and "Compte introuvable" in unknown.output


@pytest.mark.parametrize("role", ["admin", "copil"])
def test_admin_unlocks_by_api(demo_db, role):
    app = app_with_login_limits(demo_db)
    client = TestClient(app, client=("203.0.113.9", 4000))
    token = login(TestClient(app), f"{role}@example.org")
    with demo_db.session(write=False) as session:
        chef_id = session.execute(
            select(User.id).where(User.email == "chef@example.org")
        ).scalar_one()
    with clock.frozen_at(T0):
        _fail(client, "chef@example.org", 5)
        response = client.post(
            f"/api/users/{chef_id}/unlock", headers={"Authorization": f"Bearer {token}"}
        )
        if role != "admin":
            assert response.status_code == 403
            return
        assert response.status_code == 200, response.text
        assert post_token_request(client, "chef@example.org", "demo").status_code == 200
