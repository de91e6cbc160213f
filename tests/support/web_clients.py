"""Page clients on the demo database: the `web` fixture (one logged-in TestClient per demo
role, the CSRF token read back from the page, and objects in and out of each user's scope),
and `login` for one role's client."""

from __future__ import annotations

import re
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
from tests.support.databases import DEMO_AS_OF
from tests.support.forms import post_login_form

EMAILS = {
    "admin": "admin@example.org",
    "chef_de_projet": "chef@example.org",
    "partenaire": "partenaire@example.org",
    "copil": "copil@example.org",
}
AS_OF = DEMO_AS_OF.isoformat()
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class WebClient:
    client: TestClient
    csrf: str

    def get(self, url, **kw):
        return self.client.get(url, follow_redirects=False, **kw)

    def post(self, url, data=None, *, csrf=True, htmx=True, **kw):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.csrf
        headers = {"HX-Request": "true"} if htmx else {}
        return self.client.post(url, data=data, headers=headers, follow_redirects=False, **kw)


def login(app, role: str) -> WebClient:
    client = TestClient(app)
    response = post_login_form(client, EMAILS[role], "demo")
    assert response.status_code == 303, response.text
    page = client.get(f"/contrat?as_of={AS_OF}")
    assert page.status_code == 200
    return WebClient(client, CSRF_RE.search(page.text).group(1))


@dataclass
class Web:
    app: object
    db: object
    clients: dict[str, WebClient] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, role: str) -> WebClient:
        if role not in self.clients:
            self.clients[role] = login(self.app, role)
        return self.clients[role]

    def anonymous(self) -> TestClient:
        return TestClient(self.app)


def _first(session, query):
    row = session.execute(query).first()
    assert row is not None
    return row


def scope_ids(db) -> dict[str, int]:
    """Commitments/indicators/partners in and out of the partner's and the chef's scope."""
    with db.session(write=False) as session:
        users = {u.role: u for u in session.execute(select(User)).scalars()}
        partner = load_principal(session, users["partenaire"])
        chef = load_principal(session, users["chef_de_projet"])
        base = (
            select(Commitment.id, Indicator.id)
            .join(Indicator, Indicator.commitment_id == Commitment.id)
            .where(Commitment.status.not_in(("suspendu", "abandonne")))
        )
        in_c, in_i = _first(
            session,
            base.where(
                scoping.commitment_condition(partner),
                scoping.commitment_condition(chef, write=True),
            ).order_by(Commitment.id),
        )
        out_c, out_i = _first(
            session,
            base.where(
                ~scoping.commitment_condition(partner),
                ~scoping.commitment_condition(chef, write=True),
            ).order_by(Commitment.id),
        )
        other_partner = (
            session.execute(
                select(Partner.id).where(Partner.id != partner.partner_id).order_by(Partner.id)
            )
            .scalars()
            .first()
        )
        return {
            "in_commitment": in_c,
            "in_indicator": in_i,
            "out_commitment": out_c,
            "out_indicator": out_i,
            "own_partner": partner.partner_id,
            "other_partner": other_partner,
        }


@pytest.fixture
def web(demo_db) -> Web:
    app = create_app(demo_db.settings)
    return Web(app=app, db=demo_db, ids=scope_ids(demo_db))
