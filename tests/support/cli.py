"""The `suivi` CLI on a test database (its URL in the environment, no config file)."""

from __future__ import annotations

from typer.testing import CliRunner

from suivi.cli import app


def run_cli(monkeypatch, db, *args):
    monkeypatch.setenv("SUIVI_DATABASE_URL", db.url)
    monkeypatch.delenv("SUIVI_CONFIG", raising=False)
    return CliRunner().invoke(app, ["--config", str(db.work_dir / "none.toml"), *args])
