"""The last active admin can neither be disabled nor demoted, by the API or the CLI; a
disabled account comes back with `suivi users enable` (issue 15, item 19)."""

from __future__ import annotations

from sqlalchemy import select

from suivi.auth.models import User
from suivi.auth.models import UserContract
from suivi.auth.service import LAST_ADMIN_MESSAGE
from suivi.auth.service import create_user
from tests.support.cli import run_cli


def _is_active(db, email) -> bool:
    with db.session(write=False) as session:
        return session.execute(select(User.is_active).where(User.email == email)).scalar_one()


def test_api_refuses_to_disable_or_demote_the_last_admin(api):
    admin_id = api.user_ids["admin"]
    for body, field in (({"is_active": False}, "is_active"), ({"role": "copil"}, "role")):
        response = api.client.patch(
            f"/api/users/{admin_id}", json=body, headers=api.headers("admin")
        )
        assert response.status_code == 409, response.text
        assert response.json() == {"detail": LAST_ADMIN_MESSAGE, "field": field}
    assert _is_active(api.db, "admin@example.org")
    assert api.get("admin", "/api/auth/me").json()["role"] == "admin"  # token still valid


def test_api_allows_it_once_another_admin_exists(api):
    admin_id = api.user_ids["admin"]
    with api.db.session() as session:
        contracts = list(
            session.execute(
                select(UserContract.contract_id).where(UserContract.user_id == admin_id)
            ).scalars()
        )
        create_user(
            session,
            email="admin2@example.org",
            password="un-long-mot-de-passe",
            role="admin",
            contract_ids=contracts,
        )
    response = api.client.patch(
        f"/api/users/{admin_id}", json={"role": "copil"}, headers=api.headers("admin")
    )
    assert response.status_code == 200, response.text


def test_cli_refuses_to_disable_the_last_admin_then_enable_works(demo_db, monkeypatch):
    (demo_db.work_dir / "none.toml").write_text("", encoding="utf-8")
    refused = run_cli(monkeypatch, demo_db, "users", "disable", "admin@example.org")
    assert refused.exit_code == 2
    assert "dernier administrateur actif" in refused.output
    assert _is_active(demo_db, "admin@example.org")

    disabled = run_cli(monkeypatch, demo_db, "users", "disable", "copil@example.org")
    assert disabled.exit_code == 0, disabled.output
    assert not _is_active(demo_db, "copil@example.org")
    enabled = run_cli(monkeypatch, demo_db, "users", "enable", "copil@example.org")
    assert enabled.exit_code == 0, enabled.output
    assert "Compte réactivé" in enabled.output
    assert _is_active(demo_db, "copil@example.org")
    unknown = run_cli(monkeypatch, demo_db, "users", "enable", "personne@example.org")
    assert unknown.exit_code == 2 and "Compte introuvable" in unknown.output
