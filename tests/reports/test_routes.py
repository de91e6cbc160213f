"""/api/reports: partners read and generate only their own partner report; the other roles
everything of their contract; generation archives a PDF/A and returns its hash."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import select

from suivi.app import create_app
from suivi.auth.models import User
from suivi.contract.models import Partner
from suivi.reports.models import ReportFile
from tests.support.api_clients import ROLES
from tests.support.api_clients import login


def test_reports_api_scopes_and_generation(demo_db):
    client = TestClient(create_app(demo_db.settings))
    headers = {role: {"Authorization": f"Bearer {login(client, email)}"} for role, email in
               ROLES.items()}  # fmt: skip
    with demo_db.session(write=False) as session:
        own = session.execute(
            select(User.partner_id).where(User.email == ROLES["partenaire"])
        ).scalar_one()
        other = (
            session.execute(select(Partner.id).where(Partner.id != own).order_by(Partner.id))
            .scalars()
            .first()
        )

    assert client.get("/api/reports").status_code == 401

    def generate(role: str, **body):
        return client.post("/api/reports", json=body, headers=headers[role])

    # Admin: a quartier report, then an unknown quartier (clear French message, nothing saved).
    made = generate("admin", kind="partner", scope=str(other), as_of="2026-11-15")
    assert made.status_code == 201, made.text
    admin_report = made.json()
    bad = generate("chef_de_projet", kind="quartier", scope="QN99999Z", as_of="2026-11-15")
    assert bad.status_code == 422 and "Quartier inconnu" in bad.json()["detail"]
    outside = generate("admin", kind="copil", as_of="2040-01-01")
    assert outside.status_code == 422

    # Partner: only its own partner report.
    for body in (
        {"kind": "copil", "as_of": "2026-11-15"},
        {"kind": "partner", "scope": str(other), "as_of": "2026-11-15"},
        {"kind": "quartier", "scope": "QN06202M", "as_of": "2026-11-15"},
    ):
        refused = generate("partenaire", **body)
        assert refused.status_code == 403, body
    mine = generate("partenaire", kind="partner", scope=str(own), as_of="2026-11-15")
    assert mine.status_code == 201, mine.text
    mine = mine.json()
    assert mine["kind"] == "partner" and mine["scope"] == str(own) and mine["is_demo"]

    listed = client.get("/api/reports", headers=headers["partenaire"]).json()
    assert [item["id"] for item in listed["items"]] == [mine["id"]]
    assert (
        client.get(f"/api/reports/{admin_report['id']}", headers=headers["partenaire"]).status_code
        == 404
    )
    assert (
        client.get(
            f"/api/reports/{admin_report['id']}/pdf", headers=headers["partenaire"]
        ).status_code
        == 404
    )

    download = client.get(mine["download_url"], headers=headers["partenaire"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(download.content).hexdigest() == mine["sha256"]
    assert download.headers["x-content-sha256"] == mine["sha256"]

    # COPIL role and admin see both.
    for role in ("copil", "admin"):
        ids = {
            item["id"] for item in client.get("/api/reports", headers=headers[role]).json()["items"]
        }
        assert ids == {mine["id"], admin_report["id"]}
    with demo_db.session(write=False) as session:
        rows = session.execute(select(ReportFile.generated_by_id)).scalars().all()
        assert len(rows) == 2 and None not in rows
