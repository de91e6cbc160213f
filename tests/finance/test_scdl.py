"""SCDL « subventions » 2.1.1: the conventions above 23 000 € of a year, one row per
convention, validated by `frictionless validate` against the official schema copied into the
project; written by `suivi opendata subventions` and served by the API."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from suivi.app import create_app
from suivi.cli import app as cli_app
from suivi.db import dispose_engines
from suivi.finance.scdl import SCHEMA_PATH
from suivi.io.opendata import write_subventions
from tests.support.api_clients import login
from tests.support.finance import FUNDER_SIRET
from tests.support.finance import add_subsidies

SHARED_SCHEMA = Path("/work/shared/data/scdl-subventions/schema.json")


def _frictionless(csv_path: Path, schema: Path) -> subprocess.CompletedProcess:
    command = Path(sys.executable).parent / "frictionless"
    # frictionless refuses absolute paths as unsafe: run it in the file's folder.
    shutil.copy(schema, csv_path.parent / "schema.json")
    return subprocess.run(
        [str(command), "validate", "--schema", "schema.json", csv_path.name],
        cwd=csv_path.parent,
        capture_output=True,
        text=True,
        check=False,
    )


def test_schema_is_the_official_one():
    assert SCHEMA_PATH.read_bytes() == SHARED_SCHEMA.read_bytes() or not SHARED_SCHEMA.exists()
    assert (SCHEMA_PATH.parent / "PROVENANCE.md").exists()


def test_subsidies_above_the_threshold_validate_with_frictionless(demo_db, tmp_path):
    add_subsidies(demo_db)
    out = tmp_path / "subventions-2026.csv"
    with demo_db.session(write=False) as session:
        result = write_subventions(session, 1, out, 2026)
    checked = _frictionless(out, SCHEMA_PATH)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "VALID" in checked.stdout and "INVALID" not in checked.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    ours = {"Association « Les Bâtisseurs »", "'=Régie de quartier", "Petite association"}
    by_amount = {r["montant"]: r for r in rows if r["nomBeneficiaire"] in ours}
    assert sorted(by_amount) == ["23000.01", "48000.50"]  # 23 000 € and less: not published
    first, second = by_amount["48000.50"], by_amount["23000.01"]
    assert first["idAttribuant"] == FUNDER_SIRET
    assert first["conditionsVersement"] == "échelonné"
    assert first["datesPeriodeVersement"] == "2026-04-15/2026-09-15"
    assert first["rnaBeneficiaire"] == "W623001234" and first["pourcentageSubvention"] == "1.00"
    assert second["conditionsVersement"] == "unique"
    assert second["datesPeriodeVersement"] == "2026-05-02"
    assert second["nomBeneficiaire"] == "'=Régie de quartier"  # never a formula
    assert any("Sans identifiant" in reason for reason in result.skipped)


def test_cli_and_api_write_the_same_file(demo_db, tmp_path, monkeypatch):
    add_subsidies(demo_db)
    out = tmp_path / "cli.csv"
    config = tmp_path / "config.toml"
    config.write_text("[app]\nmode = 'dev'\n", encoding="utf-8")
    monkeypatch.setenv("SUIVI_DATABASE_URL", demo_db.url)
    try:
        arguments = ["opendata", "subventions", "--year", "2026", "--out", str(out)]
        result = CliRunner().invoke(cli_app, ["--config", str(config), *arguments])
    finally:
        dispose_engines()
    assert result.exit_code == 0, result.output
    assert "ligne(s)" in result.output and "Sans identifiant" in result.output
    client = TestClient(create_app(demo_db.settings))
    token = login(client, "admin@example.org")
    response = client.get(
        "/api/io/opendata/subventions?year=2026", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.content == out.read_bytes()
    partner = login(client, "partenaire@example.org")
    refused = client.get(
        "/api/io/opendata/subventions?year=2026", headers={"Authorization": f"Bearer {partner}"}
    )
    assert refused.status_code == 403
