"""The reference data in the database matches the shipped files (real codes and names)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlmodel import func
from sqlmodel import select

from suivi.contract.models import Commune
from suivi.contract.models import Contract
from suivi.contract.models import ContractQuartier
from suivi.contract.models import Partner
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.contract.models import QuartierCommune
from suivi.seed.reference import load_reference

SHARED = Path(__file__).resolve().parents[2] / "src" / "suivi" / "seed" / "data"


def _file_quartiers() -> dict[str, dict]:
    collection = json.loads((SHARED / "qpv-2024-call.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["code"]: f["properties"] for f in collection["features"]}


def _communes_by_quartier(session, column) -> dict[str, set]:
    """Quartier code → the `column` values (a `Commune` column) of the communes it spans."""
    rows = session.exec(
        select(Quartier.code, column)
        .join(QuartierCommune, QuartierCommune.quartier_id == Quartier.id)
        .join(Commune, Commune.id == QuartierCommune.commune_id)
    ).all()
    found: dict[str, set] = {}
    for code, value in rows:
        found.setdefault(code, set()).add(value)
    return found


def _contract_link(session, quartier_code: str) -> ContractQuartier:
    return session.exec(
        select(ContractQuartier)
        .join(Quartier, Quartier.id == ContractQuartier.quartier_id)
        .where(Quartier.code == quartier_code)
    ).one()


def test_the_22_quartiers_match_the_file(reference_db):
    expected = _file_quartiers()
    with reference_db.session() as session:
        rows = session.exec(select(Quartier)).all()
        assert {q.code: q.name for q in rows} == {c: p["nom"] for c, p in expected.items()}
        assert len(rows) == 22
        assert sum(q.cited_in_press_release for q in rows) == 16
        assert all(q.contour and q.contour["type"] == "MultiPolygon" for q in rows)
        by_code = _communes_by_quartier(session, Commune.insee)
    assert by_code == {c: set(p["communes_insee"]) for c, p in expected.items()}


def test_quartiers_spanning_several_epcis(reference_db):
    with reference_db.session() as session:
        epcis = _communes_by_quartier(session, Commune.epci)
    multi = {code for code, names in epcis.items() if len(names) > 1}
    assert multi == {"QN06216M", "QN06243M", "QN06245M", "QN06247M"}
    assert "CA de Béthune-Bruay, Artois-Lys Romane" in epcis["QN06216M"]


def test_the_41_communes_match_the_file(reference_db):
    with (SHARED / "communes-call.csv").open(encoding="utf-8") as handle:
        expected = {row["insee"]: (row["nom"], row["epci"]) for row in csv.DictReader(handle)}
    with reference_db.session() as session:
        rows = session.exec(select(Commune)).all()
    assert {c.insee: (c.name, c.epci) for c in rows} == expected
    assert len(rows) == 41


def test_contract_partners_and_priorities(reference_db):
    with reference_db.session() as session:
        contract = session.exec(select(Contract)).one()
        assert contract.code == "CALL-2024"
        assert str(contract.signed_on) == "2024-09-24"
        assert str(contract.term_end) == "2030-12-31"
        assert contract.midterm_review_on.year == 2027
        assert contract.is_demo is False
        partners = session.exec(select(Partner)).all()
        communes = [p for p in partners if p.kind == "commune"]
        # The 19 communes engaged (members of the CALL holding a QPV) are signatories.
        assert len(communes) == 19 and all(p.is_signatory for p in communes)
        kinds = {"etat", "region", "departement", "commune", "epci", "operateur", "bailleur"}
        assert {p.kind for p in partners} == kinds
        assert any(p.name == "France Travail" for p in partners)
        priorities = session.exec(select(Priority)).all()
        roots = [p for p in priorities if p.parent_id is None]
        assert len(roots) == 3
        assert all(
            sum(1 for child in priorities if child.parent_id == root.id) >= 2 for root in roots
        )
        assert any("transition_ecologique" in p.tags for p in priorities)


def test_reloading_reference_keeps_edits_and_adds_nothing(reference_db):
    with reference_db.session() as session:
        link = _contract_link(session, "QN06230M")
        link.in_contract = False
    tables = (Commune, Quartier, ContractQuartier, Partner, Priority, QuartierCommune)
    with reference_db.session() as session:
        before = {m: session.exec(select(func.count()).select_from(m)).one() for m in tables}
        load_reference(session, reference_db.settings.contract)
    with reference_db.session() as session:
        after = {m: session.exec(select(func.count()).select_from(m)).one() for m in tables}
        link = _contract_link(session, "QN06230M")
    assert before == after
    assert link.in_contract is False
