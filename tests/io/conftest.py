"""The spreadsheet tests' fixtures: `api` (here a TestClient and one bearer header per demo
role, not tests/api's `Api`) and `cli` (the `suivi` CLI in dev mode on the demo database)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from suivi.app import create_app
from suivi.cli import app
from suivi.db import dispose_engines
from tests.support.api_clients import ROLES


@pytest.fixture
def api(demo_db):
    client = TestClient(create_app(demo_db.settings))
    headers = {}
    for role, email in ROLES.items():
        response = client.post("/api/auth/token", data={"username": email, "password": "demo"})
        assert response.status_code == 200, response.text
        headers[role] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    yield client, headers
    dispose_engines()


@pytest.fixture
def cli(demo_db, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("[app]\nmode = 'dev'\n", encoding="utf-8")
    monkeypatch.setenv("SUIVI_DATABASE_URL", demo_db.url)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["--config", str(config), *args])

    yield invoke
    dispose_engines()
