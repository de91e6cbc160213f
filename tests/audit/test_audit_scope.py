"""Login and token events (they name no contract) are shown only to the admins of their
user's contracts (issue 15, item 17): they used to be visible to every contract's admins."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from suivi.app import create_app
from suivi.auth.service import create_user
from tests.support.api_clients import login
from tests.support.contracts import add_contract


def _other_contract_admin(db) -> None:
    with db.session() as session:
        other = add_contract(
            session,
            "AUTRE-2024",
            "Autre contrat de ville",
            signed_on=date(2024, 9, 1),
            term_start=date(2024, 9, 1),
        )
        create_user(
            session,
            email="admin.autre@example.org",
            password="un-long-mot-de-passe",
            role="admin",
            contract_ids=[other.id],
        )


def _events(client, token, **params):
    response = client.get(
        "/api/audit", params={"size": 200, **params}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_login_and_token_events_stay_within_their_contracts(demo_db):
    _other_contract_admin(demo_db)
    client = TestClient(create_app(demo_db.settings))
    ours = login(client, "admin@example.org")
    chef = login(client, "chef@example.org")
    theirs = login(client, "admin.autre@example.org", "un-long-mot-de-passe")
    created = client.post(
        "/api/tokens", json={"name": "tableur"}, headers={"Authorization": f"Bearer {theirs}"}
    )
    assert created.status_code == 201

    their_events = _events(client, theirs)
    our_events = _events(client, ours)
    their_id = client.get("/api/auth/me", headers={"Authorization": f"Bearer {theirs}"}).json()[
        "id"
    ]
    our_ids = {
        client.get("/api/auth/me", headers={"Authorization": f"Bearer {t}"}).json()["id"]
        for t in (ours, chef)
    }
    # Our admin sees our logins, not the other contract's login nor its token.
    assert {e["actor_id"] for e in our_events if e["action"] == "login"} == our_ids
    assert not [e for e in our_events if e["actor_id"] == their_id]
    # And the other way round.
    their_auth = [e for e in their_events if e["entity"] in ("auth_session", "api_token")]
    assert {e["actor_id"] for e in their_auth} == {their_id} and len(their_auth) == 2
    assert not [e for e in their_events if e["actor_id"] in our_ids]
    # Filtering by actor does not get round it.
    assert _events(client, ours, actor_id=their_id) == []
