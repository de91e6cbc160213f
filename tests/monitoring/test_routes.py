"""Alerts per scope and the run log through the API."""

from __future__ import annotations

from sqlalchemy import select

from suivi.auth.models import User
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentPartner
from suivi.indicators.models import Indicator
from suivi.scheduler import run_job
from tests.support.api_clients import client_for
from tests.support.api_clients import login
from tests.support.databases import DEMO_AS_OF


def partner_indicators(db) -> set[int]:
    with db.session() as session:
        partner_id = session.execute(
            select(User.partner_id).where(User.email == "partenaire@example.org")
        ).scalar_one()
        commitments = set(
            session.execute(
                select(Commitment.id).where(Commitment.lead_partner_id == partner_id)
            ).scalars()
        ) | set(
            session.execute(
                select(CommitmentPartner.commitment_id).where(
                    CommitmentPartner.partner_id == partner_id
                )
            ).scalars()
        )
        return set(
            session.execute(
                select(Indicator.id).where(Indicator.commitment_id.in_(commitments))
            ).scalars()
        )


def all_alerts(client, token, **params) -> list[dict]:
    items, page = [], 1
    while True:
        response = client.get(
            "/api/alerts",
            params={"page": page, "size": 200, **params},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if len(items) >= body["total"]:
            return items
        page += 1


def test_alerts_listed_per_scope(demo_db):
    run = run_job(demo_db.engine, demo_db.settings, "check_indicators", as_of=DEMO_AS_OF)
    client = client_for(demo_db)
    admin = all_alerts(client, login(client, "admin@example.org"))
    assert len(admin) == run.counts["open"]
    assert {item["kind_label"] for item in admin} >= {"Mise à jour en retard", "Hors trajectoire"}

    partner = all_alerts(client, login(client, "partenaire@example.org"))
    assert {item["indicator_id"] for item in partner} <= partner_indicators(demo_db)
    assert len(partner) < len(admin)

    overdue = all_alerts(client, login(client, "admin@example.org"), kind="overdue")
    assert overdue and {item["kind"] for item in overdue} == {"overdue"}
    assert all_alerts(client, login(client, "admin@example.org"), state="resolved") == []


def test_job_runs_for_admins_only(demo_db):
    run_job(demo_db.engine, demo_db.settings, "check_indicators", as_of=DEMO_AS_OF)
    client = client_for(demo_db)
    admin = {"Authorization": f"Bearer {login(client, 'admin@example.org')}"}
    runs = client.get("/api/jobs/runs", headers=admin)
    assert runs.status_code == 200
    first = runs.json()["items"][0]
    assert first["job_name"] == "check_indicators" and first["outcome"] == "success"
    assert first["counts"]["opened"] > 0
    jobs = client.get("/api/jobs", headers=admin)
    assert jobs.status_code == 200
    partner = {"Authorization": f"Bearer {login(client, 'partenaire@example.org')}"}
    assert client.get("/api/jobs/runs", headers=partner).status_code == 403
    assert client.get("/api/jobs", headers=partner).status_code == 403
    assert client.get("/api/alerts").status_code == 401
