"""API clients on the demo database: the `api` fixture (a bearer token per demo role, and the
objects the authorisation tests need, in and out of the partner's and the project manager's
scope), `login` for one token, `client_for` for an anonymous client."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from suivi import scoping
from suivi.app import create_app
from suivi.auth.models import User
from suivi.auth.principal import load_principal
from suivi.commitments.models import Commitment
from suivi.contract.models import Partner
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target

ROLES = {
    "admin": "admin@example.org",
    "chef_de_projet": "chef@example.org",
    "partenaire": "partenaire@example.org",
    "copil": "copil@example.org",
}


@dataclass
class Api:
    client: TestClient
    db: object
    tokens: dict[str, str]
    user_ids: dict[str, int]
    ids: dict[str, dict[str, int]] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, role, url, **kw):
        return self.client.get(url, headers=self.headers(role), **kw)

    def post(self, role, url, **kw):
        return self.client.post(url, headers=self.headers(role), **kw)


def client_for(db) -> TestClient:
    return TestClient(create_app(db.settings))


def login(client: TestClient, email: str, password: str = "demo") -> str:  # noqa: S107
    response = client.post("/api/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def scope_objects(db) -> dict[str, dict[str, int]]:
    """`in`: a commitment the partner may read AND the project manager may change;
    `out`: one the partner may not read AND the project manager may not change."""
    with db.session(write=False) as session:
        users = {u.role: u for u in session.execute(select(User)).scalars()}
        partner = load_principal(session, users["partenaire"])
        chef = load_principal(session, users["chef_de_projet"])
        result = {}
        for name, condition in (
            (
                "in",
                scoping.commitment_condition(partner)
                & scoping.commitment_condition(chef, write=True),
            ),
            (
                "out",
                ~scoping.commitment_condition(partner)
                & ~scoping.commitment_condition(chef, write=True),
            ),
        ):
            row = session.execute(
                select(Commitment.id, Indicator.id)
                .join(Indicator, Indicator.commitment_id == Commitment.id)
                .where(condition)
                .order_by(Commitment.id, Indicator.id)
            ).first()
            assert row is not None, f"no {name}-scope commitment with an indicator in the demo"
            commitment_id, indicator_id = row
            target_id = (
                session.execute(
                    select(Target.id)
                    .where(Target.indicator_id == indicator_id)
                    .order_by(Target.target_date)
                )
                .scalars()
                .first()
            )
            measurement_id = (
                session.execute(
                    select(Measurement.id).where(
                        Measurement.indicator_id == indicator_id,
                        Measurement.superseded_by_id.is_(None),
                    )
                )
                .scalars()
                .first()
            )
            result[name] = {
                "commitment_id": commitment_id,
                "indicator_id": indicator_id,
                "target_id": target_id,
                "measurement_id": measurement_id,
            }
        other_partner = (
            session.execute(
                select(Partner.id).where(Partner.id != partner.partner_id).order_by(Partner.id)
            )
            .scalars()
            .first()
        )
        result["in"]["partner_id"] = partner.partner_id
        result["out"]["partner_id"] = other_partner
        result["in"]["user_id"] = users["admin"].id
        result["out"]["user_id"] = users["copil"].id
    return result


@pytest.fixture
def api(demo_db) -> Api:
    client = TestClient(create_app(demo_db.settings))
    tokens = {role: login(client, email) for role, email in ROLES.items()}
    with demo_db.session(write=False) as session:
        user_ids = {u.role: u.id for u in session.execute(select(User)).scalars()}
    return Api(client, demo_db, tokens, user_ids, scope_objects(demo_db))
