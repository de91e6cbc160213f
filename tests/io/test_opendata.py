"""The open-data CSV validates against its Table Schema (frictionless) and carries the
official codes."""

from __future__ import annotations

import csv
import json

from frictionless import Resource
from frictionless import Schema

from suivi.io.opendata import write_opendata
from tests.support.databases import DEMO_AS_OF
from tests.support.io import contract_id


def _validate(csv_path, schema_path):
    schema = Schema.from_descriptor(json.loads(schema_path.read_text(encoding="utf-8")))
    # Relative path under basepath: frictionless refuses absolute paths as unsafe.
    return Resource(path=csv_path.name, basepath=str(csv_path.parent), schema=schema).validate()


def test_open_data_csv_validates_against_its_schema(demo_db, tmp_path):
    out = tmp_path / "engagements-qpv.csv"
    with demo_db.session(write=False) as session:
        schema_path = write_opendata(session, contract_id(demo_db), out, DEMO_AS_OF)
    assert schema_path == tmp_path / "engagements-qpv.schema.json"

    report = _validate(out, schema_path)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]

    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["code_engagement"] for row in rows} >= {"ENG-001", "ENG-160"}
    assert {row["perimetre"] for row in rows} == {"quartier", "engagement", "contrat"}
    assert all(row["donnees_fictives"] == "true" for row in rows)
    by_qpv = [row for row in rows if row["code_qpv"]]
    assert all(row["code_qpv"].startswith("QN") and row["codes_insee"] for row in by_qpv)
    france_travail = [row for row in rows if row["code_partenaire_pilote"] == "france-travail"]
    assert france_travail and all(
        r["siren_partenaire_pilote"] == "130005481" for r in france_travail
    )
    assert any(row["valeur_actuelle"] and row["situation"] for row in rows)


def test_schema_catches_a_bad_official_code(demo_db, tmp_path):
    """The check above could fail: a broken QPV code is reported by the validation."""
    out = tmp_path / "engagements-qpv.csv"
    with demo_db.session(write=False) as session:
        schema_path = write_opendata(session, contract_id(demo_db), out, DEMO_AS_OF)
    text = out.read_text(encoding="utf-8")
    out.write_text(text.replace(",QN06", ",XX06", 1), encoding="utf-8")
    report = _validate(out, schema_path)
    assert not report.valid
    assert report.flatten(["fieldName"])[0] == ["code_qpv"]


def test_open_data_carries_the_indicator_sheet(demo_db, tmp_path):
    out = tmp_path / "engagements-qpv.csv"
    with demo_db.session(write=False) as session:
        schema_path = write_opendata(session, contract_id(demo_db), out, DEMO_AS_OF)
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    names = [field["name"] for field in schema["fields"]]
    for name in ("definition", "formule", "regle_agregation", "comparabilite", "marge"):
        assert name in names
    assert _validate(out, schema_path).valid
    with out.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["code_indicateur"] == "ENG-008-I2"]
    assert rows
    row = rows[0]
    assert (row["taux"], row["denominateur"], row["marge"]) == (
        "true",
        "Financements totaux",
        "1.0",
    )
    assert row["regle_agregation"] == "Moyenne pondérée des quartiers"
    assert row["ponderation"] == "financements totaux"
    assert row["comparabilite"] == "Comparable d'une période à l'autre"
    # The data owner's organisation, never a person's name or e-mail.
    assert row["responsable_donnee"] == "Région Hauts-de-France"
    assert "@" not in out.read_text(encoding="utf-8")
