"""`suivi init` / `suivi demo` on a real database, and /healthz over it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy import text
from typer.testing import CliRunner

from suivi.app import create_app
from suivi.cli import app
from suivi.db import dispose_engines
from tests.support.databases import make_settings


def test_demo_command_then_healthz(database_factory, backend, tmp_path, monkeypatch):
    database = database_factory.create(backend, "empty", tmp_path)
    try:
        config = tmp_path / "config.toml"
        config.write_text("[app]\nmode = 'dev'\n", encoding="utf-8")
        monkeypatch.setenv("SUIVI_DATABASE_URL", database.url)
        runner = CliRunner()
        first = runner.invoke(app, ["--config", str(config), "demo", "--as-of", "2026-11-15"])
        assert first.exit_code == 0, first.output
        assert "chargées" in first.output
        second = runner.invoke(app, ["--config", str(config), "demo", "--as-of", "2026-11-15"])
        assert second.exit_code == 0 and "déjà présentes" in second.output
        engine = create_engine(database.url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM commitment")).scalar() == 160
        engine.dispose()

        client = TestClient(create_app(make_settings(database.url, tmp_path)))
        response = client.get("/healthz")
        assert response.status_code == 200
        body = response.json()
        assert body["database"] == "ok" and body["revision"]
    finally:
        dispose_engines()
        database_factory.drop(database)


def test_healthz_reports_an_unreachable_database(tmp_path):
    settings = make_settings(f"sqlite:///{tmp_path}/missing/nowhere.db", tmp_path)
    client = TestClient(create_app(settings))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error"
    dispose_engines()


def test_bad_as_of_is_refused(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--as-of", "26/11/2026"])
    assert result.exit_code == 2
    assert "Date invalide" in result.output
