"""Two contracts on one base list the same QPV (issue 15, item 13).

A QPV is reference data; each contract lists it (`contract_quartier`) with its own
in-contract flag. `suivi init` for a second contract used to take the first contract's
quartiers, because the QPV code is unique and the loader reassigned it.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text
from typer.testing import CliRunner

from suivi.app import create_app
from suivi.auth.service import create_user
from suivi.cli import app as cli
from suivi.contract.models import Contract
from suivi.contract.models import ContractQuartier
from suivi.contract.models import Quartier
from suivi.contract.models import QuartierCommune
from suivi.db import dispose_engines
from suivi.io.export import collect_tables
from suivi.migrate import downgrade
from suivi.migrate import upgrade
from suivi.reports.context import build_report_context
from tests.support.databases import DEMO_AS_OF
from tests.support.forms import post_login_form

SECOND_CODE = "AUTRE-2024"
SECOND_ADMIN = "admin-autre@example.org"
PASSWORD = "un-mot-de-passe-solide"  # noqa: S105 - a test account
# A QPV of the demo with commitments of the first contract (Camus, Lens).
SHARED_CODE = "QN06202M"


def _init(database, tmp_path, monkeypatch, contract_code: str):
    """`suivi init` on the database for the contract `contract_code`."""
    config = tmp_path / "config.toml"
    config.write_text("[app]\nmode = 'dev'\n", encoding="utf-8")
    monkeypatch.setenv("SUIVI_DATABASE_URL", database.url)
    monkeypatch.setenv("SUIVI_CONTRACT_CODE", contract_code)
    try:
        result = CliRunner().invoke(cli, ["--config", str(config), "init"])
    finally:
        dispose_engines()
    assert result.exit_code == 0, result.output


def _listings(database) -> dict[str, dict[str, bool]]:
    """contract code -> {QPV code: in-contract flag} of every quartier it lists."""
    with database.session(write=False) as session:
        rows = session.execute(
            select(Contract.code, Quartier.code, ContractQuartier.in_contract)
            .join(ContractQuartier, ContractQuartier.contract_id == Contract.id)
            .join(Quartier, Quartier.id == ContractQuartier.quartier_id)
        ).all()
    listings: dict[str, dict[str, bool]] = {}
    for contract, quartier, flag in rows:
        listings.setdefault(contract, {})[quartier] = flag
    return listings


def _second_contract(demo_db, tmp_path, monkeypatch) -> tuple[int, int, int]:
    """(first contract id, second contract id, shared quartier id), with an admin of the
    second contract only."""
    _init(demo_db, tmp_path, monkeypatch, SECOND_CODE)
    with demo_db.session() as session:
        first = session.execute(select(Contract.id).where(Contract.code == "CALL-2024")).scalar()
        second = session.execute(select(Contract.id).where(Contract.code == SECOND_CODE)).scalar()
        quartier = session.execute(select(Quartier.id).where(Quartier.code == SHARED_CODE)).scalar()
        create_user(
            session, email=SECOND_ADMIN, password=PASSWORD, role="admin", contract_ids=[second]
        )
    return first, second, quartier


def _api_token(client: TestClient, email: str, password: str) -> dict[str, str]:
    response = client.post("/api/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_init_for_a_second_contract_leaves_the_first_its_quartiers(demo_db, tmp_path, monkeypatch):
    with demo_db.session() as session:
        link = session.execute(
            select(ContractQuartier)
            .join(Quartier, Quartier.id == ContractQuartier.quartier_id)
            .where(Quartier.code == SHARED_CODE)
        ).scalar_one()
        link.in_contract = False  # an administrator's correction in the first contract
    before = _listings(demo_db)
    assert len(before["CALL-2024"]) == 22

    _init(demo_db, tmp_path, monkeypatch, SECOND_CODE)
    after = _listings(demo_db)
    assert after["CALL-2024"] == before["CALL-2024"]
    assert after["CALL-2024"][SHARED_CODE] is False
    assert set(after[SECOND_CODE]) == set(before["CALL-2024"])
    assert after[SECOND_CODE][SHARED_CODE] is True

    # Idempotent: again for either contract, nothing is added, moved or reset.
    with demo_db.session(write=False) as session:
        counts = [
            session.execute(select(func.count()).select_from(model)).scalar()
            for model in (Quartier, ContractQuartier, QuartierCommune)
        ]
    _init(demo_db, tmp_path, monkeypatch, SECOND_CODE)
    _init(demo_db, tmp_path, monkeypatch, "CALL-2024")
    assert _listings(demo_db) == after
    with demo_db.session(write=False) as session:
        assert counts == [
            session.execute(select(func.count()).select_from(model)).scalar()
            for model in (Quartier, ContractQuartier, QuartierCommune)
        ]
    assert counts[:2] == [22, 44]


def test_both_contracts_show_the_shared_quartier_each_with_its_own_flag(
    demo_db, tmp_path, monkeypatch
):
    first, second, quartier_id = _second_contract(demo_db, tmp_path, monkeypatch)
    client = TestClient(create_app(demo_db.settings))
    first_admin = _api_token(client, "admin@example.org", "demo")
    second_admin = _api_token(client, SECOND_ADMIN, PASSWORD)

    for headers, contract_id in ((first_admin, first), (second_admin, second)):
        listed = client.get("/api/quartiers", headers=headers, params={"size": 200}).json()
        assert listed["total"] == 22
        assert {q["contract_id"] for q in listed["items"]} == {contract_id}
        one = client.get(f"/api/quartiers/{quartier_id}", headers=headers)
        assert one.status_code == 200 and one.json()["in_contract"] is True

    # Unflagged in the second contract only.
    changed = client.patch(
        f"/api/quartiers/{quartier_id}", headers=second_admin, json={"in_contract": False}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["contract_id"] == second and changed.json()["in_contract"] is False
    seen_by_first = client.get(f"/api/quartiers/{quartier_id}", headers=first_admin).json()
    assert seen_by_first["contract_id"] == first and seen_by_first["in_contract"] is True
    assert _listings(demo_db)["CALL-2024"][SHARED_CODE] is True
    outside = client.get(
        "/api/quartiers", headers=second_admin, params={"in_contract": False, "size": 200}
    ).json()
    assert [q["code"] for q in outside["items"]] == [SHARED_CODE]
    # Neither admin reaches the other contract's listing.
    for headers, other in ((first_admin, second), (second_admin, first)):
        response = client.get(
            f"/api/quartiers/{quartier_id}", headers=headers, params={"contract_id": other}
        )
        assert response.status_code == 404
        response = client.patch(
            f"/api/quartiers/{quartier_id}",
            headers=headers,
            params={"contract_id": other},
            json={"in_contract": False},
        )
        assert response.status_code == 404

    # Export of each contract: the same QPV, each contract's flag.
    with demo_db.session(write=False) as session:
        sheets = {
            contract_id: {
                r["code"]: r["in_contract"]
                for r in collect_tables(session, contract_id)["Quartiers"]
            }
            for contract_id in (first, second)
        }
    assert len(sheets[first]) == len(sheets[second]) == 22
    assert sheets[first][SHARED_CODE] is True and sheets[second][SHARED_CODE] is False

    # Reports: a contract-wide report names the quartier only where it is in the contract.
    with demo_db.session(write=False) as session:
        named = {
            contract_id: {
                code
                for code, _name in build_report_context(
                    session,
                    contract_id=contract_id,
                    kind="annual",
                    as_of=DEMO_AS_OF,
                    tz=demo_db.settings.tz,
                ).quartiers
            }
            for contract_id in (first, second)
        }
    assert SHARED_CODE in named[first] and len(named[first]) == 22
    assert SHARED_CODE not in named[second] and len(named[second]) == 21


def test_each_contract_sees_only_its_own_data_on_a_shared_quartier(demo_db, tmp_path, monkeypatch):
    first, second, quartier_id = _second_contract(demo_db, tmp_path, monkeypatch)
    client = TestClient(create_app(demo_db.settings))
    first_admin = _api_token(client, "admin@example.org", "demo")
    second_admin = _api_token(client, SECOND_ADMIN, PASSWORD)
    with demo_db.session(write=False) as session:
        partner_id, priority_id = session.execute(
            text(
                "SELECT p.id, o.id FROM partner p JOIN priority o ON o.contract_id = p.contract_id"
                " WHERE p.contract_id = :c AND o.parent_id IS NOT NULL ORDER BY p.id, o.id"
            ),
            {"c": second},
        ).first()
    created = client.post(
        "/api/commitments",
        headers=second_admin,
        params={"contract_id": second},
        json={
            "code": "B-1",
            "title": "Engagement du second contrat",
            "lead_partner_id": partner_id,
            "priority_id": priority_id,
            "start_date": "2025-01-01",
            "end_date": "2026-12-31",
            "funding_type": "droit_commun",
            "quartier_ids": [quartier_id],
        },
    )
    assert created.status_code == 201, created.text
    second_commitment = created.json()["id"]

    # The first contract's admin does not see it; the second contract's sees only it.
    assert (
        client.get(f"/api/commitments/{second_commitment}", headers=first_admin).status_code == 404
    )
    first_list = client.get(
        "/api/commitments", headers=first_admin, params={"quartier_id": quartier_id, "size": 200}
    ).json()
    assert first_list["total"] > 0 and "B-1" not in {c["code"] for c in first_list["items"]}
    second_list = client.get(
        "/api/commitments", headers=second_admin, params={"quartier_id": quartier_id}
    ).json()
    assert [c["code"] for c in second_list["items"]] == ["B-1"]

    # The quartier page of each contract lists that contract's commitments only.
    web = TestClient(create_app(demo_db.settings))
    pages = {}
    for email, password in (("admin@example.org", "demo"), (SECOND_ADMIN, PASSWORD)):
        web.cookies.clear()
        login = post_login_form(web, email, password)
        assert login.status_code == 303, login.text
        page = web.get(f"/quartiers/{SHARED_CODE}?as_of={DEMO_AS_OF.isoformat()}")
        assert page.status_code == 200, page.text
        pages[email] = page.text
    assert "Engagement du second contrat" in pages[SECOND_ADMIN]
    assert "Engagement du second contrat" not in pages["admin@example.org"]

    # Each contract's quartier report holds its own commitments.
    with demo_db.session(write=False) as session:
        codes = {}
        for contract_id in (first, second):
            context = build_report_context(
                session,
                contract_id=contract_id,
                kind="quartier",
                scope=SHARED_CODE,
                as_of=DEMO_AS_OF,
                tz=demo_db.settings.tz,
            )
            codes[contract_id] = {c.code for c in context.commitments}
    assert codes[second] == {"B-1"}
    assert codes[first] and "B-1" not in codes[first]


def test_migration_moves_the_flags_to_the_link_and_back(demo_db):
    """From 0002 with data (two contracts on one QPV cannot exist there): upgrade keeps every
    quartier's communes, commitments and flags; downgrade gives them back."""
    demo_db.close()
    downgrade(demo_db.url, "0002")
    engine = demo_db.engine
    columns = {c["name"] for c in inspect(engine).get_columns("quartier")}
    assert {"contract_id", "in_contract"} <= columns
    assert "contract_quartier" not in inspect(engine).get_table_names()
    with engine.begin() as connection:
        assert (
            connection.execute(
                text("SELECT count(*) FROM quartier WHERE contract_id IS NOT NULL AND in_contract")
            ).scalar()
            == 22
        )
        connection.execute(
            text("UPDATE quartier SET in_contract = false WHERE code = :c"), {"c": SHARED_CODE}
        )
        before = [
            connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("quartier_commune", "commitment_quartier", "user_scope")
        ]
    assert all(before)
    demo_db.close()

    upgrade(demo_db.url)
    assert "contract_id" not in {c["name"] for c in inspect(demo_db.engine).get_columns("quartier")}
    listings = _listings(demo_db)
    assert len(listings["CALL-2024"]) == 22
    assert listings["CALL-2024"][SHARED_CODE] is False
    assert sum(listings["CALL-2024"].values()) == 21
    with demo_db.engine.connect() as connection:
        after = [
            connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("quartier_commune", "commitment_quartier", "user_scope")
        ]
    assert after == before
    demo_db.close()

    downgrade(demo_db.url, "0002")
    with demo_db.engine.connect() as connection:
        assert (
            connection.execute(
                text("SELECT count(*) FROM quartier WHERE contract_id IS NOT NULL")
            ).scalar()
            == 22
        )
        flag = connection.execute(
            text("SELECT in_contract FROM quartier WHERE code = :c"), {"c": SHARED_CODE}
        ).scalar()
        assert not flag
        assert (
            connection.execute(text("SELECT count(*) FROM quartier_commune")).scalar() == before[0]
        )
    demo_db.close()
    upgrade(demo_db.url)
