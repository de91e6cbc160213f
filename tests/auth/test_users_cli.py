"""`suivi users add|list|disable|set-password` on a real database."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from suivi.app import create_app
from suivi.audit.models import AuditEvent
from suivi.auth.models import User
from suivi.auth.models import UserScope
from tests.support.cli import run_cli


def test_users_cli_lifecycle(demo_db, monkeypatch, tmp_path):
    (demo_db.work_dir / "none.toml").write_text("", encoding="utf-8")
    added = run_cli(
        monkeypatch,
        demo_db,
        "users",
        "add",
        "Chef2@Example.org",
        "--role",
        "chef_de_projet",
        "--quartier",
        "QN06202M",
        "--password",
        "un-bon-mot-de-passe",
    )
    assert added.exit_code == 0, added.output
    with demo_db.session(write=False) as session:
        user = session.execute(select(User).where(User.email == "chef2@example.org")).scalar_one()
        assert user.role == "chef_de_projet"
        assert session.execute(select(UserScope).where(UserScope.user_id == user.id)).first()
        assert session.execute(
            select(AuditEvent).where(AuditEvent.entity == "user", AuditEvent.actor_label == "cli")
        ).first()
    client = TestClient(create_app(demo_db.settings))
    form = {"username": "chef2@example.org", "password": "un-bon-mot-de-passe"}
    assert client.post("/api/auth/token", data=form).status_code == 200

    listed = run_cli(monkeypatch, demo_db, "users", "list")
    assert "chef2@example.org" in listed.output and "actif" in listed.output

    changed = run_cli(
        monkeypatch,
        demo_db,
        "users",
        "set-password",
        "chef2@example.org",
        "--password",
        "nouveau-mot-de-passe",
    )
    assert changed.exit_code == 0, changed.output
    assert client.post("/api/auth/token", data=form).status_code == 400

    disabled = run_cli(monkeypatch, demo_db, "users", "disable", "chef2@example.org")
    assert disabled.exit_code == 0
    form["password"] = "nouveau-mot-de-passe"
    assert client.post("/api/auth/token", data=form).status_code == 400


def test_users_cli_refuses_bad_input(demo_db, monkeypatch):
    (demo_db.work_dir / "none.toml").write_text("", encoding="utf-8")
    cases = [
        ("x@example.org", "--role", "chef", "--password", "12345678"),
        ("x@example.org", "--role", "partenaire", "--password", "12345678"),
        ("x@example.org", "--role", "copil", "--password", "court"),
        ("admin@example.org", "--role", "copil", "--password", "12345678"),
        (
            "x@example.org",
            "--role",
            "chef_de_projet",
            "--quartier",
            "QN00000X",
            "--password",
            "12345678",
        ),
    ]
    for args in cases:
        result = run_cli(monkeypatch, demo_db, "users", "add", *args)
        assert result.exit_code == 2, (args, result.output)
    with demo_db.session(write=False) as session:
        assert session.execute(select(User).where(User.email == "x@example.org")).first() is None
